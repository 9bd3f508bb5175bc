// Launch glue: turn a host expression into a kernel, coalesce the iteration space over all
// operands, and hand it to the backend. Shared by forward assignment and fused backward.
#pragma once

#include <type_traits>

#include "neuralop/backend/loop.hpp"
#include "neuralop/core/shape.hpp"
#include "neuralop/tensor/expr.hpp"
#include "neuralop/tensor/kernel_expr.hpp"

namespace neuralop::detail {

// Coalesce over the kernel tree's leaves (value and sink strides) plus `extra` operands, then
// write the coalesced strides back. Returns the loop to launch.
template <std::size_t R, class KTree, std::size_t NE>
Loop<R> coalesce_kernel(const Shape<R>& shape, KTree& tree, index_t* const (&extra)[NE]) {
  constexpr std::size_t NS = R > 0 ? R : 1;
  constexpr int n_ops = 2 * KTree::n_leaves + static_cast<int>(NE);
  index_t st[n_ops > 0 ? n_ops : 1][NS];
  int i = 0;
  for (std::size_t e = 0; e < NE; ++e, ++i)
    for (std::size_t d = 0; d < NS; ++d) st[i][d] = extra[e][d];
  auto gather = [&](auto& leaf) {
    for (std::size_t d = 0; d < NS; ++d) {
      st[i][d] = leaf.st[d];
      st[i + 1][d] = leaf.sst[d];
    }
    i += 2;
  };
  tree.for_each_leaf(gather);
  const Loop<R> loop = coalesce<R>(shape, st, n_ops);
  i = 0;
  for (std::size_t e = 0; e < NE; ++e, ++i)
    for (std::size_t d = 0; d < NS; ++d) extra[e][d] = st[i][d];
  auto scatter = [&](auto& leaf) {
    for (std::size_t d = 0; d < NS; ++d) {
      leaf.st[d] = st[i][d];
      leaf.sst[d] = st[i + 1][d];
    }
    i += 2;
  };
  tree.for_each_leaf(scatter);
  return loop;
}

// dst[shape, strides] = e (e broadcast to shape), one fused pass on backend B.
template <class B, class T, std::size_t R, class E>
void launch_assign(T* dst, const Shape<R>& shape, const Strides<R>& dst_strides, const E& e) {
  static_assert(std::is_same_v<T, typename E::value_type>);
  using K = kexpr::AssignKernel<T, R, typename E::template kernel_type<R>>;
  K k{};
  k.e = e.kernel(shape);
  k.dst.base = dst;
  for (std::size_t d = 0; d != R; ++d) k.dst.st[d] = dst_strides[d];
  index_t* const extra[1] = {k.dst.st};
  const Loop<R> loop = coalesce_kernel(shape, k.e, extra);
  k.nd = loop.ndim;
  B::elementwise(loop, k);
}

// True when writing dst (owner, data, strides) while reading e could read an element after it
// was overwritten: some leaf shares the storage but is not read exactly where it is written.
template <class E, class T, std::size_t R>
bool assignment_aliases(const E& e, const void* owner, const T* dst, const Shape<R>& shape, const Strides<R>& st) {
  bool hazard = false;
  e.visit_leaves([&](const auto& leaf) {
    const auto& tl = leaf.tensor_leaf();
    if (static_cast<const void*>(tl.owner.get()) != owner) return;
    if (static_cast<const void*>(tl.data) != static_cast<const void*>(dst)) {
      hazard = true;
      return;
    }
    const auto bst = broadcast_strides(shape, tl.shape, tl.strides);
    for (std::size_t d = 0; d != R; ++d)
      if (shape[d] > 1 && bst[d] != st[d]) hazard = true;
  });
  return hazard;
}

}  // namespace neuralop::detail
