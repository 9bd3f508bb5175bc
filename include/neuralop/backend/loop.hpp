// The launch contract for elementwise work: a coalesced iteration space plus a kernel object
// that every backend drives the same way (set a row, then step along its contiguous axis).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>

#include "neuralop/core/config.hpp"

namespace neuralop {

// Iteration space after coalescing: `ndim` (>= 1) dims, the last one is the "row" that
// kernels walk with unit or zero strides.
template <std::size_t N>
struct Loop {
  int ndim = 1;
  std::array<index_t, (N > 0 ? N : 1)> size{};
  index_t numel = 1;
  index_t row_length() const { return size[ndim - 1]; }
};

// Kernel objects are plain copyable structs (they cross to devices by value):
//   set_row(coords)      position every operand on the row with outer coordinates coords[0..ndim-2]
//   step<false>(j)       process element j of the row
//   step<true>(j)        process packet_width consecutive elements starting at j (cpu SIMD)
//   vector_ok()          whether this launch's inner strides allow the packet path
//   begin_block(b)       optional: called on a block's copy of the kernel before its rows; block b
//                        covers elements [b * block, (b + 1) * block) of the coalesced space, with
//                        the block size fixed by the backend (elementwise_blocks tells the count)
//   end_block()          optional: called after a block's last row (flushes per-row accumulators)
template <class K>
concept ElementwiseKernel = std::copy_constructible<K> && requires(K k, const index_t* c, index_t j) {
  { K::packet_width } -> std::convertible_to<int>;
  k.set_row(c);
  k.template step<false>(j);
  { k.vector_ok() } -> std::convertible_to<bool>;
};

// Coalesce an N-dim iteration space over `n_ops` operands whose strides are strides[op][dim]:
// drop size-1 dims, merge neighbours (a outer, b inner) when every operand has
// stride[a] == stride[b] * size[b]. Rewrites strides in place; returns the loop.
template <std::size_t N>
Loop<N> coalesce(const std::array<index_t, N>& shape, index_t (*strides)[N > 0 ? N : 1], int n_ops) {
  Loop<N> loop;
  loop.numel = 1;
  for (std::size_t d = 0; d != N; ++d) loop.numel *= shape[d];
  int nd = 0;
  for (std::size_t d = 0; d != N; ++d) {
    if (shape[d] == 1) continue;
    bool merge = nd > 0;
    for (int o = 0; merge && o < n_ops; ++o)
      merge = strides[o][nd - 1] == strides[o][d] * shape[d];
    if (merge) {
      loop.size[nd - 1] *= shape[d];
      for (int o = 0; o < n_ops; ++o) strides[o][nd - 1] = strides[o][d];
    } else {
      loop.size[nd] = shape[d];
      for (int o = 0; o < n_ops; ++o) strides[o][nd] = strides[o][d];
      ++nd;
    }
  }
  if (nd == 0) {  // a single element
    loop.size[0] = 1;
    for (int o = 0; o < n_ops; ++o) strides[o][0] = 0;
    nd = 1;
  }
  loop.ndim = nd;
  return loop;
}

}  // namespace neuralop
