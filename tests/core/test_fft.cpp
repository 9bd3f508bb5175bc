// FFT ops against a naive DFT written from torch.fft's definitions (norms, s, the real inverse's
// treatment of non-Hermitian input), fftshift as numpy's, and gradient checks of every op.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "../helpers.hpp"
#include "neuralop/base.hpp"
#include "neuralop/ops/fft.hpp"

using namespace neuralop;
using C = std::complex<double>;

namespace {

// Naive DFT along one axis of a row-major array with shape `shape`; sign -1 forward, +1 inverse.
// Output length `m` along the axis (input zero-padded/truncated at the end first when m != n, as
// torch's s does), all bins computed.
std::vector<C> dft_axis(const std::vector<C>& x, std::vector<index_t>& shape, std::size_t axis, int sign, index_t m) {
  index_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < axis; ++i) outer *= shape[i];
  for (std::size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  const index_t n = shape[axis];
  std::vector<C> y(std::size_t(outer * m * inner));
  for (index_t o = 0; o < outer; ++o)
    for (index_t k = 0; k < m; ++k)
      for (index_t i = 0; i < inner; ++i) {
        C acc = 0;
        for (index_t t = 0; t < std::min(n, m); ++t)
          acc += x[std::size_t((o * n + t) * inner + i)] *
                 std::polar(1.0, sign * 2 * std::numbers::pi * double(k * t) / double(m));
        y[std::size_t((o * m + k) * inner + i)] = acc;
      }
  shape[axis] = m;
  return y;
}
// torch's 1-D real inverse of a half spectrum X (bins along `axis`) to length n: the first n/2+1
// bins (zero-padded), Re of bin 0 and (even n) of bin n/2, the others counted twice.
std::vector<double> c2r_axis(const std::vector<C>& X, std::vector<index_t>& shape, std::size_t axis, index_t n) {
  index_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < axis; ++i) outer *= shape[i];
  for (std::size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  const index_t bins = shape[axis];
  std::vector<double> y(std::size_t(outer * n * inner));
  for (index_t o = 0; o < outer; ++o)
    for (index_t t = 0; t < n; ++t)
      for (index_t i = 0; i < inner; ++i) {
        auto bin = [&](index_t k) { return k < bins ? X[std::size_t((o * bins + k) * inner + i)] : C(0); };
        double acc = bin(0).real();
        for (index_t k = 1; k < (n + 1) / 2; ++k)
          acc += 2 * (bin(k) * std::polar(1.0, 2 * std::numbers::pi * double(k * t) / double(n))).real();
        if (n % 2 == 0) acc += bin(n / 2).real() * (t % 2 ? -1.0 : 1.0);
        y[std::size_t((o * n + t) * inner + i)] = acc;
      }
  shape[axis] = n;
  return y;
}

template <class T, std::size_t R>
std::vector<C> as_complex(const Tensor<T, R>& t) {
  std::vector<C> v;
  for (auto x : t.to_vector()) v.emplace_back(x);
  return v;
}
template <class A, class B>
double max_diff(const A& a, const B& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(C(a[i]) - C(b[i])));
  return m;
}

}  // namespace

TEST_CASE("rfftn over 1, 2 and 3 axes matches the naive DFT, every norm, odd and even sizes") {
  Generator gen(3);
  const auto x = Tensor<double, 4>::normal({2, 3, 5, 6}, 0, 1, gen);
  for (FftNorm norm : {FftNorm::backward, FftNorm::forward, FftNorm::ortho}) {
    CAPTURE(name(norm));
    {  // K = 1
      std::vector<index_t> s{2, 3, 5, 6};
      auto ref = dft_axis(as_complex(x), s, 3, -1, 6);
      const double c = detail::fft_scale(norm, true, 6);
      std::vector<C> half;
      for (std::size_t i = 0; i < ref.size(); ++i)
        if (index_t(i % 6) <= 3) half.push_back(c * ref[i]);
      CHECK(max_diff(rfftn<1>(x, norm).to_vector(), half) < 1e-12);
    }
    {  // K = 3
      std::vector<index_t> s{2, 3, 5, 6};
      auto ref = dft_axis(dft_axis(dft_axis(as_complex(x), s, 3, -1, 6), s, 2, -1, 5), s, 1, -1, 3);
      const double c = detail::fft_scale(norm, true, 90);
      std::vector<C> half;
      for (std::size_t i = 0; i < ref.size(); ++i)
        if (index_t(i % 6) <= 3) half.push_back(c * ref[i]);
      const auto y = rfftn<3>(x, norm);
      CHECK(y.shape() == Shape<4>{2, 3, 5, 4});
      CHECK(max_diff(y.to_vector(), half) < 1e-12);
    }
  }
}

TEST_CASE("irfftn with s: resizing at the end, non-Hermitian input read as torch reads it") {
  Generator gen(4);
  for (const auto& sizes : {std::pair<index_t, index_t>{4, 6}, {7, 5}, {3, 8}, {8, 9}}) {
    const index_t n0 = sizes.first, n1 = sizes.second;  // not a structured binding: CAPTURE is a lambda
    CAPTURE(n0);
    CAPTURE(n1);
    // A random (not Hermitian) half spectrum of a 5 x 7 grid, read back on an n0 x n1 grid.
    const auto X = Tensor<C, 3>::normal({2, 5, 4}, 0, 1, gen);
    for (FftNorm norm : {FftNorm::backward, FftNorm::forward, FftNorm::ortho}) {
      std::vector<index_t> s{2, 5, 4};
      auto z = dft_axis(X.to_vector(), s, 1, +1, n0);  // complex inverse over the first axis
      auto ref = c2r_axis(z, s, 2, n1);
      const double d = detail::fft_scale(norm, false, n0 * n1);
      for (auto& v : ref) v *= d;
      const auto y = irfftn<2>(X, {n0, n1}, norm);
      CHECK(y.shape() == Shape<3>{2, n0, n1});
      CHECK(max_diff(y.to_vector(), ref) < 1e-12);
    }
  }
  const auto x = Tensor<double, 3>::normal({2, 6, 7}, 0, 1, gen);
  CHECK(max_diff(irfftn<2>(rfftn<2>(x, FftNorm::forward), {6, 7}, FftNorm::forward).to_vector(), x.to_vector()) < 1e-13);
  const auto xf = Tensor<float, 2>::normal({3, 16}, 0, 1, gen);
  CHECK(max_diff(irfftn<1>(rfftn<1>(xf), {16}).to_vector(), xf.to_vector()) < 1e-5);
}

TEST_CASE("fftn / ifftn over middle axes, with s, and unaligned data") {
  Generator gen(5);
  const auto x = Tensor<C, 4>::normal({2, 3, 4, 5}, 0, 1, gen);
  std::vector<index_t> s{2, 3, 4, 5};
  auto ref = dft_axis(dft_axis(x.to_vector(), s, 1, -1, 3), s, 2, -1, 6);  // axes 1, 2; axis 2 padded to 6
  const auto y = fftn<2>(x, FftNorm::backward, 1, std::array<index_t, 2>{3, 6});
  CHECK(y.shape() == Shape<4>{2, 3, 6, 5});
  CHECK(max_diff(y.to_vector(), ref) < 1e-12);
  CHECK(max_diff(ifftn<2>(fftn<2>(x, FftNorm::ortho, 1), FftNorm::ortho, 1).to_vector(), x.to_vector()) < 1e-13);
  // Row 1 of a [3, 7] tensor starts 7 floats in: not 16-byte aligned, so FFTW runs an unaligned plan.
  const auto base = Tensor<float, 2>::normal({3, 7}, 0, 1, gen);
  const Tensor<float, 1> row = base[1];
  const Tensor<float, 1> copy = row.clone();
  CHECK(max_diff(rfftn<1>(row).to_vector(), rfftn<1>(copy).to_vector()) == 0.0);
}

TEST_CASE("fftshift / ifftshift roll as numpy's") {
  const auto x = Tensor<double, 2>::from_data({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(fftshift(x, 1, 1).to_vector() == std::vector<double>{3, 4, 0, 1, 2, 8, 9, 5, 6, 7});
  CHECK(ifftshift(x, 1, 1).to_vector() == std::vector<double>{2, 3, 4, 0, 1, 7, 8, 9, 5, 6});
  CHECK(fftshift(x, 0, 2).to_vector() == std::vector<double>{8, 9, 5, 6, 7, 3, 4, 0, 1, 2});
  CHECK(ifftshift(fftshift(x, 0, 2), 0, 2).to_vector() == x.to_vector());
  CHECK_THROWS_AS((void)fftshift(x, 1, 2), shape_error);
}

TEST_CASE("FFT results do not depend on the thread count") {
  Generator gen(6);
  const auto x = Tensor<float, 4>::normal({8, 4, 16, 16}, 0, 1, gen);
  std::vector<std::complex<float>> one, two;
  test::with_threads(1, [&] { one = rfftn<2>(x).to_vector(); });
  test::with_threads(2, [&] { two = rfftn<2>(x).to_vector(); });
  double m = 0;
  for (std::size_t i = 0; i < one.size(); ++i) m = std::max(m, double(std::abs(one[i] - two[i])));
  CHECK(m < 1e-5);
}

TEST_CASE("gradients of the FFT ops (gradcheck), every norm") {
  Generator gen(7);
  for (FftNorm norm : {FftNorm::backward, FftNorm::forward, FftNorm::ortho}) {
    CAPTURE(name(norm));
    Var<double, 3> x(Tensor<double, 3>::normal({2, 3, 4}, 0, 1, gen), true);
    Var<double, 3> xo(Tensor<double, 3>::normal({2, 3, 5}, 0, 1, gen), true);
    GRADCHECK([&](auto& v) { return rfftn<1>(v, norm); }, x);
    GRADCHECK([&](auto& v) { return rfftn<2>(v, norm); }, x);
    GRADCHECK([&](auto& v) { return rfftn<2>(v, norm); }, xo);
    GRADCHECK([&](auto& v) { return rfftn<3>(v, norm); }, xo);
    Var<C, 3> X(Tensor<C, 3>::normal({2, 3, 3}, 0, 1, gen), true);
    GRADCHECK([&](auto& v) { return irfftn<2>(v, {3, 4}, norm); }, X);  // even last, DC/Nyquist imag ignored
    GRADCHECK([&](auto& v) { return irfftn<2>(v, {3, 5}, norm); }, X);  // odd last
    GRADCHECK([&](auto& v) { return irfftn<2>(v, {5, 8}, norm); }, X);  // zero-padded
    GRADCHECK([&](auto& v) { return irfftn<2>(v, {2, 2}, norm); }, X);  // truncated
    GRADCHECK([&](auto& v) { return irfftn<1>(v, {4}, norm); }, X);
    Var<C, 4> z(Tensor<C, 4>::normal({2, 3, 4, 2}, 0, 1, gen), true);
    GRADCHECK([&](auto& v) { return fftn<2>(v, norm, 1); }, z);
    GRADCHECK([&](auto& v) { return ifftn<2>(v, norm, 1, std::array<index_t, 2>{2, 6}); }, z);
    GRADCHECK([&](auto& v) { return ifftn<1>(v, norm); }, z);
  }
  Var<C, 3> w(Tensor<C, 3>::normal({2, 3, 5}, 0, 1, gen), true);
  GRADCHECK([](auto& v) { return fftshift(v, 1, 2); }, w);
  GRADCHECK([](auto& v) { return ifftshift(v, 1, 2); }, w);
}

TEST_CASE("FFT argument errors") {
  const Tensor<double, 2> x({2, 4});
  CHECK_THROWS_AS((void)irfftn<1>(rfftn<1>(x), {0}), value_error);
  CHECK_THROWS_AS((void)fftn<1>(Tensor<C, 2>({2, 4}), FftNorm::backward, 2), shape_error);
  auto msg = test::error_message<value_error>([] { (void)fft_norm("none"); });
  CHECK(msg.find("'none'") != std::string::npos);
}
