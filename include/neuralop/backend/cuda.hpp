// The cuda backend policy: the same static interface as `cpu`, on NVIDIA GPUs (device memory
// with a caching allocator, fused elementwise kernels from the same expression templates,
// reductions, cuBLAS batched GEMM, cuFFT with a plan cache, Philox fills). Declared here so
// that code above backend/ can be instantiated for it; the definitions live in backend/cuda/
// and are compiled by nvcc only (neuralop/cuda.hpp includes them).
//
// All work is queued on one stream (cuda_detail::stream()), so kernels, copies, cuBLAS and
// cuFFT calls run in the order they were issued; host reads (copy_to_host, item()) wait for
// the stream. Memory freed while kernels that use it are still queued is safe to reuse for
// later work on the same stream, as in PyTorch's caching allocator.
#pragma once

#include <cstddef>
#include <cstdint>

#include "neuralop/backend/backend.hpp"

// Set by neuralop/cuda.hpp, which brings the definitions (nvcc translation units only).
#ifndef NEURALOP_CUDA_DEFINITIONS
#define NEURALOP_CUDA_DEFINITIONS 0
#endif

namespace neuralop {

namespace cuda_detail {
struct MemoryStats {
  std::size_t in_use = 0;       // bytes held by live device tensors (after size-class rounding)
  std::size_t peak_in_use = 0;  // high-water mark of in_use since the last reset
  std::size_t cached = 0;       // bytes kept for reuse
  std::size_t reserved = 0;     // bytes obtained from cudaMalloc and not yet returned
  std::size_t device_allocs = 0;  // cudaMalloc calls so far (a steady-state step adds none)
};
}  // namespace cuda_detail

struct cuda {
  static constexpr const char* name = "cuda";
  static constexpr bool host_accessible = false;
  // Whether the definitions below exist in this translation unit (neuralop/cuda.hpp, nvcc).
  static constexpr bool implemented = NEURALOP_CUDA_DEFINITIONS != 0;

  static int device_count();
  static void synchronize();

  template <class T>
  static T* allocate(std::size_t n);
  template <class T>
  static void deallocate(T* p, std::size_t n) noexcept;
  template <class T>
  static void copy(T* dst, const T* src, std::size_t n);
  template <class T>
  static void copy_to_host(T* host_dst, const T* src, std::size_t n);
  template <class T>
  static void copy_from_host(T* dst, const T* host_src, std::size_t n);
  template <class T>
  static void fill(T* dst, std::size_t n, T value);

  // Device memory accounting and the cache (as cpu's memory_stats / empty_cache).
  static cuda_detail::MemoryStats memory_stats();
  static void reset_peak_memory();
  static void empty_cache();
  // Page-locked host buffers (cached like device blocks), for asynchronous copies and
  // activation offload.
  template <class T>
  static T* allocate_pinned(std::size_t n);
  template <class T>
  static void deallocate_pinned(T* p, std::size_t n) noexcept;
  // Activation offload (autograd/offload.hpp): pinned host buffers from a cache of their own that
  // only the two copies below touch, and those copies, queued on the stream (they return at
  // once). As nothing else reads or writes these buffers, one may be deallocated as soon as its
  // last copy is queued: the copies run in stream order, like the reuse of device blocks.
  // offload_memory_stats() counts these host buffers (in_use: bytes of offloaded tensors).
  static void* allocate_offload(std::size_t bytes);
  static void deallocate_offload(void* p, std::size_t bytes) noexcept;
  static void copy_to_offload(void* host_dst, const void* src, std::size_t bytes);
  static void copy_from_offload(void* dst, const void* host_src, std::size_t bytes);
  static cuda_detail::MemoryStats offload_memory_stats();

  // One element per block: each device thread takes one element, so a kernel's per-block state
  // (autograd's partial gradient sums) is never shared between threads.
  static index_t elementwise_blocks(index_t numel) { return numel; }
  template <std::size_t N, class K>
  static void elementwise(const Loop<N>& loop, const K& kernel);

  template <class T>
  static void reduce(ReduceOp op, const T* in, const index_t* shape, const bool* reduced, int ndim, T* out);
  template <class T, Trans ta, Trans tb>
  static void gemm(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C);
  template <Distribution D, class R>
  static void fill_random(R* dst, index_t n, std::uint64_t seed, std::uint64_t offset, R a, R b);
  template <class R>
  static void fft(FftKind kind, index_t outer, std::span<const index_t> n, index_t inner, const void* in, void* out);
};

static_assert(Backend<cuda>, "the cuda policy must offer the backend interface");

}  // namespace neuralop
