// resample (neuralop.layers.resample): x [B, C, N_1..N_K] to new spatial sizes. One axis:
// linear interpolation, two axes: bicubic (Keys, A = -0.75, border taps clamped), both with
// align_corners=True (source coordinate u = j (N_in - 1) / (N_out - 1)); three or more axes:
// spectral (rfftn, keep the low frequencies that both grids hold, irfftn; norm "forward").
// Differentiable in x.
#pragma once

#include <array>
#include <cmath>
#include <vector>

#include "neuralop/ops/fft.hpp"
#include "neuralop/ops/matmul.hpp"
#include "neuralop/ops/shape_ops.hpp"

namespace neuralop {

namespace detail {

// Interpolation matrix M [n_out, n_in] (row-major): y_j = sum_i M[j, i] x_i.
inline std::vector<double> interp_matrix(index_t n_in, index_t n_out, bool cubic) {
  std::vector<double> m(std::size_t(n_out * n_in), 0.0);
  // torch's area_pixel_compute_scale with align_corners: (in - 1) / (out - 1), 0 for out <= 1;
  // computed in float as torch does for float inputs.
  const float scale = n_out > 1 ? float(n_in - 1) / float(n_out - 1) : 0.0f;
  auto add = [&](index_t j, index_t i, double w) {
    i = std::min(std::max<index_t>(i, 0), n_in - 1);
    m[std::size_t(j * n_in + i)] += w;
  };
  for (index_t j = 0; j < n_out; ++j) {
    const float u = scale * float(j);
    if (!cubic) {
      const index_t i0 = index_t(u);  // u >= 0: truncation is floor
      const index_t i1 = std::min(i0 + 1, n_in - 1);
      const float l1 = u - float(i0), l0 = 1.0f - l1;
      add(j, i0, l0);
      add(j, i1, l1);
    } else {
      const index_t i0 = index_t(std::floor(u));
      const double t = double(u - float(i0)), A = -0.75;
      // Keys' cubic convolution: |s| <= 1: ((A + 2)|s| - (A + 3)) s^2 + 1; 1 < |s| < 2:
      // ((A|s| - 5A)|s| + 8A)|s| - 4A.
      auto near = [A](double s) { return ((A + 2) * s - (A + 3)) * s * s + 1; };
      auto far = [A](double s) { return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A; };
      add(j, i0 - 1, far(t + 1));
      add(j, i0, near(t));
      add(j, i0 + 1, near(1 - t));
      add(j, i0 + 2, far(2 - t));
    }
  }
  return m;
}

// Applies a [n_out, n_in] matrix along `axis` (as a GEMM on the last axis).
template <class T, std::size_t R, class B>
Var<T, R, B> apply_along_axis(const Var<T, R, B>& x, int axis, const std::vector<double>& m, index_t n_out) {
  const index_t n_in = x.shape()[std::size_t(axis)];
  std::vector<T> mt(std::size_t(n_in * n_out));  // M^T [n_in, n_out]
  for (index_t j = 0; j < n_out; ++j)
    for (index_t i = 0; i < n_in; ++i) mt[std::size_t(i * n_out + j)] = T(m[std::size_t(j * n_in + i)]);
  const Var<T, 2, B> w(Tensor<T, 2, cpu>::from_data({n_in, n_out}, std::span<const T>(mt)).template to<B>());
  if (axis == int(R - 1)) return matmul(x, w);
  int perm[R];
  for (std::size_t d = 0; d < R; ++d) perm[d] = int(d);
  perm[std::size_t(axis)] = int(R - 1);
  perm[R - 1] = axis;
  return permute(matmul(permute(x, perm), w), perm);  // a swap is its own inverse
}

// Along one axis of a spectrum: the first floor(m/2) and last ceil(m/2) entries of the old axis
// at the same ends of a new zero axis (m = min(old, new)).
template <class C, std::size_t R, class B>
Var<C, R, B> resize_centred(const Var<C, R, B>& X, int ax, index_t n_new) {
  const index_t n_old = X.shape()[std::size_t(ax)];
  const index_t m = std::min(n_old, n_new), lo = m / 2, hi = m - lo;
  Pads<R> gap{};
  auto high = slice(X, ax, n_old - hi, n_old);
  if (lo == 0) {
    gap[std::size_t(ax)] = {n_new - m, 0};
    return pad(high, gap);
  }
  gap[std::size_t(ax)] = {0, n_new - m};
  return concat({pad(slice(X, ax, 0, lo), gap), high}, ax);
}

}  // namespace detail

// resample(x, 1.0, spatial axes, output_shape=size) of NeuralOperator, over all spatial axes.
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> resample(const Var<T, R, B>& x, const std::array<index_t, R - 2>& size) {
  static_assert(R >= 3, "resample: x is [batch, channels, spatial...]");
  static_assert(!is_complex_v<T>, "resample: real tensors only");
  constexpr std::size_t K = R - 2;
  for (std::size_t i = 0; i < K; ++i)
    if (size[i] <= 0) throw_error<shape_error>("resample: output size ", format_shape(size), " for input ", format_shape(x.shape()));
  if constexpr (K <= 2) {
    Var<T, R, B> y = x;
    for (std::size_t i = 0; i < K; ++i)
      y = detail::apply_along_axis(y, int(i + 2), detail::interp_matrix(x.shape()[i + 2], size[i], K == 2), size[i]);
    return y;
  } else {
    auto X = rfftn<K>(x, FftNorm::forward);
    for (std::size_t i = 0; i + 1 < K; ++i) X = detail::resize_centred(X, int(i + 2), size[i]);
    // Last (half-spectrum) axis: the first min(old, new) bins.
    const index_t old_l = X.shape()[R - 1], new_l = size[K - 1] / 2 + 1, m = std::min(old_l, new_l);
    if (m < old_l) X = slice(X, int(R - 1), 0, m);
    if (m < new_l) {
      Pads<R> p{};
      p[R - 1] = {0, new_l - m};
      X = pad(X, p);
    }
    return irfftn<K>(X, size, FftNorm::forward);
  }
}

// Sizes int(round(N_i r_i)) (Python's round: half to even).
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> resample(const Var<T, R, B>& x, const std::array<double, R - 2>& res_scale) {
  std::array<index_t, R - 2> s{};
  for (std::size_t i = 0; i < R - 2; ++i) s[i] = index_t(std::nearbyint(double(x.shape()[i + 2]) * res_scale[i]));
  return resample(x, s);
}

}  // namespace neuralop
