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
  if constexpr (is_complex_v<C> && requires(const C* p, C* q, ModeStrides st) {
                  B::template mode_contract<C, false, false>(index_t{1}, index_t{1}, index_t{1}, index_t{1}, p, st, p, st, q, st, false);
                }) {
    // In place on the [B, in, k], [in, out, k] layouts (the backend's per-mode contraction):
    //   y[b, o, k]  = sum_i x[b, i, k] w[i, o, k]
    //   dx[b, i, k] = sum_o dy[b, o, k] conj(w[i, o, k])
    //   dw[i, o, k] = sum_b conj(x[b, i, k]) dy[b, o, k]
    Shape<R> ys = xs;
    ys[1] = co;
    auto y = Tensor<C, R, B>::empty(ys);
    B::template mode_contract<C, false, false>(nb, co, ci, m, x.value().data(), {ci * m, m}, w.value().data(), {co * m, m},
                                               y.data(), {co * m, m}, false);
    const Saved<C, R, B> sx(x), sw(w);
    return record_op(
        "spectral_contract_dense", std::move(y),
        [xsl = x.slot_ptr(), wsl = w.slot_ptr(), sx, sw, nb, ci, co, m](const Tensor<C, R, B>& g) {
          if (xsl->requires_grad) {
            const auto& W = sw.get("spectral_contract_dense");
            auto gx = Tensor<C, R, B>::empty(sx.shape());
            B::template mode_contract<C, false, true>(nb, ci, co, m, g.data(), {co * m, m}, W.data(), {m, co * m}, gx.data(),
                                                      {ci * m, m}, false);
            xsl->accumulate_grad(gx);
          }
          if (wsl->requires_grad) {
            const auto& X = sx.get("spectral_contract_dense");
            auto gw = Tensor<C, R, B>::empty(sw.shape());
            B::template mode_contract<C, true, false>(ci, co, nb, m, X.data(), {m, ci * m}, g.data(), {co * m, m}, gw.data(),
                                                      {co * m, m}, false);
            wsl->accumulate_grad(gw);
          }
        },
        x, w);
  }
  // Otherwise a batch of (B x in) @ (in x out) products, one per mode.
  const auto xm = permute(reshape(x, Shape<3>{nb, ci, m}), {2, 0, 1});  // [m, B, in]
  const auto wm = permute(reshape(w, Shape<3>{ci, co, m}), {2, 0, 1});  // [m, in, out]
  Shape<R> ys = xs;
  ys[1] = co;
  return reshape(permute(matmul(xm, wm), {1, 2, 0}), ys);  // [B, out, k...]
}

}  // namespace neuralop
