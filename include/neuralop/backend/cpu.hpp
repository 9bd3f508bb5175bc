// The cpu backend policy: host memory, elementwise kernels on Eigen's thread pool with SIMD
// packets, reductions, batched GEMM (Eigen), counter-based random fills.
#pragma once

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "neuralop/backend/backend.hpp"
#include "neuralop/backend/cpu/allocator.hpp"
#include "neuralop/backend/cpu/fft.hpp"
#include "neuralop/backend/cpu/gemm.hpp"
#include "neuralop/backend/cpu/mode_contract.hpp"
#include "neuralop/backend/cpu/reduce.hpp"
#include "neuralop/backend/cpu/thread_pool.hpp"
#include "neuralop/backend/loop.hpp"
#include "neuralop/core/rng.hpp"
#include "neuralop/core/scalar.hpp"

namespace neuralop {

struct cpu {
  static constexpr const char* name = "cpu";
  static constexpr bool host_accessible = true;
  // Elements per elementwise task: large enough to amortise scheduling, small enough to
  // balance; fixed so that work division never depends on the thread count.
  static constexpr index_t elementwise_block = index_t(1) << 15;

  // ---- threads
  static int num_threads() { return cpu_detail::ThreadPool::instance().num_threads(); }
  static void set_num_threads(int n) { cpu_detail::ThreadPool::instance().set_num_threads(n); }
  static Eigen::ThreadPoolDevice& eigen_device() { return cpu_detail::ThreadPool::instance().device(); }
  template <class F>
  static void parallel_for(index_t n_tasks, F&& f) {
    cpu_detail::ThreadPool::instance().parallel_for(n_tasks, std::forward<F>(f));
  }
  static void synchronize() {}

  // ---- memory
  template <class T>
  static T* allocate(std::size_t n) {
    return static_cast<T*>(cpu_detail::CachingAllocator::instance().allocate(n * sizeof(T)));
  }
  template <class T>
  static void deallocate(T* p, std::size_t n) noexcept {
    cpu_detail::CachingAllocator::instance().deallocate(p, n * sizeof(T));
  }
  static cpu_detail::MemoryStats memory_stats() { return cpu_detail::CachingAllocator::instance().stats(); }
  static void reset_peak_memory() { cpu_detail::CachingAllocator::instance().reset_peak(); }
  static void empty_cache() { cpu_detail::CachingAllocator::instance().empty_cache(); }
  // Memory-saving cache policy (see CachingAllocator::set_trim_on_miss); off by default.
  static void set_cache_trim_on_miss(bool on) { cpu_detail::CachingAllocator::instance().set_trim_on_miss(on); }

  template <class T>
  static void copy(T* dst, const T* src, std::size_t n) {
    parallel_blocks(static_cast<index_t>(n), [&](index_t b, index_t e) { std::memcpy(dst + b, src + b, (e - b) * sizeof(T)); });
  }
  template <class T>
  static void copy_to_host(T* host_dst, const T* src, std::size_t n) {
    copy(host_dst, src, n);
  }
  template <class T>
  static void copy_from_host(T* dst, const T* host_src, std::size_t n) {
    copy(dst, host_src, n);
  }
  template <class T>
  static void fill(T* dst, std::size_t n, T value) {
    parallel_blocks(static_cast<index_t>(n), [&](index_t b, index_t e) { std::fill(dst + b, dst + e, value); });
  }

  // ---- elementwise: drive a kernel over a coalesced loop (see backend/loop.hpp)
  static index_t elementwise_blocks(index_t numel) { return (numel + elementwise_block - 1) / elementwise_block; }
  template <std::size_t N, ElementwiseKernel K>
  static void elementwise(const Loop<N>& loop, const K& kernel) {
    const index_t total = loop.numel, L = loop.row_length();
    const int nd = loop.ndim;
    const bool vec = K::packet_width > 1 && kernel.vector_ok();
    parallel_blocks(total, [&](index_t i, index_t e) {
      K k = kernel;
      if constexpr (requires { k.begin_block(i); }) k.begin_block(i / elementwise_block);
      index_t coords[N > 1 ? N - 1 : 1] = {};
      while (i < e) {
        index_t row = i / L, j = i - row * L;
        const index_t j_end = std::min(L, j + (e - i));
        i += j_end - j;
        for (int d = nd - 2; d >= 0; --d) {
          coords[d] = row % loop.size[d];
          row /= loop.size[d];
        }
        k.set_row(coords);
        if constexpr (K::packet_width > 1)
          if (vec)
            for (; j + K::packet_width <= j_end; j += K::packet_width) k.template step<true>(j);
        for (; j < j_end; ++j) k.template step<false>(j);
      }
      if constexpr (requires { k.end_block(); }) k.end_block();
    });
  }

  // ---- reductions over contiguous input; `reduced[d]` marks the axes combined
  template <class T>
  static void reduce(ReduceOp op, const T* in, const index_t* shape, const bool* reduced, int ndim, T* out) {
    if (op == ReduceOp::sum) cpu_detail::reduce<T, ReduceOp::sum>(in, shape, reduced, ndim, out);
    else if constexpr (!is_complex_v<T>) cpu_detail::reduce<T, ReduceOp::max>(in, shape, reduced, ndim, out);
  }

  // ---- batched GEMM
  template <class T, Trans ta, Trans tb>
  static void gemm(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C) {
    cpu_detail::gemm<T, ta, tb>(s, alpha, A, B, beta, C);
  }
  // Optional primitive (ops use it where a backend offers it): C[b] = op(A[b]) * op(B[b]) + bias
  // (one per row of C, may be null) + addend[b] (laid out like C, stride_addend apart, may be
  // null), the sum formed before C is written.
  template <class T, Trans ta, Trans tb>
  static void gemm_bias_add(const GemmShape& s, const T* A, const T* B, const T* bias, const T* addend, index_t stride_addend,
                            T* C) {
    cpu_detail::gemm_bias_add<T, ta, tb>(s, A, B, bias, addend, stride_addend, C);
  }

  // Optional primitive: out[a, b, m] (= or +=) sum_c op(L)[a, c, m] * op(R)[c, b, m] for complex
  // T with m contiguous everywhere (the spectral convolution's contraction and its gradients;
  // see cpu/mode_contract.hpp). Strides are those of the (row, column) axes of each operand.
  template <class T, bool conj_l, bool conj_r>
  static void mode_contract(index_t na, index_t nb, index_t nc, index_t M, const T* L, ModeStrides ls, const T* R,
                            ModeStrides rs, T* out, ModeStrides os, bool accumulate) {
    cpu_detail::mode_contract<T, conj_l, conj_r>(na, nb, nc, M, L, ls, R, rs, out, os, accumulate);
  }

  // ---- FFTs (unnormalised) of the middle axes of a contiguous [outer, n..., inner] array; R is
  // the real type (float, double). See FftKind for the r2c / c2r half-spectrum layout.
  template <class R>
  static void fft(FftKind kind, index_t outer, std::span<const index_t> n, index_t inner, const void* in, void* out) {
    cpu_detail::fft<R>(
        kind, outer, n, inner, in, out, [](index_t tasks, auto&& f) { cpu_detail::ThreadPool::instance().parallel_for(tasks, f); },
        num_threads());
  }

  // ---- random fills: element i takes value i of the counter stream starting at `offset`
  // (a = low, b = high for uniform; a = mean, b = std for normal). Complex tensors fill real
  // and imaginary parts as 2n reals.
  template <Distribution D, class R>
  static void fill_random(R* dst, index_t n, std::uint64_t seed, std::uint64_t offset, R a, R b) {
    constexpr int k = values_per_counter<R>;
    const index_t n_ctr = (n + k - 1) / k;
    parallel_blocks(n_ctr, [&](index_t c0, index_t c1) {
      for (index_t c = c0; c < c1; ++c) {
        const auto v = random_block<R, D>(seed, offset + static_cast<std::uint64_t>(c));
        for (int l = 0; l < k && c * k + l < n; ++l) {
          const R u = v[l];
          dst[c * k + l] = D == Distribution::uniform ? rounded_affine(a, b - a, u) : rounded_affine(a, b, u);
        }
      }
    });
  }

 private:
  // a + w u with the product rounded before the sum, as the cuda backend computes it
  // (__fadd_rn(a, __fmul_rn(w, u))): compilers fuse a + w * u into one fused multiply-add where the
  // target has one (g++ at -O2 and up, clang at any level, with -march=native), which rounds once
  // and gives other last bits, so the same seed would fill differently by compiler flags and
  // backend. The empty asm makes the product a value the compiler cannot fuse.
  template <class R>
  static R rounded_affine(R a, R w, R u) {
    R p = w * u;
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+m"(p));
#endif
    return a + p;
  }

  template <class F>
  static void parallel_blocks(index_t n, F&& f) {
    const index_t blocks = (n + elementwise_block - 1) / elementwise_block;
    cpu_detail::ThreadPool::instance().parallel_for(blocks, [&](index_t t) {
      f(t * elementwise_block, std::min(n, (t + 1) * elementwise_block));
    });
  }
};

static_assert(Backend<cpu>, "the cpu policy must offer the backend interface");

}  // namespace neuralop
