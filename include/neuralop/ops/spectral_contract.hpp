// The dense spectral contraction of SpectralConv: out[b, o, k] = sum_i x[b, i, k] w[i, o, k] over
// the kept Fourier modes k (NeuralOperator's einsum "abcd,becd->aecd"), differentiable.
#pragma once

#include "neuralop/ops/matmul.hpp"
#include "neuralop/ops/shape_ops.hpp"

namespace neuralop {

// x: [B, in, k...], w: [in, out, k...] (same k...) -> [B, out, k...].
template <class C, std::size_t R, class B>
Var<C, R, B> spectral_contract_dense(const Var<C, R, B>& x, const Var<C, R, B>& w) {
  static_assert(R >= 3, "spectral_contract_dense: [batch, channels, modes...]");
  const Shape<R>& xs = x.shape();
  const Shape<R>& ws = w.shape();
  for (std::size_t i = 2; i < R; ++i)
    if (xs[i] != ws[i] || xs[1] != ws[0])
      throw_error<shape_error>("spectral_contract_dense: spectrum ", format_shape(xs), " and weight ", format_shape(ws),
                               " do not match ([B, in, k...] and [in, out, k...])");
  const index_t nb = xs[0], ci = xs[1], co = ws[1];
  index_t m = 1;
  for (std::size_t i = 2; i < R; ++i) m *= xs[i];
  // A batch of (B x in) @ (in x out) products, one per mode.
  const auto xm = permute(reshape(x, Shape<3>{nb, ci, m}), {2, 0, 1});  // [m, B, in]
  const auto wm = permute(reshape(w, Shape<3>{ci, co, m}), {2, 0, 1});  // [m, in, out]
  Shape<R> ys = xs;
  ys[1] = co;
  return reshape(permute(matmul(xm, wm), {1, 2, 0}), ys);  // [B, out, k...]
}

}  // namespace neuralop
