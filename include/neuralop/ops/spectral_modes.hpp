// The two Fourier transforms of a spectral convolution, computing only what the kept modes need:
//   rfft_modes:  x [B, C, N...] real  ->  the kept modes [B, C, K...] of rfftn(x), low frequencies
//                centred on the non-last axes (what NeuralOperator slices out of fftshift(rfftn(x)))
//   irfft_modes: modes [B, O, K...]   ->  y [B, O, S...] real, the inverse of those modes placed
//                back into a zero spectrum as NeuralOperator places them
// and their reverse rules. A d-dimensional transform is done axis by axis (last axis real, the
// others complex), and every complex pass runs only over the kept columns of the axes after it:
// with 16 of 64 modes per axis this skips most of the complex work, and the fftshift, slice, pad
// and shift copies of the spectrum disappear. Equal (to rounding) to the unpruned composition of
// ops/fft.hpp, and so to torch.
//
// Index maps. Kept index j of a non-last axis (size N, K kept) holds frequency j - K/2, read from
// bin (j - K/2) mod N. On the way back NeuralOperator 2.0.0 applies fftshift (not ifftshift) to the
// centred spectrum before its irfftn, which puts mode j at bin (2 (N/2) - K/2 + j) mod N: the
// frequency itself for even N, one less for odd N (ModesPlacement::neuralop); the Hermitian
// variant of newer sources uses ifftshift, bin (j - K/2) mod N (ModesPlacement::exact). Output
// sizes S differing from N zero-pad or truncate the bin range at its end, as torch's `s`.
//
// The last axis: when few of its bins are kept (K <= 4 log2 N, the usual case), its real DFT is
// a real GEMM against a [N, 2K] table of cosines and sines, producing only the K bins in complex
// layout, and its real inverse a GEMM against [2K, S] (weights 1 for bin 0 and Nyquist, 2 for the
// others, as c2r counts them; the imaginary parts of bins 0 and S/2 meet sin = 0, which is what
// c2r does with them). More multiply-adds than an FFT, but at GEMM speed, and no full half
// spectrum to fill, pad or gather.
#pragma once

#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <numbers>
#include <span>
#include <tuple>
#include <vector>

#include "neuralop/ops/fft.hpp"
#include "neuralop/ops/matmul.hpp"

namespace neuralop {

enum class ModesPlacement {
  neuralop,  // neuraloperator 2.0.0 (PyPI): fftshift before irfftn
  exact,     // newer sources with enforce_hermitian_symmetry: ifftshift, Hermitian last axis
};

namespace detail {

// dst[..., map[j], ...] = src[..., j, ...] along `axis` for every j with map[j] >= 0 (or, with
// gather, dst[..., j, ...] = src[..., map[j], ...]), in runs of consecutive indices.
template <class T, std::size_t R, class B>
void copy_mapped(Tensor<T, R, B>& dst, const Tensor<T, R, B>& src, int axis, const std::vector<index_t>& map, bool gather) {
  const index_t n = index_t(map.size());
  for (index_t j = 0; j < n;) {
    if (map[std::size_t(j)] < 0) {
      ++j;
      continue;
    }
    index_t e = j + 1;
    while (e < n && map[std::size_t(e)] == map[std::size_t(e - 1)] + 1) ++e;
    const index_t m0 = map[std::size_t(j)], len = e - j;
    if (gather) dst.slice(axis, j, e).assign(src.slice(axis, m0, m0 + len));
    else dst.slice(axis, m0, m0 + len).assign(src.slice(axis, j, e));
    j = e;
  }
}
template <class T, std::size_t R, class B>
Tensor<T, R, B> resized_axis(const Tensor<T, R, B>& x, int axis, index_t n) {
  Shape<R> s = x.shape();
  s[std::size_t(axis)] = n;
  return Tensor<T, R, B>(s);  // zeros
}

// Bin of kept index j (K kept) of an axis of N points read by the forward transform.
inline std::vector<index_t> modes_read_map(index_t N, index_t K) {
  std::vector<index_t> m(static_cast<std::size_t>(K));
  for (index_t j = 0; j < K; ++j) m[std::size_t(j)] = ((j - K / 2) % N + N) % N;
  return m;
}
// Bin of the output grid (S points along an axis whose input had N) that kept index j lands on,
// or -1 where S truncates it away.
inline std::vector<index_t> modes_write_map(index_t N, index_t K, index_t S, ModesPlacement p) {
  std::vector<index_t> m(static_cast<std::size_t>(K));
  const index_t base = p == ModesPlacement::neuralop ? 2 * (N / 2) : 0;
  for (index_t j = 0; j < K; ++j) {
    const index_t q = ((base - K / 2 + j) % N + N) % N;
    m[std::size_t(j)] = q < S ? q : -1;
  }
  return m;
}
inline std::vector<index_t> prefix_map(index_t K, index_t limit) {
  std::vector<index_t> m(static_cast<std::size_t>(K));
  for (index_t j = 0; j < K; ++j) m[std::size_t(j)] = j < limit ? j : -1;
  return m;
}

}  // namespace detail

// How the last axis is transformed: by GEMM when few bins are kept (automatic), or always one
// way (for tests and measurements). A process-wide setting; change it only between passes.
enum class LastAxisDft { automatic, fft, gemm };
inline LastAxisDft& last_axis_dft() {
  static LastAxisDft mode = LastAxisDft::automatic;
  return mode;
}

namespace detail {
inline bool last_axis_by_gemm(index_t N, index_t K) {
  switch (last_axis_dft()) {
    case LastAxisDft::fft: return false;
    case LastAxisDft::gemm: return true;
    default: return double(K) <= 4.0 * std::log2(double(std::max<index_t>(N, 2)));
  }
}

// Tables of the last-axis DFTs, cached per (N, K, S): forward [N, 2K] with (cos, -sin) pairs of
// 2 pi k n / N; inverse [2K, S] with w_k (cos, -sin) of 2 pi k n / S, w_k as c2r weighs bin k and
// zero rows for bins past S/2 (truncated). Angles from (k n mod N) in double.
template <class Rl, class B>
const Tensor<Rl, 2, B>& dft_table(bool inverse, index_t N, index_t K, index_t S) {
  static std::mutex mu;
  static std::map<std::tuple<bool, index_t, index_t, index_t>, Tensor<Rl, 2, B>> cache;
  const std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(inverse, N, K, S);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::vector<Rl> v;
  Shape<2> shape{};
  const double two_pi = 2 * std::numbers::pi;
  if (!inverse) {
    shape = {N, 2 * K};
    v.resize(std::size_t(N * 2 * K));
    for (index_t n = 0; n < N; ++n)
      for (index_t k = 0; k < K; ++k) {
        const double a = two_pi * double((k * n) % N) / double(N);
        v[std::size_t(n * 2 * K + 2 * k)] = Rl(std::cos(a));
        v[std::size_t(n * 2 * K + 2 * k + 1)] = Rl(-std::sin(a));
      }
  } else {
    shape = {2 * K, S};
    v.assign(std::size_t(2 * K * S), Rl(0));
    for (index_t k = 0; k < K && k <= S / 2; ++k) {
      const double w = (k == 0 || (S % 2 == 0 && k == S / 2)) ? 1.0 : 2.0;
      for (index_t n = 0; n < S; ++n) {
        const double a = two_pi * double((k * n) % S) / double(S);
        v[std::size_t(2 * k * S + n)] = Rl(w * std::cos(a));
        v[std::size_t((2 * k + 1) * S + n)] = Rl(-w * std::sin(a));
      }
    }
  }
  return cache.emplace(key, Tensor<Rl, 2, B>::from_data(shape, std::span<const Rl>(v))).first->second;
}

// The K first bins of the real DFT of the last axis: [..., N] -> [..., K], one real GEMM.
template <class Rl, std::size_t R, class B>
Tensor<std::complex<Rl>, R, B> rdft_last(const Tensor<Rl, R, B>& x, index_t K) {
  const index_t N = x.shape()[R - 1], P = x.numel() / N;
  Shape<R> os = x.shape();
  os[R - 1] = K;
  auto y = Tensor<std::complex<Rl>, R, B>::empty(os);
  const auto& T = dft_table<Rl, B>(false, N, K, 0);
  gemm_call<B, Trans::N, Trans::N>(1, P, 2 * K, N, x.data(), 0, T.data(), 0, reinterpret_cast<Rl*>(y.data()), 0, false);
  return y;
}
// Its adjoint (real gradient of the real input): [..., K] -> [..., N].
template <class Rl, std::size_t R, class B>
Tensor<Rl, R, B> rdft_last_adjoint(const Tensor<std::complex<Rl>, R, B>& g, index_t N) {
  const index_t K = g.shape()[R - 1], P = g.numel() / K;
  Shape<R> os = g.shape();
  os[R - 1] = N;
  auto gx = Tensor<Rl, R, B>::empty(os);
  const auto& T = dft_table<Rl, B>(false, N, K, 0);
  gemm_call<B, Trans::N, Trans::T>(1, P, N, 2 * K, reinterpret_cast<const Rl*>(g.data()), 0, T.data(), 0, gx.data(), 0, false);
  return gx;
}
// c2r of length S of the K first bins (zero beyond): [..., K] -> [..., S], one real GEMM.
template <class Rl, std::size_t R, class B>
Tensor<Rl, R, B> irdft_last(const Tensor<std::complex<Rl>, R, B>& y, index_t S) {
  const index_t K = y.shape()[R - 1], P = y.numel() / K;
  Shape<R> os = y.shape();
  os[R - 1] = S;
  auto out = Tensor<Rl, R, B>::empty(os);
  const auto& U = dft_table<Rl, B>(true, 0, K, S);
  gemm_call<B, Trans::N, Trans::N>(1, P, S, 2 * K, reinterpret_cast<const Rl*>(y.data()), 0, U.data(), 0, out.data(), 0, false);
  return out;
}
template <class Rl, std::size_t R, class B>
Tensor<std::complex<Rl>, R, B> irdft_last_adjoint(const Tensor<Rl, R, B>& g, index_t K) {
  const index_t S = g.shape()[R - 1], P = g.numel() / S;
  Shape<R> os = g.shape();
  os[R - 1] = K;
  auto gy = Tensor<std::complex<Rl>, R, B>::empty(os);
  const auto& U = dft_table<Rl, B>(true, 0, K, S);
  gemm_call<B, Trans::N, Trans::T>(1, P, 2 * K, S, g.data(), 0, U.data(), 0, reinterpret_cast<Rl*>(gy.data()), 0, false);
  return gy;
}

// Scales Im of the last-axis bins 0 and `nyq` (if >= 0 and present) to zero.
template <class C, std::size_t R, class B>
void zero_imag_bins(Tensor<C, R, B>& t, index_t nyq) {
  auto keep_real = [&](index_t b) {
    auto v = t.slice(int(R - 1), b, b + 1);
    v.assign((v + conj(v)) * C(0.5));
  };
  keep_real(0);
  if (nyq > 0 && nyq < t.shape()[R - 1]) keep_real(nyq);
}

template <std::size_t D>
void check_modes(const char* op, const std::array<index_t, D>& n, const std::array<index_t, D>& k) {
  for (std::size_t i = 0; i < D; ++i) {
    const index_t limit = i + 1 == D ? n[i] / 2 + 1 : n[i];
    if (k[i] < 1 || k[i] > limit)
      throw_error<shape_error>(op, ": ", k[i], " modes kept on spatial axis ", i, " of size ", n[i], " (1 to ", limit,
                               " possible)");
  }
}

// Forward of rfft_modes on a tensor (unnormalised: times the factor c by the caller).
template <std::size_t D, class Rl, std::size_t R, class B>
Tensor<std::complex<Rl>, R, B> rfft_modes_raw(const Tensor<Rl, R, B>& x, const std::array<index_t, D>& K) {
  using C = std::complex<Rl>;
  const auto& xs = x.shape();
  Tensor<C, R, B> t;
  if (last_axis_by_gemm(xs[R - 1], K[D - 1])) {
    t = rdft_last(x, K[D - 1]);
  } else {
    t = r2c<1>(x, int(R - 1));
  }
  if (K[D - 1] < t.shape()[R - 1]) {
    auto c = resized_axis(t, int(R - 1), K[D - 1]);
    copy_mapped(c, t, int(R - 1), prefix_map(K[D - 1], K[D - 1]), true);
    t = c;
  }
  for (std::size_t s = D - 1; s-- > 0;) {  // non-last axes, innermost first: later axes compact
    const int a = int(R - D + s);
    t = c2c<1>(t, a, false);
    auto c = resized_axis(t, a, K[s]);
    copy_mapped(c, t, a, modes_read_map(xs[R - D + s], K[s]), true);
    t = c;
  }
  return t;
}

// Adjoint of rfft_modes_raw: modes gradient [B, C, K...] -> real gradient [B, C, N...].
template <std::size_t D, class Rl, std::size_t R, class B>
Tensor<Rl, R, B> rfft_modes_adjoint(const Tensor<std::complex<Rl>, R, B>& g, const Shape<R>& xs,
                                    const std::array<index_t, D>& K) {
  using C = std::complex<Rl>;
  Tensor<C, R, B> t = g;
  for (std::size_t s = 0; s + 1 < D; ++s) {
    const int a = int(R - D + s);
    auto full = resized_axis(t, a, xs[R - D + s]);
    copy_mapped(full, t, a, modes_read_map(xs[R - D + s], K[s]), false);
    t = c2c<1>(full, a, true);  // adjoint of the forward DFT: the unnormalised inverse
  }
  const index_t n_last = xs[R - 1], m = n_last / 2 + 1;
  if (last_axis_by_gemm(n_last, K[D - 1])) return rdft_last_adjoint(t, n_last);
  auto h = resized_axis(t, int(R - 1), m);
  copy_mapped(h, t, int(R - 1), prefix_map(K[D - 1], m), false);
  // Adjoint of r2c on real inputs: c2r with the bins it counts twice halved (see rfftn).
  const index_t twice = n_last - m;
  if (twice > 0) {
    auto v = h.slice(int(R - 1), 1, 1 + twice);
    v.assign(v * C(Rl(0.5)));
  }
  return c2r<1>(h, int(R - 1), n_last);
}

// Forward of irfft_modes (unnormalised).
template <std::size_t D, class Rl, std::size_t R, class B>
Tensor<Rl, R, B> irfft_modes_raw(const Tensor<std::complex<Rl>, R, B>& y, const std::array<index_t, D>& N,
                                 const std::array<index_t, D>& S, ModesPlacement p) {
  Tensor<std::complex<Rl>, R, B> t = y;
  for (std::size_t s = 0; s + 1 < D; ++s) {
    const int a = int(R - D + s);
    auto full = resized_axis(t, a, S[s]);
    copy_mapped(full, t, a, modes_write_map(N[s], y.shape()[R - D + s], S[s], p), false);
    t = c2c<1>(full, a, true);
  }
  const index_t k_last = y.shape()[R - 1], m = S[D - 1] / 2 + 1;
  if (p == ModesPlacement::exact) {  // NeuralOperator zeroes Im at bin 0 and at the input's last bin
    if (D == 1) t = t.clone();  // else t is already a fresh result
    zero_imag_bins(t, S[D - 1] % 2 == 0 ? N[D - 1] / 2 : -1);
  }
  if (last_axis_by_gemm(S[D - 1], k_last)) return irdft_last(t, S[D - 1]);
  auto h = resized_axis(t, int(R - 1), m);
  copy_mapped(h, t, int(R - 1), prefix_map(k_last, m), false);
  return c2r<1>(h, int(R - 1), S[D - 1]);
}

// Adjoint of irfft_modes_raw: real gradient [B, O, S...] -> modes gradient [B, O, K...].
template <std::size_t D, class Rl, std::size_t R, class B>
Tensor<std::complex<Rl>, R, B> irfft_modes_adjoint(const Tensor<Rl, R, B>& g, const std::array<index_t, D>& N,
                                                   const std::array<index_t, D>& K, ModesPlacement p) {
  const index_t s_last = g.shape()[R - 1];
  Tensor<std::complex<Rl>, R, B> t;
  if (last_axis_by_gemm(s_last, K[D - 1])) {
    t = irdft_last_adjoint(g, K[D - 1]);
  } else {
    auto G = r2c<1>(g, int(R - 1));
    double_inner_bins(G, int(R - 1), s_last);  // adjoint of c2r: see irfftn
    t = resized_axis(G, int(R - 1), K[D - 1]);
    copy_mapped(t, G, int(R - 1), prefix_map(K[D - 1], G.shape()[R - 1]), true);
  }
  if (p == ModesPlacement::exact) zero_imag_bins(t, s_last % 2 == 0 ? N[D - 1] / 2 : -1);
  for (std::size_t s = D - 1; s-- > 0;) {
    const int a = int(R - D + s);
    t = c2c<1>(t, a, false);
    auto c = resized_axis(t, a, K[s]);
    copy_mapped(c, t, a, modes_write_map(N[s], K[s], g.shape()[R - D + s], p), true);
    t = c;
  }
  return t;
}

}  // namespace detail

// The K[i] kept modes of each of the last D axes of x's real FFT (norm as torch's rfftn):
// out[..., j_1..j_D] = rfftn(x)[..., (j_1 - K_1/2) mod N_1, ..., j_D].
template <std::size_t D, class Rl, std::size_t R, class B>
  requires std::is_floating_point_v<Rl>
Var<std::complex<Rl>, R, B> rfft_modes(const Var<Rl, R, B>& x, const std::array<index_t, D>& K,
                                       FftNorm norm = FftNorm::backward) {
  static_assert(D >= 1 && D <= R);
  const Shape<R> xs = x.shape();
  std::array<index_t, D> n{};
  for (std::size_t i = 0; i < D; ++i) n[i] = xs[R - D + i];
  detail::check_modes<D>("rfft_modes", n, K);
  const double c = detail::fft_scale(norm, true, detail::product(n));
  auto y = detail::rfft_modes_raw<D>(x.value(), K);
  detail::scale_in_place(y, c);
  return record_op(
      "rfft_modes", std::move(y),
      [xs_slot = x.slot_ptr(), xs, K, c](const Tensor<std::complex<Rl>, R, B>& g) {
        auto gx = detail::rfft_modes_adjoint<D>(g, xs, K);
        detail::scale_in_place(gx, c);
        xs_slot->accumulate_grad(gx);
      },
      x);
}

// Real signal of sizes S from kept modes y [..., K...] of a spectrum of sizes N (the input grid):
// the modes are placed into a zero half spectrum of sizes [N_1.., N_D/2+1] as `placement` says,
// which is then resized to S and inverted (norm as torch's irfftn).
template <std::size_t D, class Rl, std::size_t R, class B>
Var<Rl, R, B> irfft_modes(const Var<std::complex<Rl>, R, B>& y, const std::array<index_t, D>& N,
                          const std::array<index_t, D>& S, FftNorm norm = FftNorm::backward,
                          ModesPlacement placement = ModesPlacement::neuralop) {
  static_assert(D >= 1 && D <= R);
  std::array<index_t, D> K{};
  for (std::size_t i = 0; i < D; ++i) {
    K[i] = y.shape()[R - D + i];
    if (S[i] < 1) throw_error<value_error>("irfft_modes: output size ", S[i], " on spatial axis ", i);
  }
  detail::check_modes<D>("irfft_modes", N, K);
  const double d = detail::fft_scale(norm, false, detail::product(S));
  auto out = detail::irfft_modes_raw<D>(y.value(), N, S, placement);
  detail::scale_in_place(out, d);
  return record_op(
      "irfft_modes", std::move(out),
      [ys = y.slot_ptr(), N, K, d, placement](const Tensor<Rl, R, B>& g) {
        auto gy = detail::irfft_modes_adjoint<D>(g, N, K, placement);
        detail::scale_in_place(gy, d);
        ys->accumulate_grad(gy);
      },
      y);
}

}  // namespace neuralop
