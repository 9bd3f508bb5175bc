// The elementwise launch of the cuda backend: one device thread per element of the coalesced
// iteration space (grid-stride), driving the same kernel objects as the cpu backend
// (backend/loop.hpp): set_row at the element's row, then step<false> at its column.
//
// Blocks are one element long (cuda::elementwise_blocks(n) == n): a kernel with per-block state
// (autograd's per-block partial gradient sums, its row accumulators) gets begin_block(i) /
// end_block() around element i, so no two threads ever share that state.
#pragma once

#include <cstdint>
#include <limits>

#include "neuralop/backend/cuda/runtime.cuh"
#include "neuralop/backend/loop.hpp"

namespace neuralop::cuda_detail {

inline constexpr int elementwise_threads = 256;

template <std::size_t N>
struct LoopArgs {
  index_t size[N > 0 ? N : 1];
  index_t numel;
  int nd;
};

template <class K>
concept BlockKernel = requires(K k, index_t b) {
  k.begin_block(b);
  k.end_block();
};

// I: the index type of the position arithmetic (32-bit when the space fits: 64-bit division
// costs several times more on the device).
template <class I, std::size_t N, class K>
__global__ void __launch_bounds__(elementwise_threads) elementwise_kernel(const K kernel, const LoopArgs<N> a) {
  constexpr int NC = N > 1 ? int(N) - 1 : 1;
  K k = kernel;  // per thread: set_row moves its operands' row pointers
  const I n = static_cast<I>(a.numel);
  const I L = static_cast<I>(a.size[a.nd - 1]);
  const I stride = static_cast<I>(gridDim.x) * static_cast<I>(blockDim.x);
  for (I i = static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x); i < n; i += stride) {
    if constexpr (BlockKernel<K>) k.begin_block(static_cast<index_t>(i));
    I row = i / L;
    const I j = i - row * L;
    index_t coords[NC] = {};
#pragma unroll
    for (int d = NC - 1; d >= 0; --d) {
      if (d <= a.nd - 2) {
        const I s = static_cast<I>(a.size[d]);
        const I q = row / s;
        coords[d] = static_cast<index_t>(row - q * s);
        row = q;
      }
    }
    k.set_row(coords);
    k.template step<false>(static_cast<index_t>(j));
    if constexpr (BlockKernel<K>) k.end_block();
  }
}

template <std::size_t N, class K>
void launch_elementwise(const Loop<N>& loop, const K& kernel) {
  if (loop.numel <= 0) return;
  LoopArgs<N> a{};
  for (std::size_t d = 0; d < (N > 0 ? N : 1); ++d) a.size[d] = loop.size[d];
  a.numel = loop.numel;
  a.nd = loop.ndim;
  const unsigned blocks = grid_blocks(loop.numel, elementwise_threads);
  // 32-bit positions when i + grid stride cannot wrap.
  if (loop.numel <= std::numeric_limits<std::int32_t>::max())
    launch(elementwise_kernel<std::uint32_t, N, K>, blocks, elementwise_threads, 0, stream(), kernel, a);
  else
    launch(elementwise_kernel<std::uint64_t, N, K>, blocks, elementwise_threads, 0, stream(), kernel, a);
  check_launch("elementwise kernel launch");
}

template <class T>
__global__ void fill_kernel(T* dst, std::size_t n, T value) {
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) dst[i] = value;
}

}  // namespace neuralop::cuda_detail
