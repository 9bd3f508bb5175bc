// SpectralConv's contractions of a spectrum with a factorized weight, straight from the factors
// (NeuralOperator's implementation="factorized"), never forming the dense [in, out, k...] weight.
#pragma once

#include "neuralop/nn/factorized_tensor.hpp"
#include "neuralop/ops/spectral_contract.hpp"

namespace neuralop::nn {

// x: [B, in, k...], f: the weight [in, out, k...] (kept modes) -> [B, out, k...];
// out[b, o, k] = sum_i x[b, i, k] W[i, o, k] with W given by its factors.
template <class C, std::size_t R, class B>
Var<C, R, B> contract_factorized(const Var<C, R, B>& x, const FactorVars<C, R, B>& f) {
  switch (f.kind) {
    case Factorization::dense: return spectral_contract_dense(x, f.tensor);
    case Factorization::tucker: {
      // "abcd,fghi,bf,eg,ch,di->aecd": the modes k are not summed (each has its own matrix), so
      // the mode factors expand the core to Cm[f, g, k] = core x_k U_k ([r_in, r_out, k...], the
      // dense weight's size times r_in r_out / (in out)); x goes through U_in, Cm per mode, U_out.
      Var<C, R, B> cm = f.tensor;
      for (std::size_t j = 2; j < R; ++j) cm = mode_apply(cm, f.mats[j], j);  // [r_in, r_out, k...]
      Var<C, R, B> t = mode_apply(x, transpose(f.mats[0]), 1);                // [B, r_in, k...]
      t = spectral_contract_dense(t, cm);                                     // [B, r_out, k...]
      return mode_apply(t, f.mats[1], 1);                                     // [B, out, k...]
    }
    case Factorization::cp: {
      // "abcd,e,be,fe,ce,de->afcd": t[b, r, k] = sum_i x[b, i, k] U_in[i, r]; times the mode part
      // G[r, k] = prod_j U_j[k_j, r]; out[b, o, k] = sum_r lambda_r U_out[o, r] t[b, r, k].
      const index_t rk = f.weights.shape()[0];
      Var<C, R, B> t = mode_apply(x, transpose(f.mats[0]), 1);  // [B, R, k...]
      Shape<R - 1> gs{};
      gs[0] = rk;
      for (std::size_t j = 2; j < R; ++j) gs[j - 1] = f.mats[j].shape()[0];
      const auto G = reshape(transpose(khatri_rao(f.mats, 2, R)), gs);  // [R, k...]
      t = Var<C, R, B>(t * G);
      const Var<C, 2, B> A(f.mats[1] * reshape(f.weights, Shape<2>{1, rk}));  // [out, R]
      return mode_apply(t, A, 1);
    }
    case Factorization::tt: {
      // "abcd,fbg,geh,hci,idj->aecd": x through G_in and G_out, then the mode train S[h, k] as a
      // per-mode dense contraction over the rank h.
      const auto& g0 = f.cores[0].shape();
      const auto& g1 = f.cores[1].shape();
      const index_t nb = x.shape()[0], co = g1[1], r2 = g1[2];
      Var<C, R, B> t = mode_apply(x, transpose(reshape(f.cores[0], Shape<2>{g0[1], g0[2]})), 1);       // [B, r1, k...]
      t = mode_apply(t, transpose(reshape(f.cores[1], Shape<2>{g1[0], co * r2})), 1);                  // [B, out r2, k...]
      Shape<R> ts = t.shape(), ss{};
      ts[0] = nb * co;
      ts[1] = r2;
      ss[0] = r2;
      ss[1] = 1;
      for (std::size_t j = 2; j < R; ++j) ss[j] = f.cores[j].shape()[1];
      const auto S = reshape(tt_chain(f.cores, 2, R), ss);  // [r2, 1, k...]
      Shape<R> ys = x.shape();
      ys[1] = co;
      return reshape(spectral_contract_dense(reshape(t, ts), S), ys);
    }
  }
  return x;
}

// Separable: x [B, C, k...] times W [C, k...] mode by mode. Whatever the factorization, the
// weight is rebuilt first: it is the size of one sample's kept spectrum, and the einsum of
// NeuralOperator's factorized separable path has the same value.
template <class C, std::size_t R, class B>
Var<C, R, B> contract_separable(const Var<C, R, B>& x, const FactorVars<C, R - 1, B>& f) {
  return Var<C, R, B>(x * to_tensor(f));
}

}  // namespace neuralop::nn
