// The periodic generators: GRF statistics, Burgers against Cole-Hopf, Navier-Stokes against
// Taylor-Green, and the reproducibility of the generated batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "neuralop/data/generators/burgers_generator.hpp"
#include "neuralop/data/generators/navier_stokes_generator.hpp"
#include "neuralop/data/generators/periodic_grf.hpp"

namespace gen = neuralop::data::generators;
using neuralop::index_t;

namespace {

// Approx(...).scale(0) below: doctest's default scale 1 would make small tolerances absolute.

// Restores the pool's thread count after a test changes it.
struct ThreadCountGuard {
  int saved = neuralop::cpu_detail::ThreadPool::instance().num_threads();
  ~ThreadCountGuard() { neuralop::cpu_detail::ThreadPool::instance().set_num_threads(saved); }
};

template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const neuralop::value_error& e) {
    return e.what();
  }
  return "(no value_error thrown)";
}

// Pointwise variance of fields [n_samples][points], pooled over points (the law is stationary).
double pooled_variance(const std::vector<std::vector<double>>& fields) {
  double sum = 0.0, count = 0.0;
  for (const auto& f : fields)
    for (double v : f) {
      sum += v * v;
      count += 1.0;
    }
  return sum / count;
}

// Cole-Hopf: phi = 1 + a exp(-nu k^2 t) cos(k x) solves phi_t = nu phi_xx and stays positive for
// a < 1, so u = -2 nu phi_x / phi solves u_t + u u_x = nu u_xx exactly (k = 2 pi).
double cole_hopf(double x, double t, double nu, double a) {
  const double k = gen::two_pi, e = a * std::exp(-nu * k * k * t);
  return 2.0 * nu * k * e * std::sin(k * x) / (1.0 + e * std::cos(k * x));
}

double burgers_cole_hopf_error(int n, double dt, double nu = 0.1, double a = 0.9, double t_final = 0.5) {
  const auto [steps, h] = gen::detail::steps_for(t_final, dt);
  gen::BurgersSolver1d solver(n, nu, h);
  std::vector<double> u(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) u[std::size_t(j)] = cole_hopf(double(j) / n, 0.0, nu, a);
  solver.set_solution(u.data());
  solver.advance(steps);
  solver.solution(u.data());
  CHECK(std::abs(solver.coefficients()[0]) < 1e-15);  // the mean, zero for u = -2 nu (log phi)_x, is kept
  double err = 0.0;
  for (int j = 0; j < n; ++j) err = std::max(err, std::abs(u[std::size_t(j)] - cole_hopf(double(j) / n, t_final, nu, a)));
  return err;
}

gen::BurgersGeneratorOptions small_burgers() {
  gen::BurgersGeneratorOptions o;
  o.resolution = 16;
  o.solve_resolution = 64;
  o.t_final = 0.25;
  o.n_time_out = 5;
  o.dt = 5e-3;
  return o;
}

// Taylor-Green: psi = cos(k1 x) cos(k2 y) / |k|^2, w = -Laplacian psi = |k|^2 psi has u . grad w = 0,
// so w decays as exp(-nu |k|^2 t) exactly (k = 2 pi (1, 2)). Returns the max error, |w(0)| = 1.
double taylor_green_error(int n, double dt, gen::NavierStokesScheme scheme, double nu = 0.01, double t_final = 1.0) {
  const auto [steps, h] = gen::detail::steps_for(t_final, dt);
  gen::NavierStokes2dSolver solver(n, nu, h, 0.0, scheme);
  const double k1 = gen::two_pi, k2 = 2.0 * gen::two_pi, decay = std::exp(-nu * (k1 * k1 + k2 * k2) * t_final);
  std::vector<double> w0(std::size_t(n * n)), w(std::size_t(n * n));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) w0[std::size_t(i * n + j)] = std::cos(k1 * i / n) * std::cos(k2 * j / n);
  solver.set_vorticity(w0.data());
  solver.advance(steps);
  solver.vorticity(w.data());
  double err = 0.0;
  for (std::size_t p = 0; p < w.size(); ++p) err = std::max(err, std::abs(w[p] - decay * w0[p]));
  return err;
}

// The forced flow from 20 x the GaussianRF vorticity (max|w| ~ 8, so advection matters) on 32^2.
std::vector<double> forced_flow(double dt, gen::NavierStokesScheme scheme, double t_final = 0.1) {
  const int n = 32;
  const auto [steps, h] = gen::detail::steps_for(t_final, dt);
  gen::NavierStokes2dSolver solver(n, 0.01, h, 0.1, scheme);
  std::vector<std::complex<double>> hat(std::size_t(n * (n / 2 + 1)));
  gen::periodic_grf_2d_coefficients(hat.data(), n, {}, 1, 0);
  for (auto& c : hat) c *= 20.0;
  solver.set_coefficients(hat.data());
  solver.advance(steps);
  CHECK(std::abs(solver.mean_vorticity()) < 1e-15);
  std::vector<double> w(std::size_t(n * n));
  solver.vorticity(w.data());
  return w;
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

gen::NavierStokesGeneratorOptions small_navier_stokes() {
  gen::NavierStokesGeneratorOptions o;
  o.resolution = 8;
  o.solve_resolution = 32;
  o.t_final = 0.5;
  o.dt = 1e-2;
  o.record_steps = 4;
  return o;
}

}  // namespace

TEST_CASE("periodic grf 1d: pointwise variance matches the spectral sum, mean zero") {
  gen::PeriodicGrf1dOptions o;  // gamma 2.5, tau 7, sigma 49 (gen_burgers.m)
  const int n = 64, samples = 4000;
  std::vector<std::vector<double>> fields;
  double mean = 0.0;
  for (int i = 0; i < samples; ++i) {
    fields.push_back(gen::periodic_grf_1d(n, o, 11, std::uint64_t(i)));
    for (double v : fields.back()) mean += v / (double(n) * samples);
  }
  const double expected = gen::periodic_grf_1d_variance(n, o);
  // 2 sigma^2 sum_k ((2 pi k)^2 + 49)^-2.5: 0.0751 for sigma = 49, mostly from k = 1.
  CHECK(expected == doctest::Approx(0.07513).epsilon(1e-3).scale(0));
  MESSAGE("1-d GRF variance: sampled ", pooled_variance(fields), ", spectral sum ", expected);
  // ~2 degrees of freedom per sample dominate: relative standard error ~ 1/sqrt(samples) ~ 1.6 %.
  CHECK(pooled_variance(fields) == doctest::Approx(expected).epsilon(0.06).scale(0));
  CHECK(std::abs(mean) < 4.0 * std::sqrt(expected / samples));
}

TEST_CASE("periodic grf 2d: pointwise variance matches the spectral sum of GaussianRF") {
  gen::PeriodicGrf2dOptions o;  // alpha 2.5, tau 7, sigma = 7^1.5 (ns_2d.py)
  CHECK(o.sigma_value() == doctest::Approx(std::pow(7.0, 1.5)));
  const int n = 32, samples = 1000;
  std::vector<std::vector<double>> fields;
  for (int i = 0; i < samples; ++i) fields.push_back(gen::periodic_grf_2d(n, o, 5, std::uint64_t(i)));
  // GaussianRF's own sum, sum_{k != 0} (sqrt(2) sigma lambda^(-alpha/2))^2 over the kept modes.
  double fno = 0.0;
  for (int k1 = -n / 2 + 1; k1 < n / 2; ++k1)
    for (int k2 = -n / 2 + 1; k2 < n / 2; ++k2)
      if (k1 || k2) {
        const double c = std::sqrt(2.0) * o.sigma_value() *
                         std::pow(4.0 * M_PI * M_PI * (k1 * k1 + k2 * k2) + 49.0, -1.25);
        fno += c * c;
      }
  const double expected = gen::periodic_grf_2d_variance(n, o);
  CHECK(expected == doctest::Approx(fno).epsilon(1e-12).scale(0));
  MESSAGE("2-d GRF variance: sampled ", pooled_variance(fields), ", spectral sum ", expected);
  CHECK(pooled_variance(fields) == doctest::Approx(expected).epsilon(0.06).scale(0));
}

TEST_CASE("periodic grf: refining the grid keeps the coarse modes; max_mode truncates") {
  gen::PeriodicGrf1dOptions o;
  std::vector<std::complex<double>> a(17), b(33);
  gen::periodic_grf_1d_coefficients(a.data(), 32, o, 3, 7);
  gen::periodic_grf_1d_coefficients(b.data(), 64, o, 3, 7);
  for (int k = 0; k < 16; ++k) CHECK(a[std::size_t(k)] == b[std::size_t(k)]);
  CHECK(a[16] == std::complex<double>(0.0));
  o.max_mode = 5;
  gen::periodic_grf_1d_coefficients(b.data(), 64, o, 3, 7);
  for (int k = 0; k < 33; ++k) CHECK(b[std::size_t(k)] == (k <= 5 ? a[std::size_t(k)] : std::complex<double>(0.0)));

  gen::PeriodicGrf2dOptions o2;
  std::vector<std::complex<double>> c(16 * 9), d(32 * 17);
  gen::periodic_grf_2d_coefficients(c.data(), 16, o2, 3, 7);
  gen::periodic_grf_2d_coefficients(d.data(), 32, o2, 3, 7);
  for (int k1 = -7; k1 <= 7; ++k1)
    for (int k2 = 0; k2 <= 7; ++k2)
      CHECK(c[std::size_t((k1 + 16) % 16) * 9 + std::size_t(k2)] == d[std::size_t((k1 + 32) % 32) * 17 + std::size_t(k2)]);
}

TEST_CASE("burgers solver: spectral convergence in N to the Cole-Hopf solution") {
  // nu = 0.1, a = 0.9: max|u| = 2.6 at t = 0, a steep front; t = 0.5.
  // dt = 2.5e-4 puts the time error (~1e-13) below the spatial one.
  const double e16 = burgers_cole_hopf_error(16, 2.5e-4), e32 = burgers_cole_hopf_error(32, 2.5e-4),
               e64 = burgers_cole_hopf_error(64, 2.5e-4);
  MESSAGE("Cole-Hopf max error, N = 16, 32, 64: ", e16, ", ", e32, ", ", e64);
  CHECK(e16 < 1e-4);
  CHECK(e32 < 3e-7);
  CHECK(e64 < 1e-10);
  // Faster than any power: each doubling gains more than the previous one.
  CHECK(e16 / e32 > 100.0);
  CHECK(e32 / e64 > 1e4);
}

TEST_CASE("burgers solver: ETDRK4 converges at 4th order in dt") {
  std::vector<double> err;
  for (double dt : {0.05, 0.025, 0.0125, 0.00625}) err.push_back(burgers_cole_hopf_error(96, dt));
  for (std::size_t i = 1; i < err.size(); ++i) {
    const double order = std::log2(err[i - 1] / err[i]);
    MESSAGE("dt order ", order, " (error ", err[i], ")");
    CHECK(order > (i == 1 ? 3.3 : 3.7));
    CHECK(order < 4.3);
  }
  CHECK(err.back() < 1e-7);
}

TEST_CASE("burgers generator: layout, y[:, 0] == x, sub-sampling of the solve grid") {
  auto o = small_burgers();
  const auto d = gen::generate_burgers(3, o, 42);
  CHECK(d.x.shape() == neuralop::Shape<2>{3, 16});
  CHECK(d.y.shape() == neuralop::Shape<3>{3, 5, 16});
  CHECK(d.visc == 0.01);
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 16; ++j) CHECK(d.y.data()[(i * 5 + 0) * 16 + j] == d.x.data()[i * 16 + j]);
  // x is the GRF on the solve grid, read at every 4th node.
  const auto u0 = gen::periodic_grf_1d(64, o.grf, 42, 1);
  for (index_t j = 0; j < 16; ++j) CHECK(d.x.data()[16 + j] == doctest::Approx(u0[std::size_t(4 * j)]).epsilon(1e-13).scale(0));
  // A finer output of the same solve holds the coarse one at its even nodes.
  o.resolution = 32;
  const auto fine = gen::generate_burgers(3, o, 42);
  for (index_t k = 0; k < 3 * 5; ++k)
    for (index_t j = 0; j < 16; ++j) CHECK(fine.y.data()[k * 32 + 2 * j] == d.y.data()[k * 16 + j]);
  double moved = 0.0;
  for (index_t j = 0; j < 16; ++j) moved = std::max(moved, std::abs(d.y.data()[4 * 16 + j] - d.x.data()[j]));
  CHECK(moved > 1e-3);
}

TEST_CASE("burgers generator: deterministic, thread-count independent, samples independent of the batch") {
  ThreadCountGuard guard;
  const auto o = small_burgers();
  auto& pool = neuralop::cpu_detail::ThreadPool::instance();
  pool.set_num_threads(1);
  index_t calls = 0, last = 0;
  const auto one = gen::generate_burgers(4, o, 9, 0, [&](index_t done, index_t total) {
    ++calls;
    last = done;
    CHECK(total == 4);
  });
  CHECK(calls == 4);
  CHECK(last == 4);
  pool.set_num_threads(2);
  const auto two = gen::generate_burgers(4, o, 9);
  CHECK(std::equal(one.y.data(), one.y.data() + one.y.numel(), two.y.data()));
  CHECK(std::equal(one.x.data(), one.x.data() + one.x.numel(), two.x.data()));
  const auto alone = gen::generate_burgers(1, o, 9, 2);
  CHECK(std::equal(alone.y.data(), alone.y.data() + alone.y.numel(), one.y.data() + 2 * 5 * 16));
  const auto other_seed = gen::generate_burgers(1, o, 10, 2);
  CHECK(other_seed.x.data()[0] != alone.x.data()[0]);
}

TEST_CASE("burgers generator: bad options name the option and value") {
  const auto check = [](auto edit, const std::string& what) {
    auto o = small_burgers();
    edit(o);
    const std::string msg = error_message([&] { gen::generate_burgers(1, o, 0); });
    CHECK_MESSAGE(msg.find(what) != std::string::npos, msg);
  };
  check([](auto& o) { o.resolution = 0; }, "resolution must be > 0, got 0");
  check([](auto& o) { o.solve_resolution = 63; }, "solve_resolution must be even and > 0, got 63");
  check([](auto& o) { o.solve_resolution = 40; }, "solve_resolution (40) must be a multiple of resolution (16)");
  check([](auto& o) { o.visc = 0.0; }, "visc must be > 0, got 0");
  check([](auto& o) { o.dt = -1.0; }, "dt must be > 0, got -1");
  check([](auto& o) { o.t_final = 0.0; }, "t_final must be > 0");
  check([](auto& o) { o.n_time_out = 0; }, "n_time_out must be >= 1, got 0");
  check([](auto& o) { o.grf.gamma = -1.0; }, "grf.gamma");
  check([](auto& o) { o.grf.max_mode = -2; }, "grf.max_mode must be >= 0, got -2");
  CHECK(error_message([] { gen::generate_burgers(0, small_burgers(), 0); }).find("n must be >= 1, got 0") !=
        std::string::npos);
  // Sample indices from 2^24 on would wrap the Philox counter onto sample 0's field.
  CHECK(error_message([] { gen::generate_burgers(2, small_burgers(), 0, (index_t(1) << 24) - 1); }).find("2^24") !=
        std::string::npos);
  CHECK(error_message([] { gen::periodic_grf_1d(16, {}, 0, std::uint64_t(1) << 24); }).find("sample index 16777216") !=
        std::string::npos);
  // A step far beyond stability is reported, not written out as NaN.
  auto o = small_burgers();
  o.solve_resolution = 256;
  o.dt = 0.25;
  o.grf.sigma = 5000.0;
  CHECK(error_message([&] { gen::generate_burgers(1, o, 0); }).find("non-finite") != std::string::npos);
}

TEST_CASE("navier-stokes solver: Taylor-Green decay, second order in dt, to tight tolerance") {
  for (auto scheme : {gen::NavierStokesScheme::euler_crank_nicolson, gen::NavierStokesScheme::heun_crank_nicolson}) {
    std::vector<double> err;
    for (double dt : {0.1, 0.05, 0.025, 0.0125}) err.push_back(taylor_green_error(16, dt, scheme));
    for (std::size_t i = 1; i < err.size(); ++i) CHECK(std::log2(err[i - 1] / err[i]) == doctest::Approx(2.0).epsilon(0.02).scale(0));
    CHECK(err.back() < 1.5e-5);
    CHECK(taylor_green_error(16, 1e-3, scheme) < 1e-7);
  }
}

TEST_CASE("navier-stokes solver: time order 1 (ns_2d.py's Euler-CN) and 2 (Heun-CN) on a forced nonlinear flow") {
  for (auto scheme : {gen::NavierStokesScheme::euler_crank_nicolson, gen::NavierStokesScheme::heun_crank_nicolson}) {
    const auto a = forced_flow(4e-3, scheme), b = forced_flow(2e-3, scheme), c = forced_flow(1e-3, scheme),
               d = forced_flow(5e-4, scheme);
    // Successive differences shrink as 2^order.
    const double o1 = std::log2(max_difference(a, b) / max_difference(b, c)),
                 o2 = std::log2(max_difference(b, c) / max_difference(c, d));
    MESSAGE("observed orders ", o1, ", ", o2);
    const double order = scheme == gen::NavierStokesScheme::euler_crank_nicolson ? 1.0 : 2.0;
    CHECK(o1 == doctest::Approx(order).epsilon(0.1).scale(0));
    CHECK(o2 == doctest::Approx(order).epsilon(0.1).scale(0));
  }
}

TEST_CASE("navier-stokes generator: layout, zero mean vorticity, sub-sampling, x is the GRF") {
  const auto o = small_navier_stokes();
  const auto d = gen::generate_navier_stokes(2, o, 3);
  CHECK(d.x.shape() == neuralop::Shape<3>{2, 8, 8});
  CHECK(d.y.shape() == neuralop::Shape<3>{2, 8, 8});
  CHECK(d.u.shape() == neuralop::Shape<4>{2, 4, 8, 8});
  CHECK(d.t == std::vector<double>{0.125, 0.25, 0.375, 0.5});
  CHECK(d.visc == 1e-3);
  CHECK(std::equal(d.y.data(), d.y.data() + 64, d.u.data() + 3 * 64));
  CHECK(std::equal(d.y.data() + 64, d.y.data() + 128, d.u.data() + 7 * 64));
  const auto w0 = gen::periodic_grf_2d(32, o.grf, 3, 1);
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b)
      CHECK(d.x.data()[64 + a * 8 + b] == doctest::Approx(w0[std::size_t(a * 4 * 32 + b * 4)]).epsilon(1e-5).scale(0));
  // On the solve grid the mean is a plain average; the forcing changes the field.
  auto full = o;
  full.resolution = 32;
  const auto f = gen::generate_navier_stokes(1, full, 3);
  double mean = 0.0, change = 0.0;
  for (int p = 0; p < 32 * 32; ++p) {
    mean += f.y.data()[p] / 1024.0;
    change = std::max(change, double(std::abs(f.y.data()[p] - f.x.data()[p])));
  }
  CHECK(std::abs(mean) < 1e-6);
  CHECK(change > 1e-2);
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) CHECK(f.y.data()[a * 4 * 32 + b * 4] == d.y.data()[a * 8 + b]);
  // Without the trajectory: the same x and y, no u.
  auto no_u = o;
  no_u.trajectory = false;
  const auto e = gen::generate_navier_stokes(2, no_u, 3);
  CHECK(!e.u.defined());
  CHECK(std::equal(d.y.data(), d.y.data() + d.y.numel(), e.y.data()));
}

TEST_CASE("navier-stokes generator: deterministic, thread-count independent, samples independent of the batch") {
  ThreadCountGuard guard;
  auto o = small_navier_stokes();
  o.scheme = gen::NavierStokesScheme::heun_crank_nicolson;
  auto& pool = neuralop::cpu_detail::ThreadPool::instance();
  pool.set_num_threads(1);
  index_t calls = 0;
  const auto one = gen::generate_navier_stokes(3, o, 8, 0, [&](index_t, index_t total) {
    ++calls;
    CHECK(total == 3);
  });
  CHECK(calls == 3);
  pool.set_num_threads(2);
  const auto two = gen::generate_navier_stokes(3, o, 8);
  CHECK(std::equal(one.u.data(), one.u.data() + one.u.numel(), two.u.data()));
  CHECK(std::equal(one.x.data(), one.x.data() + one.x.numel(), two.x.data()));
  const auto alone = gen::generate_navier_stokes(1, o, 8, 2);
  CHECK(std::equal(alone.u.data(), alone.u.data() + alone.u.numel(), one.u.data() + 2 * 4 * 64));
  CHECK(std::equal(alone.x.data(), alone.x.data() + 64, one.x.data() + 2 * 64));
}

TEST_CASE("navier-stokes generator: bad options name the option and value") {
  const auto check = [](auto edit, const std::string& what) {
    auto o = small_navier_stokes();
    edit(o);
    const std::string msg = error_message([&] { gen::generate_navier_stokes(1, o, 0); });
    CHECK_MESSAGE(msg.find(what) != std::string::npos, msg);
  };
  check([](auto& o) { o.resolution = -4; }, "resolution must be > 0, got -4");
  check([](auto& o) { o.solve_resolution = 0; }, "solve_resolution must be even and > 0, got 0");
  check([](auto& o) { o.solve_resolution = 36; }, "solve_resolution (36) must be a multiple of resolution (8)");
  check([](auto& o) { o.visc = -1e-3; }, "visc must be > 0, got -0.001");
  check([](auto& o) { o.dt = 0.0; }, "dt must be > 0, got 0");
  check([](auto& o) { o.t_final = -1.0; }, "t_final must be > 0, got -1");
  check([](auto& o) { o.record_steps = 0; }, "record_steps must be >= 1, got 0");
  check([](auto& o) { o.grf.alpha = 0.0; }, "grf.alpha must be positive and finite, got 0");
  CHECK(error_message([] { gen::generate_navier_stokes(0, small_navier_stokes(), 0); }).find("n must be >= 1, got 0") !=
        std::string::npos);
  auto o = small_navier_stokes();
  o.dt = 0.5;
  o.t_final = 20.0;
  o.grf.sigma = 1e4;
  CHECK(error_message([&] { gen::generate_navier_stokes(1, o, 0); }).find("non-finite") != std::string::npos);
}
