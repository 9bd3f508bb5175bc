// Matrix products on the backend's batched GEMM: matmul over the last two axes, and the
// contraction over the channel axis (a 1x1 convolution: y[n,o,...] = sum_i W[o,i] x[n,i,...]).
// Reverse rules use conjugate transposes, so complex gradients follow PyTorch.
#pragma once

#include <cstddef>

#include "neuralop/autograd/elementwise_node.hpp"
#include "neuralop/autograd/function.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

namespace detail {

// C[b] = op(A[b]) op(B[b]) (+ C[b] if accumulate) for contiguous row-major operands with the
// given logical (post-op) sizes m x k and k x n.
template <class B, Trans ta, Trans tb, class T>
void gemm_call(index_t batch, index_t m, index_t n, index_t k, const T* A, index_t stride_a,
               const T* Bm, index_t stride_b, T* C, index_t stride_c, bool accumulate) {
  const GemmShape s = packed_gemm_shape<ta, tb>(batch, m, n, k, stride_a, stride_b, stride_c);
  // For real types the conjugate transpose is the transpose: share one instantiation.
  constexpr Trans ra = (!is_complex_v<T> && ta == Trans::C) ? Trans::T : ta;
  constexpr Trans rb = (!is_complex_v<T> && tb == Trans::C) ? Trans::T : tb;
  B::template gemm<T, ra, rb>(s, T(1), A, Bm, accumulate ? T(1) : T(0), C);
}

template <std::size_t R>
index_t batch_count(const Shape<R>& s) {
  index_t b = 1;
  for (std::size_t d = 0; d + 2 < R; ++d) b *= s[d];
  return b;
}

}  // namespace detail

// A[..., m, k] @ B[..., k, n] -> [..., m, n], batch axes equal.
template <TensorScalar T, std::size_t R, class B>
  requires(R >= 2)
Tensor<T, R, B> matmul(const Tensor<T, R, B>& a, const Tensor<T, R, B>& b) {
  const auto& sa = a.shape();
  const auto& sb = b.shape();
  bool ok = sa[R - 1] == sb[R - 2];
  for (std::size_t d = 0; d + 2 < R; ++d) ok = ok && sa[d] == sb[d];
  if (!ok) throw_error<shape_error>("matmul: shapes ", format_shape(sa), " and ", format_shape(sb), " do not match");
  Shape<R> so = sa;
  so[R - 1] = sb[R - 1];
  auto c = Tensor<T, R, B>::empty(so);
  const index_t m = sa[R - 2], k = sa[R - 1], n = sb[R - 1];
  detail::gemm_call<B, Trans::N, Trans::N>(detail::batch_count(sa), m, n, k, a.data(), m * k, b.data(), k * n, c.data(),
                       m * n, false);
  return c;
}
// A[..., m, k] @ B[k, n]: one right-hand matrix for every batch entry.
template <TensorScalar T, std::size_t R, class B>
  requires(R > 2)
Tensor<T, R, B> matmul(const Tensor<T, R, B>& a, const Tensor<T, 2, B>& b) {
  const auto& sa = a.shape();
  if (sa[R - 1] != b.shape()[0])
    throw_error<shape_error>("matmul: shapes ", format_shape(sa), " and ", format_shape(b.shape()), " do not match");
  Shape<R> so = sa;
  so[R - 1] = b.shape()[1];
  auto c = Tensor<T, R, B>::empty(so);
  // Batch and row axes fold into one tall matrix.
  const index_t rows = a.numel() / sa[R - 1];
  detail::gemm_call<B, Trans::N, Trans::N>(1, rows, so[R - 1], sa[R - 1], a.data(), 0, b.data(), 0, c.data(), 0, false);
  return c;
}

// dA = dC B^H, dB = A^H dC (per batch entry).
template <TensorScalar T, std::size_t R, class B>
  requires(R >= 2)
Var<T, R, B> matmul(const Var<T, R, B>& a, const Var<T, R, B>& b) {
  auto out = matmul(a.value(), b.value());
  const Saved<T, R, B> sa(a), sb(b);
  return record_op(
      "matmul", out,
      [as = a.slot_ptr(), bs = b.slot_ptr(), sa, sb](const Tensor<T, R, B>& g) {
        const auto& A = sa.get("matmul");
        const auto& Bv = sb.get("matmul");
        const index_t batch = detail::batch_count(A.shape());
        const index_t m = A.shape()[R - 2], k = A.shape()[R - 1], n = Bv.shape()[R - 1];
        if (as->requires_grad) {
          auto ga = Tensor<T, R, B>::empty(A.shape());
          detail::gemm_call<B, Trans::N, Trans::C>(batch, m, k, n, g.data(), m * n, Bv.data(), k * n, ga.data(), m * k, false);
          as->accumulate_grad(ga);
        }
        if (bs->requires_grad) {
          auto gb = Tensor<T, R, B>::empty(Bv.shape());
          detail::gemm_call<B, Trans::C, Trans::N>(batch, k, n, m, A.data(), m * k, g.data(), m * n, gb.data(), k * n, false);
          bs->accumulate_grad(gb);
        }
      },
      a, b);
}
template <TensorScalar T, std::size_t R, class B>
  requires(R > 2)
Var<T, R, B> matmul(const Var<T, R, B>& a, const Var<T, 2, B>& b) {
  auto out = matmul(a.value(), b.value());
  const Saved<T, R, B> sa(a);
  const Saved<T, 2, B> sb(b);
  return record_op(
      "matmul", out,
      [as = a.slot_ptr(), bs = b.slot_ptr(), sa, sb](const Tensor<T, R, B>& g) {
        const auto& A = sa.get("matmul");
        const auto& Bv = sb.get("matmul");
        const index_t k = Bv.shape()[0], n = Bv.shape()[1], rows = A.numel() / k;
        if (as->requires_grad) {
          auto ga = Tensor<T, R, B>::empty(A.shape());
          detail::gemm_call<B, Trans::N, Trans::C>(1, rows, k, n, g.data(), 0, Bv.data(), 0, ga.data(), 0, false);
          as->accumulate_grad(ga);
        }
        if (bs->requires_grad) {
          auto gb = Tensor<T, 2, B>::empty(Bv.shape());
          detail::gemm_call<B, Trans::C, Trans::N>(1, k, n, rows, A.data(), 0, g.data(), 0, gb.data(), 0, false);
          bs->accumulate_grad(gb);
        }
      },
      a, b);
}

// ---------------------------------------------------------------- channel contraction
namespace detail {
template <class T, std::size_t R, class B>
void check_channel_contract(const Tensor<T, R, B>& x, const Tensor<T, 2, B>& w) {
  if (!x.defined() || !w.defined()) throw_error<value_error>("channel_contract: null input");
  if (x.shape()[1] != w.shape()[1])
    throw_error<shape_error>("channel_contract: input of shape ", format_shape(x.shape()), " has ", x.shape()[1],
                             " channels but the weight of shape ", format_shape(w.shape()), " expects ", w.shape()[1]);
}
}  // namespace detail

// y[n, o, s...] = sum_i W[o, i] x[n, i, s...] for x of shape [N, I, spatial...], W [O, I].
template <TensorScalar T, std::size_t R, class B>
  requires(R >= 2)
Tensor<T, R, B> channel_contract(const Tensor<T, R, B>& x, const Tensor<T, 2, B>& w) {
  detail::check_channel_contract(x, w);
  const index_t N = x.shape()[0], I = x.shape()[1], O = w.shape()[0], S = x.numel() / (N * I);
  Shape<R> so = x.shape();
  so[1] = O;
  auto y = Tensor<T, R, B>::empty(so);
  detail::gemm_call<B, Trans::N, Trans::N>(N, O, S, I, w.data(), 0, x.data(), I * S, y.data(), O * S, false);
  return y;
}

namespace detail {
// dW = sum_n dy[n] x[n]^H for dy [N, O, S], x [N, I, S].
template <class B, class T>
Tensor<T, 2, B> channel_contract_weight_grad(const T* g, const T* X, index_t N, index_t O, index_t I, index_t S) {
  if constexpr (!is_complex_v<T>) {
    if (S == 1) {  // x is [N, I]: one GEMM over the batch, dW = dy^T x
      auto gw = Tensor<T, 2, B>::empty(Shape<2>{O, I});
      gemm_call<B, Trans::T, Trans::N>(1, O, I, N, g, 0, X, 0, gw.data(), 0, false);
      return gw;
    }
  }
  if (O <= S) {
    // One batched GEMM of per-sample products, then their sum: the batch entries run as
    // parallel tasks of full size (N accumulating GEMMs ran one after another, each split into
    // thin chunks). The partials take O * I per sample, no more than x itself.
    auto partial = Tensor<T, 3, B>::empty(Shape<3>{N, O, I});
    gemm_call<B, Trans::N, Trans::C>(N, O, I, S, g, O * S, X, I * S, partial.data(), O * I, false);
    return reduce_to_shape(partial, Shape<3>{1, O, I}).template reshape<2>(Shape<2>{O, I});
  }
  auto gw = Tensor<T, 2, B>::empty(Shape<2>{O, I});
  for (index_t n = 0; n < N; ++n)
    gemm_call<B, Trans::N, Trans::C>(1, O, I, S, g + n * O * S, 0, X + n * I * S, 0, gw.data(), 0, n > 0);
  return gw;
}

// dx[n] = W^H dy[n]; dW = sum_n dy[n] x[n]^H.
template <class T, std::size_t R, class B>
void channel_contract_backward(const Tensor<T, R, B>& g, const Tensor<T, R, B>& X, const Tensor<T, 2, B>& W,
                               const GradSlot<T, R, B>& xs, const GradSlot<T, 2, B>& ws) {
  const index_t N = X.shape()[0], I = X.shape()[1], O = W.shape()[0], S = X.numel() / (N * I);
  if (xs->requires_grad) {
    auto gx = Tensor<T, R, B>::empty(X.shape());
    gemm_call<B, Trans::C, Trans::N>(N, I, S, O, W.data(), 0, g.data(), O * S, gx.data(), I * S, false);
    xs->accumulate_grad(gx);
  }
  if (ws->requires_grad) ws->accumulate_grad(channel_contract_weight_grad<B>(g.data(), X.data(), N, O, I, S));
}
}  // namespace detail

template <TensorScalar T, std::size_t R, class B>
  requires(R >= 2)
Var<T, R, B> channel_contract(const Var<T, R, B>& x, const Var<T, 2, B>& w) {
  auto out = channel_contract(x.value(), w.value());
  const Saved<T, R, B> sx(x);
  const Saved<T, 2, B> sw(w);
  return record_op(
      "channel_contract", out,
      [xs = x.slot_ptr(), ws = w.slot_ptr(), sx, sw](const Tensor<T, R, B>& g) {
        detail::channel_contract_backward(g, sx.get("channel_contract"), sw.get("channel_contract"), xs, ws);
      },
      x, w);
}

namespace detail {
// out = W x + bias (per output channel) + addend (shaped like out); either may be null. A backend
// with a fused primitive (gemm_bias_add: the sum formed in registers, out written once) uses it;
// otherwise out = bias or addend is written first and the product accumulated onto it.
template <class T, std::size_t R, class B>
Tensor<T, R, B> channel_contract_onto(const Tensor<T, R, B>& X, const Tensor<T, 2, B>& W, const Tensor<T, 1, B>* bias,
                                      const Tensor<T, R, B>* addend) {
  check_channel_contract(X, W);
  const index_t N = X.shape()[0], I = X.shape()[1], O = W.shape()[0], S = X.numel() / (N * I);
  Shape<R> so = X.shape();
  so[1] = O;
  if (bias && bias->shape()[0] != O)
    throw_error<shape_error>("channel_contract: bias of shape ", format_shape(bias->shape()), " for ", O, " output channels");
  if (addend && addend->shape() != so)
    throw_error<shape_error>("channel_contract_add: addend of shape ", format_shape(addend->shape()), " for a product of shape ",
                             format_shape(so));
  auto out = Tensor<T, R, B>::empty(so);
  if constexpr (requires(const GemmShape& gs, const T* p, T* q) {
                  B::template gemm_bias_add<T, Trans::N, Trans::N>(gs, p, p, p, p, index_t{0}, q);
                }) {
    B::template gemm_bias_add<T, Trans::N, Trans::N>(packed_gemm_shape<Trans::N, Trans::N>(N, O, S, I, 0, I * S, O * S),
                                                     W.data(), X.data(), bias ? bias->data() : nullptr,
                                                     addend ? addend->data() : nullptr, O * S, out.data());
  } else {
    if (bias)
      out.template reshape<3>(Shape<3>{N, O, S}).assign(bias->template reshape<3>(Shape<3>{1, O, 1}));
    else if (addend)
      out.assign(*addend);
    gemm_call<B, Trans::N, Trans::N>(N, O, S, I, W.data(), 0, X.data(), I * S, out.data(), O * S, bias || addend);
  }
  return out;
}
}  // namespace detail

// y = addend + channel_contract(x, W), the addend written first (a linear skip added to a
// block's output); the addend's gradient is dy itself, shared.
template <TensorScalar T, std::size_t R, class B>
  requires(R >= 2)
Var<T, R, B> channel_contract_add(const Var<T, R, B>& x, const Var<T, 2, B>& w, const Var<T, R, B>& addend) {
  auto out = detail::channel_contract_onto<T, R, B>(x.value(), w.value(), nullptr, &addend.value());
  const Saved<T, R, B> sx(x);
  const Saved<T, 2, B> sw(w);
  return record_op(
      "channel_contract_add", out,
      [xs = x.slot_ptr(), ws = w.slot_ptr(), as = addend.slot_ptr(), sx, sw](const Tensor<T, R, B>& g) {
        detail::channel_contract_backward(g, sx.get("channel_contract_add"), sw.get("channel_contract_add"), xs, ws);
        if (as->requires_grad) as->accumulate_grad(g);
      },
      x, w, addend);
}

// y[n, o, s...] = sum_i W[o, i] x[n, i, s...] + b[o], the bias written first; its gradient is a
// reduction of dy.
template <TensorScalar T, std::size_t R, class B>
  requires(R >= 2)
Var<T, R, B> channel_contract(const Var<T, R, B>& x, const Var<T, 2, B>& w, const Var<T, 1, B>& bias) {
  const auto& X = x.value();
  auto out = detail::channel_contract_onto<T, R, B>(X, w.value(), &bias.value(), nullptr);
  const index_t N = X.shape()[0], O = out.shape()[1], S = out.numel() / (N * O);
  const Saved<T, R, B> sx(x);
  const Saved<T, 2, B> sw(w);
  return record_op(
      "channel_contract", out,
      [xs = x.slot_ptr(), ws = w.slot_ptr(), bs = bias.slot_ptr(), sx, sw, N, O, S](const Tensor<T, R, B>& g) {
        detail::channel_contract_backward(g, sx.get("channel_contract"), sw.get("channel_contract"), xs, ws);
        if (bs->requires_grad)
          bs->accumulate_grad(
              detail::reduce_to_shape(g.template reshape<3>(Shape<3>{N, O, S}), Shape<3>{1, O, 1}).template reshape<1>(Shape<1>{O}));
      },
      x, w, bias);
}

}  // namespace neuralop
