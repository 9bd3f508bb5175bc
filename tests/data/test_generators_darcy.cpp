// The Darcy flow generator: the GRF's statistics, the multigrid-CG solver's accuracy and
// robustness, and the generator's determinism, grids and option checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "neuralop/data/generators/darcy_generator.hpp"

namespace {

namespace gen = neuralop::data::generators;
using neuralop::index_t;
using neuralop::value_error;
constexpr double pi = std::numbers::pi;

// -div(a grad u) = f with a = 1 + sin(2 pi x) cos(3 pi y) / 2, u = sin(pi x) sin(2 pi y):
// f = 5 pi^2 a u - grad a . grad u.
struct Manufactured {
  std::vector<double> a, f, u;
  explicit Manufactured(int n) {
    const int m = n + 1;
    a.resize(std::size_t(m) * m), f.resize(a.size()), u.resize(a.size());
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        const double x = double(i) / n, y = double(j) / n;
        const std::size_t p = std::size_t(i) * m + j;
        const double A = 1 + 0.5 * std::sin(2 * pi * x) * std::cos(3 * pi * y);
        const double ax = pi * std::cos(2 * pi * x) * std::cos(3 * pi * y), ay = -1.5 * pi * std::sin(2 * pi * x) * std::sin(3 * pi * y);
        const double U = std::sin(pi * x) * std::sin(2 * pi * y);
        const double ux = pi * std::cos(pi * x) * std::sin(2 * pi * y), uy = 2 * pi * std::sin(pi * x) * std::cos(2 * pi * y);
        a[p] = A, u[p] = U, f[p] = 5 * pi * pi * A * U - (ax * ux + ay * uy);
      }
  }
};

// ||h^2 f - A u|| / ||h^2 f|| over the interior, A assembled here independently of the solver.
double true_relative_residual(int n, const std::vector<double>& a, const std::vector<double>& f, const std::vector<double>& u) {
  const int m = n + 1;
  const double h2 = 1.0 / (double(n) * n);
  double rr = 0, bb = 0;
  auto face = [&](std::size_t p, std::size_t q) { return 0.5 * (a[p] + a[q]); };
  for (int i = 1; i < n; ++i)
    for (int j = 1; j < n; ++j) {
      const std::size_t p = std::size_t(i) * m + j;
      double au = 0;
      for (std::size_t q : {p - m, p + m, p - 1, p + 1}) au += face(p, q) * (u[p] - u[q]);
      rr += (h2 * f[p] - au) * (h2 * f[p] - au);
      bb += h2 * f[p] * h2 * f[p];
    }
  return std::sqrt(rr / bb);
}

std::vector<double> threshold_coefficient(int n, std::uint64_t seed, std::uint64_t index, double hi, double lo) {
  gen::NeumannGrf2d g(n);
  std::vector<double> field(std::size_t(n + 1) * (n + 1));
  g.sample(seed, index, field);
  for (double& v : field) v = v >= 0 ? hi : lo;
  return field;
}

bool equal(const neuralop::Tensor<float, 3>& a, const neuralop::Tensor<float, 3>& b) {
  if (a.shape() != b.shape()) return false;
  for (index_t k = 0; k < a.numel(); ++k)
    if (a.data()[k] != b.data()[k]) return false;
  return true;
}

}  // namespace

TEST_SUITE("generators_darcy") {

TEST_CASE("darcy solver: manufactured solution converges at second order") {
  std::vector<double> err;
  for (int n : {16, 32, 64, 128}) {
    Manufactured ms(n);
    std::vector<double> u(ms.u.size());
    gen::DarcySolver solver(n);
    const auto st = solver.solve(ms.a, ms.f, u);
    CHECK(st.relative_residual <= 1e-10);
    CHECK(true_relative_residual(n, ms.a, ms.f, u) <= 2e-10);
    double e = 0;
    for (std::size_t p = 0; p < u.size(); ++p) e = std::max(e, std::abs(u[p] - ms.u[p]));
    err.push_back(e);
  }
  for (std::size_t k = 1; k < err.size(); ++k) {
    const double order = std::log2(err[k - 1] / err[k]);
    INFO("level ", k, ": errors ", err[k - 1], " -> ", err[k], ", order ", order);
    CHECK(order >= 1.8);
    CHECK(order <= 2.2);
  }
}

TEST_CASE("darcy solver: multigrid-CG meets the tolerance in a resolution-independent number of iterations") {
  std::vector<int> its;
  for (int n : {32, 64, 128, 256}) {
    const auto a = threshold_coefficient(n, 3, 0, 12, 3);
    const std::vector<double> f(a.size(), 1.0);
    std::vector<double> u(a.size());
    gen::DarcySolver solver(n);
    const auto st = solver.solve(a, f, u, {.tol = 1e-10});
    INFO("n = ", n, ": ", st.iterations, " iterations");
    CHECK(true_relative_residual(n, a, f, u) <= 2e-10);
    CHECK(st.iterations <= 20);
    its.push_back(st.iterations);
    // the maximum principle: f >= 0 and u = 0 on the boundary give u >= 0
    double umin = 0;
    for (double v : u) umin = std::min(umin, v);
    CHECK(umin >= -1e-12);
  }
  CHECK(*std::max_element(its.begin(), its.end()) - *std::min_element(its.begin(), its.end()) <= 3);

  // A 1000:1 contrast (the Galerkin coarse operators follow the jumps) and the harmonic face mean.
  const int n = 64;
  const auto a = threshold_coefficient(n, 5, 1, 1000, 1);
  const std::vector<double> f(a.size(), 1.0);
  std::vector<double> u(a.size()), uh(a.size());
  gen::DarcySolver solver(n);
  CHECK(solver.solve(a, f, u).iterations <= 30);
  const auto sh = solver.solve(a, f, uh, {.face_average = "harmonic"});
  CHECK(sh.iterations <= 30);
  CHECK(sh.relative_residual <= 1e-10);
  double diff = 0;
  for (std::size_t p = 0; p < u.size(); ++p) diff = std::max(diff, std::abs(u[p] - uh[p]));
  CHECK(diff > 1e-6);

  // Too few iterations is an error naming the cap; bad inputs are value errors.
  CHECK_THROWS_WITH_AS(solver.solve(a, f, u, {.max_iterations = 2}), doctest::Contains("max_iterations = 2"), neuralop::error);
  auto bad = a;
  bad[70] = -1;
  CHECK_THROWS_WITH_AS(solver.solve(bad, f, u), doctest::Contains("positive"), value_error);
  CHECK_THROWS_WITH_AS(solver.solve(a, f, u, {.face_average = "geometric"}), doctest::Contains("face_average"), value_error);
  CHECK_THROWS_WITH_AS(gen::DarcySolver(48), doctest::Contains("power of two"), value_error);
  // f = 0: u = 0 without iterating
  std::vector<double> zero(a.size(), 0.0);
  CHECK(solver.solve(a, zero, u).iterations == 0);
}

TEST_CASE("darcy GRF: zero mean, the spectral variance, a balanced threshold mask") {
  const int n = 32, m = n + 1, S = 2000;
  gen::NeumannGrf2d g(n);
  std::vector<double> field(std::size_t(m) * m);
  // trapezoid weights: the discrete cosines are orthogonal under them
  auto w = [&](int i) { return i == 0 || i == n ? 0.5 : 1.0; };
  double wsum = 0, expected = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) wsum += w(i) * w(j), expected += w(i) * w(j) * g.node_variance(i, j);
  expected /= wsum;
  // ... which makes the weighted mean of the variance the plain sum of the mode variances
  // c_k1^2 c_k2^2 lambda_k <cos^2> <cos^2> = lambda_k (1 or 2 at k = n).
  double spectral = 0;
  for (int k1 = 0; k1 <= n; ++k1)
    for (int k2 = 0; k2 <= n; ++k2)
      if (k1 || k2) spectral += std::pow(gen::grf_mode_stddev(k1, k2, {}), 2) * (k1 == n ? 2 : 1) * (k2 == n ? 2 : 1);
  CHECK(expected == doctest::Approx(spectral).epsilon(1e-9));

  double msq = 0, centre = 0, corner = 0, positive = 0;
  for (int s = 0; s < S; ++s) {
    g.sample(11, std::uint64_t(s), field);
    double wmean = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        const double v = field[std::size_t(i) * m + j];
        msq += w(i) * w(j) * v * v / wsum;
        wmean += w(i) * w(j) * v / wsum;
        positive += v >= 0;
      }
    CHECK(std::abs(wmean) < 1e-12);  // the constant mode is zero
    centre += field[std::size_t(n / 2) * m + n / 2];
    corner += field[0];
  }
  msq /= S;
  INFO("mean square ", msq, " expected ", expected);
  CHECK(msq == doctest::Approx(expected).epsilon(0.06));  // ~4 sampling standard errors
  CHECK(std::abs(centre / S) < 4 * std::sqrt(g.node_variance(n / 2, n / 2) / S));
  CHECK(std::abs(corner / S) < 4 * std::sqrt(g.node_variance(0, 0) / S));
  CHECK(positive / (double(S) * m * m) == doctest::Approx(0.5).epsilon(0.04));
}

TEST_CASE("darcy generator: deterministic, thread-count independent, batch = single samples") {
  gen::DarcyGeneratorOptions o;
  o.solve_resolution = 32;
  o.resolutions = {8, 16};
  auto& pool = neuralop::cpu_detail::ThreadPool::instance();
  const int prev = pool.num_threads();
  pool.set_num_threads(1);
  const auto one = gen::generate_darcy(5, o, 42);
  pool.set_num_threads(2);
  index_t calls = 0, last = 0;
  const auto two = gen::generate_darcy(5, o, 42, 0, [&](index_t done, index_t total) {
    ++calls;
    CHECK(done > last);
    CHECK(total == 5);
    last = done;
  });
  pool.set_num_threads(prev);
  CHECK(calls == 5);
  CHECK(last == 5);
  REQUIRE(one.size() == 2);
  CHECK(one[0].resolution == 8);
  CHECK(one[1].x.shape() == neuralop::Shape<3>{5, 16, 16});
  for (int r = 0; r < 2; ++r) {
    CHECK(equal(one[r].x, two[r].x));
    CHECK(equal(one[r].y, two[r].y));
  }
  // sample 3 alone is sample 3 of the batch
  const auto third = gen::generate_darcy(1, o, 42, 3);
  for (int k = 0; k < 16 * 16; ++k) {
    CHECK(third[1].x.data()[k] == one[1].x.data()[3 * 256 + k]);
    CHECK(third[1].y.data()[k] == one[1].y.data()[3 * 256 + k]);
  }
  // different samples and different seeds differ
  const auto other = gen::generate_darcy(5, o, 43);
  CHECK_FALSE(equal(one[1].y, other[1].y));
  int same = 0;
  for (int k = 0; k < 256; ++k) same += one[1].y.data()[k] == one[1].y.data()[256 + k];
  CHECK(same < 64);  // only the zero boundary row and column agree
  // the 8 x 8 output is the 16 x 16 one at stride 2; y is 0 on the first row and column only
  for (int s = 0; s < 5; ++s)
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) {
        CHECK(one[0].x.data()[s * 64 + i * 8 + j] == one[1].x.data()[s * 256 + 2 * i * 16 + 2 * j]);
        CHECK(one[0].y.data()[s * 64 + i * 8 + j] == one[1].y.data()[s * 256 + 2 * i * 16 + 2 * j]);
      }
  for (int k = 0; k < 16; ++k) {
    CHECK(one[1].y.data()[k] == 0.0f);
    CHECK(one[1].y.data()[k * 16] == 0.0f);
    if (k > 0) CHECK(one[1].y.data()[15 * 16 + k] > 0.0f);
    if (k > 0) CHECK(one[1].y.data()[k * 16 + 15] > 0.0f);
  }
  for (int k = 0; k < one[1].x.numel(); ++k) CHECK((one[1].x.data()[k] == 0.0f || one[1].x.data()[k] == 1.0f));

  // lognormal: x is the coefficient exp(GRF) > 0
  o.coefficient = "lognormal";
  const auto ln = gen::generate_darcy(2, o, 1);
  for (int k = 0; k < ln[1].x.numel(); ++k) CHECK(ln[1].x.data()[k] > 0.0f);
}

TEST_CASE("darcy generator: bad options name the option") {
  auto bad = [](auto edit, const char* what) {
    gen::DarcyGeneratorOptions o;
    o.solve_resolution = 32;
    edit(o);
    CHECK_THROWS_WITH_AS(gen::generate_darcy(1, o, 0), doctest::Contains(what), value_error);
  };
  bad([](auto& o) { o.resolutions = {0}; }, "resolutions");
  bad([](auto& o) { o.resolutions = {-16}; }, "resolutions");
  bad([](auto& o) { o.resolutions = {}; }, "resolutions");
  bad([](auto& o) { o.resolutions = {12}; }, "resolution 12 does not divide solve_resolution 32");
  bad([](auto& o) { o.solve_resolution = 48; }, "solve_resolution");
  bad([](auto& o) { o.solve_resolution = 0; }, "solve_resolution");
  bad([](auto& o) { o.alpha = 0; }, "alpha");
  bad([](auto& o) { o.tau = -1; }, "tau");
  bad([](auto& o) { o.coefficient = "uniform"; }, "coefficient");
  bad([](auto& o) { o.coeff_high = 0; }, "coeff_high");
  bad([](auto& o) { o.coeff_low = -3; }, "coeff_low");
  bad([](auto& o) { o.forcing = NAN; }, "forcing");
  bad([](auto& o) { o.face_average = "max"; }, "face_average");
  bad([](auto& o) { o.tol = 0; }, "tol");
  bad([](auto& o) { o.max_iterations = 0; }, "max_iterations");
  gen::DarcyGeneratorOptions o;
  o.solve_resolution = 32;
  CHECK_THROWS_WITH_AS(gen::generate_darcy(-1, o, 0), doctest::Contains("n_samples"), value_error);
  CHECK_THROWS_WITH_AS(gen::generate_darcy(0, o, 0), doctest::Contains("n_samples"), value_error);
  CHECK_THROWS_WITH_AS(gen::generate_darcy(1, o, 0, -2), doctest::Contains("first_sample"), value_error);
  CHECK_THROWS_WITH_AS(gen::NeumannGrf2d(0), doctest::Contains("n (cells per axis)"), value_error);
}

}  // TEST_SUITE
