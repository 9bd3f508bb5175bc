// The cuda backend policy: the same static interface as `cpu`, on NVIDIA GPUs (device memory
// with a caching allocator, fused elementwise kernels from the same expression templates,
// CUB/Thrust reductions, cuBLAS batched GEMM, cuFFT, Philox fills). Declared here so that
// code above backend/ can be instantiated for it; the definitions come with the CUDA backend
// (issue 7) and are compiled by nvcc only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "neuralop/backend/backend.hpp"

namespace neuralop {

struct cuda {
  static constexpr const char* name = "cuda";
  static constexpr bool host_accessible = false;
  // Whether the definitions below exist in this build.
  static constexpr bool implemented = false;

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

  static index_t elementwise_blocks(index_t numel);
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
