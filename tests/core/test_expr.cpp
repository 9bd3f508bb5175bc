// Elementwise expressions: every op's forward value against the C++ standard library, in float
// (SIMD packets plus scalar tails) and double; broadcasting, scalars, complex, strided operands.
#include <cmath>
#include <functional>

#include "../helpers.hpp"

using namespace neuralop;

namespace {

// 1003 elements: not a multiple of any packet width, so both vector and tail paths run.
template <class T>
Tensor<T, 1> sample(T lo, T hi, index_t n = 1003, std::uint64_t seed = 3) {
  Generator g(seed);
  return Tensor<T, 1>::uniform({n}, lo, hi, g);
}

double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double softplus_ref(double x, double beta = 1, double th = 20) {
  return beta * x > th ? x : std::log1p(std::exp(beta * x)) / beta;
}

template <class T, class Expr, class Ref>
void check_unary(const char* name, Expr&& make, Ref&& ref, T lo, T hi, double tol) {
  const auto x = sample<T>(lo, hi);
  const Tensor<T, 1> y = make(x);
  const auto xv = x.to_vector(), yv = y.to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const double r = ref(static_cast<double>(xv[i]));
    worst = std::max(worst, std::abs(double(yv[i]) - r) / std::max(1.0, std::abs(r)));
  }
  INFO(name << " (" << dtype_name<T>() << "): max error " << worst);
  CHECK(worst <= tol);
}

}  // namespace

TEST_CASE_TEMPLATE("unary ops match the standard library", T, float, double) {
  const double tol = std::is_same_v<T, float> ? 4e-6 : 1e-14;
  check_unary<T>("exp", [](auto& x) { return exp(x); }, [](double v) { return std::exp(v); }, T(-20), T(20), tol);
  check_unary<T>("log", [](auto& x) { return log(x); }, [](double v) { return std::log(v); }, T(1e-3), T(50), tol);
  check_unary<T>("sqrt", [](auto& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); }, T(0), T(50), tol);
  check_unary<T>("abs", [](auto& x) { return abs(x); }, [](double v) { return std::abs(v); }, T(-5), T(5), 0.0);
  check_unary<T>("square", [](auto& x) { return square(x); }, [](double v) { return v * v; }, T(-5), T(5), tol);
  check_unary<T>("neg", [](auto& x) { return -x; }, [](double v) { return -v; }, T(-5), T(5), 0.0);
  check_unary<T>("tanh", [](auto& x) { return tanh(x); }, [](double v) { return std::tanh(v); }, T(-10), T(10), tol);
  check_unary<T>("sigmoid", [](auto& x) { return sigmoid(x); }, [](double v) { return 1 / (1 + std::exp(-v)); }, T(-30),
                 T(30), tol);
  check_unary<T>("relu", [](auto& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; }, T(-5), T(5), 0.0);
  check_unary<T>("gelu", [](auto& x) { return gelu(x); }, gelu_ref, T(-8), T(8), tol);
  check_unary<T>("silu", [](auto& x) { return silu(x); }, [](double v) { return v / (1 + std::exp(-v)); }, T(-30), T(30),
                 tol);
  check_unary<T>("softplus", [](auto& x) { return softplus(x); }, [](double v) { return softplus_ref(v); }, T(-30),
                 T(30), tol);
  check_unary<T>("softplus(beta 2, threshold 5)", [](auto& x) { return softplus(x, 2.0, 5.0); },
                 [](double v) { return softplus_ref(v, 2, 5); }, T(-10), T(10), tol);
  check_unary<T>("pow 2.5", [](auto& x) { return pow(x, 2.5); }, [](double v) { return std::pow(v, 2.5); }, T(0),
                 T(4), tol);
  check_unary<T>("abs2", [](auto& x) { return abs2(x); }, [](double v) { return v * v; }, T(-3), T(3), tol);
  check_unary<T>("cast", [](auto& x) { return cast<T>(x * T(2)); }, [](double v) { return 2 * v; }, T(-3), T(3), tol);
}

TEST_CASE("gelu is the exact erf form, not the tanh approximation") {
  // At x = 1 the erf form gives 0.8413447460685429, tanh-approx 0.8411919906082768.
  auto x = Tensor<double, 1>::from_data({1}, {1.0});
  CHECK(Tensor<double, 1>(gelu(x)).item() == doctest::Approx(0.8413447460685429).epsilon(1e-15));
  auto xf = Tensor<float, 1>::from_data({1}, {1.f});
  CHECK(std::abs(Tensor<float, 1>(gelu(xf)).item() - 0.8413447460685429) < 2e-7);
}

TEST_CASE("relu propagates NaN and binary arithmetic follows IEEE") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto x = Tensor<float, 1>::from_data({3}, {nan, -1.f, 2.f});
  const auto r = Tensor<float, 1>(relu(x)).to_vector();
  CHECK(std::isnan(r[0]));
  CHECK(r[1] == 0.f);
  CHECK(r[2] == 2.f);
}

TEST_CASE_TEMPLATE("binary ops, scalars on either side, fused trees", T, float, double) {
  const auto a = sample<T>(T(-3), T(3), 1003, 1), b = sample<T>(T(0.5), T(3), 1003, 2);
  const Tensor<T, 1> y = (a + b) * (a - b) / b + T(2) * a - T(1) / b + pow(b, a);
  const auto av = a.to_vector(), bv = b.to_vector(), yv = y.to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < av.size(); ++i) {
    const double x = av[i], z = bv[i];
    const double r = (x + z) * (x - z) / z + 2 * x - 1 / z + std::pow(z, x);
    worst = std::max(worst, std::abs(yv[i] - r) / std::max(1.0, std::abs(r)));
  }
  CHECK(worst < (std::is_same_v<T, float> ? 1e-5 : 1e-13));
}

TEST_CASE("broadcasting: channel bias, lower-rank operands, stretched axes on both sides") {
  Generator g(5);
  const auto x = Tensor<float, 4>::normal({3, 4, 5, 7}, 0.f, 1.f, g);
  const auto bias = Tensor<float, 3>::normal({4, 1, 1}, 0.f, 1.f, g);
  const auto row = Tensor<float, 1>::normal({7}, 0.f, 1.f, g);
  const Tensor<float, 4> y = x * bias + row;
  for (index_t n = 0; n < 3; ++n)
    for (index_t c = 0; c < 4; ++c)
      for (index_t h = 0; h < 5; ++h)
        for (index_t w = 0; w < 7; ++w)
          CHECK(y.at(n, c, h, w) == doctest::Approx(x.at(n, c, h, w) * bias.at(c, 0, 0) + row.at(w)).epsilon(1e-6));
  const auto col = Tensor<double, 2>::from_data({3, 1}, {1, 2, 3});
  const auto r = Tensor<double, 2>::from_data({1, 4}, {10, 20, 30, 40});
  const Tensor<double, 2> outer = col * r;
  CHECK(outer.shape() == Shape<2>{3, 4});
  CHECK(outer.at(2, 3) == 120.0);
  auto msg = test::error_message<shape_error>([&] { Tensor<float, 4> bad = x + Tensor<float, 1>({5}); });
  CHECK(msg.find("add") != std::string::npos);
  CHECK(msg.find("[5]") != std::string::npos);
}

TEST_CASE("strided views are read and written in fused expressions") {
  auto t = Tensor<float, 2>::from_data({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Tensor<float, 2> y = exp(t.slice(1, 0, 2)) * t.slice(1, 2, 4);
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 2; ++j)
      CHECK(y.at(i, j) == doctest::Approx(std::exp(t.at(i, j)) * t.at(i, j + 2)));
  // a permuted (transposed) view as an operand
  TensorView<const float, 2> tt(t.storage(), t.data(), {4, 3}, {1, 4});
  const Tensor<float, 2> tr = tt + 0.f;
  CHECK(tr.at(3, 2) == 11.f);
  CHECK(tr.at(1, 0) == 1.f);
}

TEST_CASE("complex elementwise: arithmetic, conj, real, imag, abs, abs2, exp, log, sqrt") {
  using C = std::complex<double>;
  auto z = Tensor<C, 1>::from_data({3}, {C(1, 2), C(-3, 0.5), C(0.25, -4)});
  auto w = Tensor<C, 1>::from_data({3}, {C(0.5, -1), C(2, 2), C(-1, 0)});
  const Tensor<C, 1> y = z * w / (conj(z) + C(0, 1)) + exp(z) - log(w) + sqrt(z) * 2.0;
  const auto zv = z.to_vector(), wv = w.to_vector(), yv = y.to_vector();
  for (int i = 0; i < 3; ++i) {
    const C r = zv[i] * wv[i] / (std::conj(zv[i]) + C(0, 1)) + std::exp(zv[i]) - std::log(wv[i]) + std::sqrt(zv[i]) * 2.0;
    CHECK(std::abs(yv[i] - r) < 1e-12);
  }
  const Tensor<double, 1> parts = real(z) * 100.0 + imag(z) + abs(z) * 0.0 + abs2(z) * 0.0;
  CHECK(parts.at(1) == -299.5);
  CHECK(Tensor<double, 1>(abs(z)).at(0) == doctest::Approx(std::sqrt(5.0)));
  CHECK(Tensor<double, 1>(abs2(z)).at(2) == doctest::Approx(16.0625));
  const Tensor<std::complex<float>, 1> promoted = cast<std::complex<float>>(Tensor<float, 1>({2}, 3.f));
  CHECK(promoted.at(1) == std::complex<float>(3.f, 0.f));
}

TEST_CASE("rank-0 tensors and scalars broadcast anywhere") {
  Tensor<float, 0> s({}, 2.f);
  Tensor<float, 2> t({2, 3}, 1.f);
  const Tensor<float, 2> y = t * s + 1.f;
  for (float v : y.to_vector()) CHECK(v == 3.f);
  const Tensor<float, 0> z = s * s;
  CHECK(z.item() == 4.f);
}

TEST_CASE("large fused expression gives identical results for any thread count") {
  Generator g(9);
  const auto x = Tensor<float, 4>::normal({4, 8, 33, 65}, 0.f, 1.f, g);
  const auto b = Tensor<float, 3>::normal({8, 1, 1}, 0.f, 1.f, g);
  std::vector<float> r1, r3;
  test::with_threads(1, [&] { r1 = Tensor<float, 4>(gelu(x * 0.7f + b) * tanh(x)).to_vector(); });
  test::with_threads(3, [&] { r3 = Tensor<float, 4>(gelu(x * 0.7f + b) * tanh(x)).to_vector(); });
  CHECK(r1 == r3);
}
