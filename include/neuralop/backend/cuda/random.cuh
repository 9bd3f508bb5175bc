// Random fills for the cuda backend, bit-identical to the cpu backend's for the same
// (seed, offset): a model initialised on either backend starts from the same weights.
// - uniform: Philox and the [0, 1) mapping are integer and exact float operations, computed on
//   the device; a + (b - a) u is rounded as the host rounds it (no fused multiply-add).
// - normal: Box-Muller needs log, sqrt, cos and sin in double, whose last bits differ between
//   CUDA's and the host's math libraries; the values are made on the host by the cpu backend's
//   code and copied (initialisation, not a per-step cost).
#pragma once

#include <cstdint>
#include <type_traits>

#include "neuralop/backend/cpu.hpp"
#include "neuralop/backend/cuda/allocator.cuh"
#include "neuralop/backend/cuda/runtime.cuh"
#include "neuralop/core/rng.hpp"

namespace neuralop::cuda_detail {

template <class R>
__global__ void fill_uniform_kernel(R* dst, index_t n, std::uint64_t seed, std::uint64_t offset, R a, R b) {
  constexpr int k = values_per_counter<R>;
  const index_t n_ctr = (n + k - 1) / k;
  const index_t step = index_t(gridDim.x) * blockDim.x;
  const R width = b - a;
  for (index_t c = index_t(blockIdx.x) * blockDim.x + threadIdx.x; c < n_ctr; c += step) {
    const auto v = random_block<R, Distribution::uniform>(seed, offset + static_cast<std::uint64_t>(c));
    for (int l = 0; l < k && c * k + l < n; ++l) {
      if constexpr (std::is_same_v<R, float>) dst[c * k + l] = __fadd_rn(a, __fmul_rn(width, v[l]));
      else dst[c * k + l] = __dadd_rn(a, __dmul_rn(width, v[l]));
    }
  }
}

template <Distribution D, class R>
void fill_random(R* dst, index_t n, std::uint64_t seed, std::uint64_t offset, R a, R b) {
  if (n <= 0) return;
  if constexpr (D == Distribution::uniform) {
    constexpr int k = values_per_counter<R>;
    launch(fill_uniform_kernel<R>, grid_blocks((n + k - 1) / k, 256), 256, 0, stream(), dst, n, seed, offset, a, b);
    check_launch("fill_random (uniform) kernel");
  } else {
    auto& pinned = pinned_allocator();
    const std::size_t bytes = std::size_t(n) * sizeof(R);
    R* host = static_cast<R*>(pinned.allocate(bytes));
    try {
      cpu::fill_random<D, R>(host, n, seed, offset, a, b);
      check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, stream()), "cudaMemcpyAsync (fill_random)");
      check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize (fill_random)");  // before the buffer is reused
    } catch (...) {
      pinned.deallocate(host, bytes);
      throw;
    }
    pinned.deallocate(host, bytes);
  }
}

}  // namespace neuralop::cuda_detail
