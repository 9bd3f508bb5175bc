// rfft_modes / irfft_modes (the pruned transforms of SpectralConv; last axis by FFT and by GEMM)
// against the unpruned composition of rfftn, fftshift, slice, pad, irfftn (itself checked against a naive DFT and, in
// tests/nn, against NeuralOperator): values and gradients in double, for 1-3 axes, even and odd
// sizes, all modes or a few, output sizes larger and smaller than the input, every norm.
#include <doctest/doctest.h>

#include <array>
#include <complex>

#include "../helpers.hpp"
#include "neuralop/base.hpp"
#include "neuralop/ops/spectral_modes.hpp"

using namespace neuralop;

namespace {

template <std::size_t D, std::size_t R = D + 2>
Var<std::complex<double>, R> ref_rfft_modes(const Var<double, R>& x, const std::array<index_t, D>& K, FftNorm norm) {
  auto X = rfftn<D>(x, norm);
  if constexpr (D > 1) X = fftshift(X, 2, int(D - 1));
  for (std::size_t i = 0; i < D; ++i) {
    const int ax = int(i + 2);
    if (i + 1 < D) {
      const index_t c = X.shape()[i + 2] / 2;
      X = slice(X, ax, c - K[i] / 2, c - K[i] / 2 + K[i]);
    } else {
      X = slice(X, ax, 0, K[i]);
    }
  }
  return X;
}

template <std::size_t D, std::size_t R = D + 2>
Var<double, R> ref_irfft_modes(Var<std::complex<double>, R> Y, const std::array<index_t, D>& N,
                               const std::array<index_t, D>& S, FftNorm norm, ModesPlacement p) {
  Pads<R> pads{};
  for (std::size_t i = 0; i < D; ++i) {
    const index_t fft = i + 1 < D ? N[i] : N[i] / 2 + 1, k = Y.shape()[i + 2];
    const index_t before = i + 1 < D ? fft / 2 - k / 2 : 0;
    pads[i + 2] = {before, fft - k - before};
  }
  Y = pad(Y, pads);
  if (p == ModesPlacement::neuralop) {
    if constexpr (D > 1) Y = fftshift(Y, 2, int(D - 1));
    return irfftn<D>(Y, S, norm);
  }
  if constexpr (D > 1) {
    Y = ifftshift(Y, 2, int(D - 1));
    std::array<index_t, D - 1> s0{};
    for (std::size_t i = 0; i + 1 < D; ++i) s0[i] = S[i];
    Y = ifftn<D - 1>(Y, norm, 2, s0);
  }
  // Im = 0 at bin 0 and, for even S_last, at the last bin of the input-sized half spectrum.
  auto keep_real = [&](index_t b) {
    Tensor<std::complex<double>, R> mask(Y.shape(), std::complex<double>(1, 0));
    auto bin = mask.slice(int(R - 1), b, b + 1);
    bin.assign(bin * std::complex<double>(0, 0));
    // Y - i Im(Y) * (1 - mask) == Re at b, Y elsewhere: written with a real-linear map.
    Var<std::complex<double>, R> keep = Y * mask;
    Var<std::complex<double>, R> at_b = Y - keep;
    Y = keep + (at_b + conj(at_b)) * std::complex<double>(0.5);
  };
  keep_real(0);
  if (S[D - 1] % 2 == 0) keep_real(Y.shape()[R - 1] - 1);
  return irfftn<1>(Y, {S[D - 1]}, norm);
}

template <std::size_t D>
void check(const std::array<index_t, D>& N, const std::array<index_t, D>& K, const std::array<index_t, D>& S, FftNorm norm,
           ModesPlacement p) {
  constexpr std::size_t R = D + 2;
  CAPTURE(N);
  CAPTURE(K);
  CAPTURE(S);
  CAPTURE(name(norm));
  CAPTURE(int(p));
  Shape<R> xs{2, 3};
  for (std::size_t i = 0; i < D; ++i) xs[i + 2] = N[i];
  Generator gen(17);
  const auto x0 = Tensor<double, R>::normal(xs, 0, 1, gen);
  // Forward transform.
  Var<double, R> x1(x0.clone(), true), x2(x0.clone(), true);
  const auto a = rfft_modes<D>(x1, K, norm);
  const auto b = ref_rfft_modes<D>(x2, K, norm);
  REQUIRE(a.shape() == b.shape());
  CHECK(test::rel_l2(a.value().to_vector(), b.value().to_vector()) < 1e-13);
  const auto ga = Tensor<std::complex<double>, R>::normal(a.shape(), 0, 1, gen);
  a.backward(ga);
  b.backward(ga);
  CHECK(test::rel_l2(x1.grad().to_vector(), x2.grad().to_vector()) < 1e-13);
  // Inverse transform.
  Shape<R> ys = a.shape();
  Var<std::complex<double>, R> y1(Tensor<std::complex<double>, R>::normal(ys, 0, 1, gen), true);
  Var<std::complex<double>, R> y2(y1.value().clone(), true);
  const auto u = irfft_modes<D>(y1, N, S, norm, p);
  const auto v = ref_irfft_modes<D>(y2, N, S, norm, p);
  REQUIRE(u.shape() == v.shape());
  CHECK(test::rel_l2(u.value().to_vector(), v.value().to_vector()) < 1e-13);
  const auto gu = Tensor<double, R>::normal(u.shape(), 0, 1, gen);
  u.backward(gu);
  v.backward(gu);
  CHECK(test::rel_l2(y1.grad().to_vector(), y2.grad().to_vector()) < 1e-13);
}

// Every case runs with the last axis transformed by FFT and by GEMM.
template <std::size_t D>
void check_all(const std::array<index_t, D>& N, const std::array<index_t, D>& K, const std::array<index_t, D>& S) {
  for (auto dft : {LastAxisDft::fft, LastAxisDft::gemm}) {
    CAPTURE(int(dft));
    last_axis_dft() = dft;
    for (auto p : {ModesPlacement::neuralop, ModesPlacement::exact}) check<D>(N, K, S, FftNorm::forward, p);
    check<D>(N, K, S, FftNorm::backward, ModesPlacement::neuralop);
    check<D>(N, K, S, FftNorm::ortho, ModesPlacement::exact);
  }
  last_axis_dft() = LastAxisDft::automatic;
}

}  // namespace

TEST_CASE("rfft_modes and irfft_modes equal the unpruned transforms, 1 axis") {
  check_all<1>({16}, {5}, {16});
  check_all<1>({16}, {9}, {24});  // all modes, upsampled
  check_all<1>({15}, {8}, {10});  // odd, all modes, downsampled past them
  check_all<1>({9}, {3}, {9});
}

TEST_CASE("rfft_modes and irfft_modes equal the unpruned transforms, 2 axes") {
  check_all<2>({12, 10}, {6, 4}, {12, 10});
  check_all<2>({12, 10}, {5, 3}, {16, 14});
  check_all<2>({12, 10}, {6, 4}, {9, 7});
  check_all<2>({11, 9}, {5, 5}, {11, 9});   // odd sizes: neuralop's placement is off by one there
  check_all<2>({8, 8}, {8, 5}, {8, 8});     // every mode kept
  check_all<2>({7, 6}, {7, 4}, {13, 12});
}

TEST_CASE("rfft_modes and irfft_modes equal the unpruned transforms, 3 axes") {
  check_all<3>({8, 6, 10}, {4, 3, 3}, {8, 6, 10});
  check_all<3>({8, 7, 10}, {5, 7, 6}, {10, 6, 8});
}

TEST_CASE("rfft_modes and irfft_modes reject modes the grid does not have") {
  Var<double, 4> x(Tensor<double, 4>::normal({1, 1, 8, 8}));
  auto msg = test::error_message<shape_error>([&] { rfft_modes<2>(x, {9, 3}); });
  CHECK(msg.find("9 modes kept on spatial axis 0 of size 8") != std::string::npos);
  msg = test::error_message<shape_error>([&] { rfft_modes<2>(x, {4, 6}); });
  CHECK(msg.find("(1 to 5 possible)") != std::string::npos);
  Var<std::complex<double>, 4> y(Tensor<std::complex<double>, 4>::normal({1, 1, 4, 3}));
  msg = test::error_message<value_error>([&] { irfft_modes<2>(y, {8, 8}, {8, 0}); });
  CHECK(msg.find("output size 0") != std::string::npos);
}
