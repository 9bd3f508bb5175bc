// The definitions of the cuda backend policy's primitives (declared in backend/cuda.hpp), on
// the pieces of this folder. Included by neuralop/cuda.hpp only (nvcc translation units).
#pragma once

#include <cmath>

#include "neuralop/backend/cuda.hpp"
#include "neuralop/backend/cuda/allocator.cuh"
#include "neuralop/backend/cuda/elementwise.cuh"
#include "neuralop/backend/cuda/fft.cuh"
#include "neuralop/backend/cuda/gemm.cuh"
#include "neuralop/backend/cuda/random.cuh"
#include "neuralop/backend/cuda/reduce.cuh"
#include "neuralop/backend/cuda/runtime.cuh"
#include "neuralop/core/scalar.hpp"

namespace neuralop {

inline int cuda::device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {  // no driver or no device: none
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}
// Waits for all queued work and reports a fault of any earlier kernel.
inline void cuda::synchronize() { cuda_detail::check(cudaStreamSynchronize(cuda_detail::stream()), "cudaStreamSynchronize"); }

// Debug builds (no NDEBUG, or NEURALOP_POISON_ALLOCATIONS) fill new device blocks with 0xFF
// bytes (NaN in every floating type), as the cpu allocator does, so reads of memory never
// written show up as NaN.
template <class T>
T* cuda::allocate(std::size_t n) {
  const std::size_t bytes = n * sizeof(T);
  T* p = static_cast<T*>(cuda_detail::device_allocator().allocate(bytes));
#if !defined(NDEBUG) || defined(NEURALOP_POISON_ALLOCATIONS)
  if (bytes) cuda_detail::check(cudaMemsetAsync(p, 0xFF, bytes, cuda_detail::stream()), "cudaMemsetAsync (poison)");
#endif
  return p;
}
template <class T>
void cuda::deallocate(T* p, std::size_t n) noexcept {
  cuda_detail::device_allocator().deallocate(p, n * sizeof(T));
}
inline cuda_detail::MemoryStats cuda::memory_stats() { return cuda_detail::device_allocator().stats(); }
inline void cuda::reset_peak_memory() { cuda_detail::device_allocator().reset_peak(); }
inline void cuda::empty_cache() { cuda_detail::device_allocator().empty_cache(); }
template <class T>
T* cuda::allocate_pinned(std::size_t n) {
  return static_cast<T*>(cuda_detail::pinned_allocator().allocate(n * sizeof(T)));
}
template <class T>
void cuda::deallocate_pinned(T* p, std::size_t n) noexcept {
  cuda_detail::pinned_allocator().deallocate(p, n * sizeof(T));
}

inline void* cuda::allocate_offload(std::size_t bytes) { return cuda_detail::offload_allocator().allocate(bytes); }
inline void cuda::deallocate_offload(void* p, std::size_t bytes) noexcept { cuda_detail::offload_allocator().deallocate(p, bytes); }
inline void cuda::copy_to_offload(void* host_dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  cuda_detail::check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, cuda_detail::stream()),
                     "cudaMemcpyAsync (offload to host)");
}
inline void cuda::copy_from_offload(void* dst, const void* host_src, std::size_t bytes) {
  if (bytes == 0) return;
  cuda_detail::check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, cuda_detail::stream()),
                     "cudaMemcpyAsync (offload back to the device)");
}
inline cuda_detail::MemoryStats cuda::offload_memory_stats() { return cuda_detail::offload_allocator().stats(); }

template <class T>
void cuda::copy(T* dst, const T* src, std::size_t n) {
  if (n == 0 || dst == src) return;
  cuda_detail::check(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, cuda_detail::stream()),
                     "cudaMemcpyAsync (device to device)");
}
// Host copies return when the host side is done with (or has) the data: the stream is waited
// for, so a pinned source may be reused and a destination read at once.
template <class T>
void cuda::copy_to_host(T* host_dst, const T* src, std::size_t n) {
  if (n == 0) return;
  cuda_detail::check(cudaMemcpyAsync(host_dst, src, n * sizeof(T), cudaMemcpyDeviceToHost, cuda_detail::stream()),
                     "cudaMemcpyAsync (device to host)");
  cuda_detail::check(cudaStreamSynchronize(cuda_detail::stream()), "cudaStreamSynchronize (after a device to host copy)");
}
template <class T>
void cuda::copy_from_host(T* dst, const T* host_src, std::size_t n) {
  if (n == 0) return;
  cuda_detail::check(cudaMemcpyAsync(dst, host_src, n * sizeof(T), cudaMemcpyHostToDevice, cuda_detail::stream()),
                     "cudaMemcpyAsync (host to device)");
  cuda_detail::check(cudaStreamSynchronize(cuda_detail::stream()), "cudaStreamSynchronize (after a host to device copy)");
}
template <class T>
void cuda::fill(T* dst, std::size_t n, T value) {
  if (n == 0) return;
  if (value == T(0)) {  // +0 is all zero bits in every supported type
    bool negative_zero = false;
    if constexpr (!is_complex_v<T>) negative_zero = std::signbit(value);
    if (!negative_zero) {
      cuda_detail::check(cudaMemsetAsync(dst, 0, n * sizeof(T), cuda_detail::stream()), "cudaMemsetAsync (fill)");
      return;
    }
  }
  cuda_detail::launch(cuda_detail::fill_kernel<T>, cuda_detail::grid_blocks(static_cast<long long>(n), 256), 256, 0, cuda_detail::stream(), dst,
                      n, value);
  cuda_detail::check_launch("fill kernel launch");
}

template <std::size_t N, class K>
void cuda::elementwise(const Loop<N>& loop, const K& kernel) {
  cuda_detail::launch_elementwise(loop, kernel);
}

template <class T>
void cuda::reduce(ReduceOp op, const T* in, const index_t* shape, const bool* reduced, int ndim, T* out) {
  if (op == ReduceOp::sum) {
    cuda_detail::reduce<T, ReduceOp::sum>(in, shape, reduced, ndim, out);
  } else if constexpr (!is_complex_v<T>) {
    cuda_detail::reduce<T, ReduceOp::max>(in, shape, reduced, ndim, out);
  } else {
    throw_error<value_error>("reduce: max of complex values is not defined");
  }
}

template <class T, Trans ta, Trans tb>
void cuda::gemm(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C) {
  cuda_detail::gemm<T, ta, tb>(s, alpha, A, B, beta, C);
}

template <Distribution D, class R>
void cuda::fill_random(R* dst, index_t n, std::uint64_t seed, std::uint64_t offset, R a, R b) {
  cuda_detail::fill_random<D, R>(dst, n, seed, offset, a, b);
}

template <class R>
void cuda::fft(FftKind kind, index_t outer, std::span<const index_t> n, index_t inner, const void* in, void* out) {
  cuda_detail::fft<R>(kind, outer, n, inner, in, out);
}

}  // namespace neuralop
