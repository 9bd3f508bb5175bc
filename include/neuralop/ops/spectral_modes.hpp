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
#pragma once

#include <array>
#include <vector>

#include "neuralop/ops/fft.hpp"

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
  Tensor<C, R, B> t = r2c<1>(x, int(R - 1));
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
  auto h = resized_axis(t, int(R - 1), m);
  copy_mapped(h, t, int(R - 1), prefix_map(k_last, m), false);
  return c2r<1>(h, int(R - 1), S[D - 1]);
}

// Adjoint of irfft_modes_raw: real gradient [B, O, S...] -> modes gradient [B, O, K...].
template <std::size_t D, class Rl, std::size_t R, class B>
Tensor<std::complex<Rl>, R, B> irfft_modes_adjoint(const Tensor<Rl, R, B>& g, const std::array<index_t, D>& N,
                                                   const std::array<index_t, D>& K, ModesPlacement p) {
  const index_t s_last = g.shape()[R - 1];
  auto G = r2c<1>(g, int(R - 1));
  double_inner_bins(G, int(R - 1), s_last);  // adjoint of c2r: see irfftn
  auto t = resized_axis(G, int(R - 1), K[D - 1]);
  copy_mapped(t, G, int(R - 1), prefix_map(K[D - 1], G.shape()[R - 1]), true);
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
