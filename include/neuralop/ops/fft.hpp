// Discrete Fourier transforms over K consecutive axes, as torch.fft: rfftn / irfftn / fftn /
// ifftn with norm "backward" | "forward" | "ortho" and torch's `s` (per-axis zero-padding or
// truncation at the end), fftshift / ifftshift; reverse rules for all of them.
//
// Conventions (torch.fft): forward X[k] = c · Σ_n x[n] e^{-2πi k·n/N}, inverse x[n] = d · Σ_k
// X[k] e^{+2πi k·n/N}; (c, d) = (1, 1/N) "backward", (1/N, 1) "forward", (1/√N, 1/√N) "ortho".
// irfftn reads only what a Hermitian spectrum determines: the last axis is transformed by a
// real inverse that uses the real parts of bin 0 and (even n) bin n/2, after complex inverses
// over the other axes.
#pragma once

#include <array>
#include <cmath>
#include <complex>
#include <optional>
#include <string_view>

#include "neuralop/autograd/function.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

enum class FftNorm { backward, forward, ortho };

inline FftNorm fft_norm(std::string_view name) {
  if (name == "backward") return FftNorm::backward;
  if (name == "forward") return FftNorm::forward;
  if (name == "ortho") return FftNorm::ortho;
  throw_error<value_error>("fft_norm: '", name, "' is not one of \"backward\", \"forward\", \"ortho\"");
}
constexpr const char* name(FftNorm n) {
  return n == FftNorm::backward ? "backward" : n == FftNorm::forward ? "forward" : "ortho";
}

namespace detail {

// The factor of a transform over `points` points, forward or inverse direction.
inline double fft_scale(FftNorm norm, bool forward, index_t points) {
  switch (norm) {
    case FftNorm::backward: return forward ? 1.0 : 1.0 / double(points);
    case FftNorm::forward: return forward ? 1.0 / double(points) : 1.0;
    case FftNorm::ortho: return 1.0 / std::sqrt(double(points));
  }
  return 1.0;
}
template <class T, std::size_t R, class B>
void scale_in_place(Tensor<T, R, B>& t, double s) {
  if (s != 1.0) t *= T(static_cast<real_t<T>>(s));
}

template <std::size_t K, std::size_t R>
void check_fft_axes(const char* op, const Shape<R>& shape, int first) {
  static_assert(K >= 1 && K <= R, "fft: the number of transformed axes must be in [1, rank]");
  if (first < 0 || std::size_t(first) + K > R)
    throw_error<shape_error>(op, ": axes [", first, ", ", first + int(K), ") do not fit a tensor of shape ",
                             format_shape(shape));
}
// [outer, n..., inner] of the axes [first, first + K) of `shape`.
template <std::size_t K, std::size_t R>
std::tuple<index_t, std::array<index_t, K>, index_t> fft_split(const Shape<R>& shape, int first) {
  index_t outer = 1, inner = 1;
  std::array<index_t, K> n{};
  for (int i = 0; i < first; ++i) outer *= shape[std::size_t(i)];
  for (std::size_t k = 0; k < K; ++k) n[k] = shape[std::size_t(first) + k];
  for (std::size_t i = std::size_t(first) + K; i < R; ++i) inner *= shape[i];
  return {outer, n, inner};
}
template <std::size_t K>
index_t product(const std::array<index_t, K>& n) {
  index_t p = 1;
  for (auto v : n) p *= v;
  return p;
}

// Unnormalised transforms, axes [first, first + K) of contiguous tensors.
template <std::size_t K, class Rl, std::size_t R, class B>
Tensor<std::complex<Rl>, R, B> r2c(const Tensor<Rl, R, B>& x, int first) {
  auto [outer, n, inner] = fft_split<K>(x.shape(), first);
  Shape<R> os = x.shape();
  os[std::size_t(first) + K - 1] = n[K - 1] / 2 + 1;
  auto y = Tensor<std::complex<Rl>, R, B>::empty(os);
  B::template fft<Rl>(FftKind::r2c, outer, n, inner, x.data(), y.data());
  return y;
}
// n_last: the real length of the last transformed axis (X holds n_last/2 + 1 there). X is copied
// first: FFTW's multi-dimensional c2r overwrites its input.
template <std::size_t K, class Rl, std::size_t R, class B>
Tensor<Rl, R, B> c2r(const Tensor<std::complex<Rl>, R, B>& X, int first, index_t n_last) {
  auto [outer, n, inner] = fft_split<K>(X.shape(), first);
  if (n[K - 1] != n_last / 2 + 1)
    throw_error<shape_error>("irfftn: the last transformed axis holds ", n[K - 1], " bins, a real length of ", n_last,
                             " needs ", n_last / 2 + 1);
  n[K - 1] = n_last;
  Shape<R> os = X.shape();
  os[std::size_t(first) + K - 1] = n_last;
  auto y = Tensor<Rl, R, B>::empty(os);
  const auto scratch = X.clone();
  B::template fft<Rl>(FftKind::c2r, outer, n, inner, scratch.data(), y.data());
  return y;
}
template <std::size_t K, class Rl, std::size_t R, class B>
Tensor<std::complex<Rl>, R, B> c2c(const Tensor<std::complex<Rl>, R, B>& x, int first, bool inverse) {
  auto [outer, n, inner] = fft_split<K>(x.shape(), first);
  auto y = Tensor<std::complex<Rl>, R, B>::empty(x.shape());
  B::template fft<Rl>(inverse ? FftKind::c2c_backward : FftKind::c2c_forward, outer, n, inner, x.data(), y.data());
  return y;
}

// Zero-pads at the end or truncates axes [first, first + K) to `sizes` (torch's s / n).
template <std::size_t K, class T, std::size_t R, class B>
Tensor<T, R, B> resize_end(const Tensor<T, R, B>& x, int first, const std::array<index_t, K>& sizes) {
  Shape<R> s = x.shape();
  bool same = true;
  for (std::size_t k = 0; k < K; ++k) {
    if (sizes[k] <= 0) throw_error<value_error>("fft: size ", sizes[k], " requested for axis ", first + int(k));
    same = same && s[std::size_t(first) + k] == sizes[k];
    s[std::size_t(first) + k] = sizes[k];
  }
  if (same) return x;
  Tensor<T, R, B> out(s);
  Shape<R> common = x.shape();  // the leading block both share
  for (std::size_t k = 0; k < K; ++k) common[std::size_t(first) + k] = std::min(common[std::size_t(first) + k], sizes[k]);
  const auto dv = out.view();
  const auto sv = x.view();
  std::remove_const_t<decltype(dv)>(dv.storage(), dv.data(), common, dv.strides())
      .assign(std::remove_const_t<decltype(sv)>(sv.storage(), sv.data(), common, sv.strides()));
  return out;
}
template <std::size_t K, class T, std::size_t R, class B>
Var<T, R, B> resize_end(const Var<T, R, B>& x, int first, const std::array<index_t, K>& sizes) {
  std::array<index_t, K> back{};
  for (std::size_t k = 0; k < K; ++k) back[k] = x.shape()[std::size_t(first) + k];
  return record_op(
      "fft resize", resize_end<K>(x.value(), first, sizes),
      [xs = x.slot_ptr(), first, back](const Tensor<T, R, B>& g) { xs->accumulate_grad(resize_end<K>(g, first, back)); },
      x);
}

// Multiplies bins 1 .. n_last - m of the last transformed axis by 2 (m = n_last/2 + 1 bins): the
// bins a real inverse counts twice (torch's fft_c2r_backward).
template <class C, std::size_t R, class B>
void double_inner_bins(Tensor<C, R, B>& G, int axis, index_t n_last) {
  const index_t m = G.shape()[std::size_t(axis)], twice = n_last - m;
  if (twice > 0) {
    auto v = G.slice(axis, 1, 1 + twice);
    v.assign(v * C(2));
  }
}

}  // namespace detail

// ---------------------------------------------------------------- rfftn
// Real -> half spectrum over the last K axes: [..., n_1..n_K] -> [..., n_1..n_{K-1}, n_K/2+1].
template <std::size_t K, class Rl, std::size_t R, class B>
  requires std::is_floating_point_v<Rl>
Tensor<std::complex<Rl>, R, B> rfftn(const Tensor<Rl, R, B>& x, FftNorm norm = FftNorm::backward) {
  constexpr int first = int(R - K);
  detail::check_fft_axes<K>("rfftn", x.shape(), first);
  auto y = detail::r2c<K>(x, first);
  detail::scale_in_place(y, detail::fft_scale(norm, true, detail::product(std::get<1>(detail::fft_split<K>(x.shape(), first)))));
  return y;
}
template <std::size_t K, class Rl, std::size_t R, class B>
  requires std::is_floating_point_v<Rl>
Var<std::complex<Rl>, R, B> rfftn(const Var<Rl, R, B>& x, FftNorm norm = FftNorm::backward) {
  constexpr int first = int(R - K);
  const index_t n_last = x.shape()[R - 1];
  const double c = detail::fft_scale(norm, true, detail::product(std::get<1>(detail::fft_split<K>(x.shape(), first))));
  // dL/dx = c Re(F^H pad(g)) = c · c2r(h), h = g with the bins a real inverse doubles halved.
  return record_op(
      "rfftn", rfftn<K>(x.value(), norm),
      [xs = x.slot_ptr(), n_last, c](const Tensor<std::complex<Rl>, R, B>& g) {
        auto h = g.clone();
        const index_t m = h.shape()[R - 1], twice = n_last - m;
        if (twice > 0) {
          auto v = h.slice(int(R - 1), 1, 1 + twice);
          v.assign(v * std::complex<Rl>(Rl(0.5)));
        }
        auto gx = detail::c2r<K>(h, first, n_last);
        detail::scale_in_place(gx, c);
        xs->accumulate_grad(gx);
      },
      x);
}

// ---------------------------------------------------------------- irfftn
// Half spectrum -> real over the last K axes, output sizes s (torch.fft.irfftn(X, s=s)): each
// non-last axis is zero-padded or truncated at the end to s_k, the last one to s_K/2 + 1 bins.
template <std::size_t K, class Rl, std::size_t R, class B>
Tensor<Rl, R, B> irfftn(const Tensor<std::complex<Rl>, R, B>& X, const std::array<index_t, K>& s,
                        FftNorm norm = FftNorm::backward) {
  constexpr int first = int(R - K);
  detail::check_fft_axes<K>("irfftn", X.shape(), first);
  std::array<index_t, K> bins = s;
  bins[K - 1] = s[K - 1] / 2 + 1;
  auto y = detail::c2r<K>(detail::resize_end<K>(X, first, bins), first, s[K - 1]);
  detail::scale_in_place(y, detail::fft_scale(norm, false, detail::product(s)));
  return y;
}
template <std::size_t K, class Rl, std::size_t R, class B>
Var<Rl, R, B> irfftn(const Var<std::complex<Rl>, R, B>& X, const std::array<index_t, K>& s,
                     FftNorm norm = FftNorm::backward) {
  constexpr int first = int(R - K);
  detail::check_fft_axes<K>("irfftn", X.shape(), first);
  std::array<index_t, K> bins = s;
  bins[K - 1] = s[K - 1] / 2 + 1;
  const auto Xr = detail::resize_end<K>(X, first, bins);
  const double d = detail::fft_scale(norm, false, detail::product(s));
  const index_t n_last = s[K - 1];
  // dL/dX = d · rfftn(g) with the bins the real inverse counts twice doubled.
  return record_op(
      "irfftn", irfftn<K>(Xr.value(), s, norm),
      [xs = Xr.slot_ptr(), n_last, d](const Tensor<Rl, R, B>& g) {
        auto G = detail::r2c<K>(g, first);
        detail::double_inner_bins(G, int(R - 1), n_last);
        detail::scale_in_place(G, d);
        xs->accumulate_grad(G);
      },
      Xr);
}

// ---------------------------------------------------------------- fftn / ifftn (complex)
// Over the K axes starting at `first` (default: the last K); optional output sizes s.
namespace detail {
template <std::size_t K, class C, std::size_t R, class B>
Tensor<C, R, B> c2c_scaled(const char* op, const Tensor<C, R, B>& x, FftNorm norm, int first,
                           std::optional<std::array<index_t, K>> s, bool inverse) {
  check_fft_axes<K>(op, x.shape(), first);
  const auto xr = s ? resize_end<K>(x, first, *s) : x;
  auto y = c2c<K>(xr, first, inverse);
  scale_in_place(y, fft_scale(norm, !inverse, product(std::get<1>(fft_split<K>(xr.shape(), first)))));
  return y;
}
}  // namespace detail
template <std::size_t K, class C, std::size_t R, class B>
  requires is_complex_v<C>
Tensor<C, R, B> fftn(const Tensor<C, R, B>& x, FftNorm norm = FftNorm::backward, int first = int(R - K),
                     std::optional<std::array<index_t, K>> s = std::nullopt) {
  return detail::c2c_scaled<K>("fftn", x, norm, first, s, false);
}
template <std::size_t K, class C, std::size_t R, class B>
  requires is_complex_v<C>
Tensor<C, R, B> ifftn(const Tensor<C, R, B>& x, FftNorm norm = FftNorm::backward, int first = int(R - K),
                      std::optional<std::array<index_t, K>> s = std::nullopt) {
  return detail::c2c_scaled<K>("ifftn", x, norm, first, s, true);
}
namespace detail {
template <std::size_t K, class C, std::size_t R, class B>
Var<C, R, B> c2c_var(const char* op, const Var<C, R, B>& x, FftNorm norm, int first,
                     std::optional<std::array<index_t, K>> s, bool inverse) {
  check_fft_axes<K>(op, x.shape(), first);
  const auto xr = s ? resize_end<K>(x, first, *s) : x;
  const double c = fft_scale(norm, !inverse, product(std::get<1>(fft_split<K>(xr.shape(), first))));
  auto y = c2c_scaled<K>(op, xr.value(), norm, first, std::nullopt, inverse);
  // The adjoint of c·F is c·F^H: the transform of the other sign, same factor.
  return record_op(
      op, std::move(y),
      [xs = xr.slot_ptr(), first, c, inverse](const Tensor<C, R, B>& g) {
        auto gx = c2c<K>(g, first, !inverse);
        scale_in_place(gx, c);
        xs->accumulate_grad(gx);
      },
      xr);
}
}  // namespace detail
template <std::size_t K, class C, std::size_t R, class B>
  requires is_complex_v<C>
Var<C, R, B> fftn(const Var<C, R, B>& x, FftNorm norm = FftNorm::backward, int first = int(R - K),
                  std::optional<std::array<index_t, K>> s = std::nullopt) {
  return detail::c2c_var<K>("fftn", x, norm, first, s, false);
}
template <std::size_t K, class C, std::size_t R, class B>
  requires is_complex_v<C>
Var<C, R, B> ifftn(const Var<C, R, B>& x, FftNorm norm = FftNorm::backward, int first = int(R - K),
                   std::optional<std::array<index_t, K>> s = std::nullopt) {
  return detail::c2c_var<K>("ifftn", x, norm, first, s, true);
}

// ---------------------------------------------------------------- fftshift / ifftshift
// Roll each of the `count` axes from `first` by n/2 (fftshift) or -(n/2) (ifftshift), as numpy.
namespace detail {
template <class T, std::size_t R, class B>
Tensor<T, R, B> roll_axes(const Tensor<T, R, B>& x, int first, int count, bool inverse) {
  if (first < 0 || count < 0 || std::size_t(first + count) > R)
    throw_error<shape_error>(inverse ? "ifftshift" : "fftshift", ": axes [", first, ", ", first + count,
                             ") do not fit a tensor of shape ", format_shape(x.shape()));
  Tensor<T, R, B> cur = x;
  for (int ax = first; ax < first + count; ++ax) {
    const index_t n = x.shape()[std::size_t(ax)], shift = inverse ? n - n / 2 : n / 2;  // out[(i + shift) % n] = in[i]
    if (shift % n == 0) continue;
    auto out = Tensor<T, R, B>::empty(cur.shape());
    out.slice(ax, shift, n).assign(cur.slice(ax, 0, n - shift));
    out.slice(ax, 0, shift).assign(cur.slice(ax, n - shift, n));
    cur = out;
  }
  return cur;
}
}  // namespace detail
template <class T, std::size_t R, class B>
Tensor<T, R, B> fftshift(const Tensor<T, R, B>& x, int first, int count) {
  return detail::roll_axes(x, first, count, false);
}
template <class T, std::size_t R, class B>
Tensor<T, R, B> ifftshift(const Tensor<T, R, B>& x, int first, int count) {
  return detail::roll_axes(x, first, count, true);
}
template <class T, std::size_t R, class B>
Var<T, R, B> fftshift(const Var<T, R, B>& x, int first, int count) {
  return record_op(
      "fftshift", fftshift(x.value(), first, count),
      [xs = x.slot_ptr(), first, count](const Tensor<T, R, B>& g) { xs->accumulate_grad(ifftshift(g, first, count)); }, x);
}
template <class T, std::size_t R, class B>
Var<T, R, B> ifftshift(const Var<T, R, B>& x, int first, int count) {
  return record_op(
      "ifftshift", ifftshift(x.value(), first, count),
      [xs = x.slot_ptr(), first, count](const Tensor<T, R, B>& g) { xs->accumulate_grad(fftshift(g, first, count)); }, x);
}

}  // namespace neuralop
