// The process-wide cpu thread pool (Eigen's ThreadPool behind a ThreadPoolDevice) and a
// parallel-for over fixed task lists, so results never depend on the thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "neuralop/core/config.hpp"
#include "neuralop/core/error.hpp"
#include <unsupported/Eigen/CXX11/Tensor>

namespace neuralop::cpu_detail {

class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool p;
    return p;
  }

  int num_threads() const { return n_threads_; }

  // Not to be called while other threads run neuralop work.
  void set_num_threads(int n) {
    if (n < 1) throw_error<value_error>("cpu::set_num_threads: thread count ", n, " must be >= 1");
    std::lock_guard lock(mutex_);
    device_.reset();
    pool_.reset();
    n_threads_ = n;
    // The calling thread takes part in every parallel_for, so the pool holds n - 1 workers.
    pool_ = std::make_unique<Eigen::ThreadPool>(std::max(1, n - 1));
    device_ = std::make_unique<Eigen::ThreadPoolDevice>(pool_.get(), n);
  }

  // For users who evaluate their own Eigen Tensor expressions on our threads.
  Eigen::ThreadPoolDevice& device() { return *device_; }

  // Run f(t) for t in [0, n_tasks). Tasks are claimed dynamically but each task's work is
  // fixed by the caller, so outputs are identical for any thread count. Nested calls from a
  // worker run inline; the first exception thrown by a task is rethrown here.
  template <class F>
  void parallel_for(index_t n_tasks, F&& f) {
    if (n_tasks <= 0) return;
    if (n_tasks == 1 || n_threads_ == 1 || pool_->CurrentThreadId() != -1) {
      for (index_t t = 0; t < n_tasks; ++t) f(t);
      return;
    }
    const int workers = static_cast<int>(std::min<index_t>(n_threads_, n_tasks));
    std::atomic<index_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
      for (index_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < n_tasks;) {
        try {
          f(t);
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
          next.store(n_tasks, std::memory_order_relaxed);
        }
      }
    };
    Eigen::Barrier barrier(static_cast<unsigned>(workers - 1));
    for (int w = 1; w < workers; ++w)
      pool_->Schedule([&] {
        work();
        barrier.Notify();
      });
    work();
    barrier.Wait();
    if (failure) std::rethrow_exception(failure);
  }

 private:
  ThreadPool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("NEURALOP_NUM_THREADS")) {
      const int v = std::atoi(env);
      if (v > 0) n = v;
    }
    set_num_threads(std::max(1, n));
  }

  int n_threads_ = 1;
  std::unique_ptr<Eigen::ThreadPool> pool_;
  std::unique_ptr<Eigen::ThreadPoolDevice> device_;
  std::mutex mutex_;
};

}  // namespace neuralop::cpu_detail
