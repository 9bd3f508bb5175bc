// How DistributedDataParallel moves a step's gradient buckets between the ranks: the interface
// (GradientTransport) and its MPI implementation over host memory (MpiTransport). The NCCL one,
// over device memory, is in distributed/nccl_data_parallel.hpp (nvcc only).
#pragma once

#include "neuralop/distributed/mpi.hpp"

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/distributed/communicator.hpp"
#include "neuralop/nn/module.hpp"

namespace neuralop::distributed {

// sum: the gradient of the sum of the ranks' losses. NeuralOperator's losses sum over the
// samples of a batch, so this is the single-process gradient of the global batch (the default).
// mean: divided by the number of ranks, as torch's DDP does (for losses that average).
enum class GradientReduction { sum, mean };

// A bucket is a buffer in the transport's memory of one real type: the gradients of its
// parameters (byte offsets chosen by DistributedDataParallel; zeros where this rank has none),
// then one flag per parameter, 1 where this rank has a gradient. After the sum over the ranks a
// parameter whose flag sum is 0 keeps no gradient on any rank.
//
// DistributedDataParallel keeps the layout and the step's state and, in one step, calls
// pack(i, ...) for every parameter of bucket i, then start(i, flags), for i = 0, 1, ... in
// order on every rank (progress() between), then finish() once, then reached()/unpack() for
// every bucket. Broadcasts of the entries the transport holds(), from rank 0, at any time
// outside a step.
class GradientTransport {
 public:
  struct BucketShape {
    bool dbl;              // float64 elements (else float32)
    std::size_t n_grad;    // gradient elements (a complex number is two)
    std::size_t n_params;  // flag elements after them
  };
  virtual ~GradientTransport() = default;

  // Once, before any step: one buffer per bucket.
  virtual void make_buckets(std::span<const BucketShape> buckets) = 0;
  // p's gradient (p null: `bytes` zero bytes) at byte `offset` of bucket i.
  virtual void pack(std::size_t i, std::size_t offset, const nn::ParameterBase* p, std::size_t bytes) = 0;
  // Bucket i's flags (has_grad[j] for its j-th parameter) and the start of its sum (mean).
  virtual void start(std::size_t i, std::span<const std::uint8_t> has_grad) = 0;
  // Between starts: lets what is in flight advance (the first n buckets have started).
  virtual void progress(std::size_t /*n_started*/) {}
  // Waits until every bucket is reduced; returns the seconds spent waiting for the first one
  // (mostly the slowest rank's backward pass).
  virtual double finish() = 0;
  // After finish(): whether some rank had a gradient for bucket i's j-th parameter, and the
  // reduced gradient (from byte `offset`) into p.
  virtual bool reached(std::size_t i, std::size_t j) const = 0;
  virtual void unpack(std::size_t i, std::size_t offset, nn::ParameterBase& p) = 0;

  // Whether the transport moves p's value itself (broadcast below); the others are broadcast
  // through host memory over MPI by DistributedDataParallel.
  virtual bool holds(const nn::ParameterBase& /*p*/) const { return false; }
  // The values of `entries` (all held) on every rank = rank 0's.
  virtual void broadcast(std::span<nn::ParameterBase* const> /*entries*/) {}
};

// Buckets in host memory, summed with MPI_Iallreduce; gradients in and out through
// ParameterBase::grad_to_host / grad_from_host, whatever the backend.
class MpiTransport final : public GradientTransport {
 public:
  MpiTransport(Communicator comm, GradientReduction reduction)
      : comm_(comm), size_(comm.size()), mean_(reduction == GradientReduction::mean) {}

  void make_buckets(std::span<const BucketShape> shapes) override {
    for (const auto& s : shapes) {
      const std::size_t elements = s.n_grad + s.n_params;
      if (elements > static_cast<std::size_t>(INT_MAX))
        throw_error<value_error>("DistributedDataParallel: a bucket of ", elements, " elements exceeds MPI's int count; lower bucket_bytes");
      buckets_.push_back({s.dbl ? MPI_DOUBLE : MPI_FLOAT, s.dbl ? sizeof(double) : sizeof(float), s.n_grad, elements, {}});
      buckets_.back().buf.resize(elements * buckets_.back().elem_bytes);
    }
    requests_.assign(buckets_.size(), MPI_REQUEST_NULL);
  }
  void pack(std::size_t i, std::size_t offset, const nn::ParameterBase* p, std::size_t bytes) override {
    std::byte* dst = buckets_[i].buf.data() + offset;
    if (p) p->grad_to_host(dst);
    else std::memset(dst, 0, bytes);
  }
  void start(std::size_t i, std::span<const std::uint8_t> has_grad) override {
    Bucket& b = buckets_[i];
    for (std::size_t j = 0; j < has_grad.size(); ++j)
      if (b.dbl()) reinterpret_cast<double*>(b.buf.data())[b.n_grad + j] = has_grad[j] ? 1.0 : 0.0;
      else reinterpret_cast<float*>(b.buf.data())[b.n_grad + j] = has_grad[j] ? 1.f : 0.f;
    detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, b.buf.data(), static_cast<int>(b.elements), b.type, MPI_SUM, comm_.native(),
                                     &requests_[i]),
                      "MPI_Iallreduce");
  }
  // MPI moves data only inside MPI calls when it has no progress thread.
  void progress(std::size_t n_started) override {
    int done = 0;
    if (n_started > 0) MPI_Testall(static_cast<int>(n_started), requests_.data(), &done, MPI_STATUSES_IGNORE);
  }
  double finish() override {
    double first_wait = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      // (MPI_Testall may have completed it already: its request is then MPI_REQUEST_NULL, and
      // MPI_Wait returns at once.)
      detail::check_mpi(MPI_Wait(&requests_[i], MPI_STATUS_IGNORE), "MPI_Wait");
      if (i == 0) first_wait = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      Bucket& b = buckets_[i];
      if (!mean_) continue;
      if (b.dbl()) {
        auto* d = reinterpret_cast<double*>(b.buf.data());
        for (std::size_t e = 0; e < b.n_grad; ++e) d[e] *= 1.0 / size_;
      } else {
        auto* f = reinterpret_cast<float*>(b.buf.data());
        for (std::size_t e = 0; e < b.n_grad; ++e) f[e] *= static_cast<float>(1.0 / size_);
      }
    }
    return first_wait;
  }
  bool reached(std::size_t i, std::size_t j) const override {
    const Bucket& b = buckets_[i];
    return b.dbl() ? reinterpret_cast<const double*>(b.buf.data())[b.n_grad + j] > 0
                   : reinterpret_cast<const float*>(b.buf.data())[b.n_grad + j] > 0;
  }
  void unpack(std::size_t i, std::size_t offset, nn::ParameterBase& p) override { p.grad_from_host(buckets_[i].buf.data() + offset); }

 private:
  struct Bucket {
    MPI_Datatype type;
    std::size_t elem_bytes, n_grad, elements;
    std::vector<std::byte> buf;
    bool dbl() const { return type == MPI_DOUBLE; }
  };
  Communicator comm_;
  int size_;
  bool mean_;
  std::vector<Bucket> buckets_;
  std::vector<MPI_Request> requests_;
};

}  // namespace neuralop::distributed
