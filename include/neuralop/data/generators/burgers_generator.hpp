// Viscous Burgers data on the periodic unit interval: a pseudo-spectral ETDRK4 solver and the
// generator of NeuralOperator's Burgers 1d-time files (x = u(., 0), y = u at T_out times).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <functional>
#include <vector>

#include "neuralop/backend/cpu/thread_pool.hpp"
#include "neuralop/core/config.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/data/generators/periodic_grf.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop::data::generators {

// u_t + (u^2/2)_x = nu u_xx on [0, 1) periodic, on n points, with a fixed step h.
// In Fourier space v_k' = L_k v_k + N_k(v), L_k = -nu (2 pi k)^2, N(v) = -(i 2 pi k / 2) P F[u^2]
// with P the 2/3 rule (modes |k| <= (n-1)/3 kept, so products of kept modes never alias onto
// kept modes). Stepping is Cox-Matthews ETDRK4 (4th order, exact on the stiff linear part) with
// the phi-function coefficients by Kassam & Trefethen's contour integral (32 points on the unit
// circle around h L_k), which keeps them accurate where the Taylor series and the closed forms
// cancel badly. One solver is single-threaded; run one per sample.
class BurgersSolver1d {
 public:
  BurgersSolver1d(int n, double visc, double h)
      : n_(n), visc_(visc), h_(h), fft_((detail::check_grid("BurgersSolver1d", "n", n), 1), n),
        m_(std::size_t(n / 2 + 1)), E_(m_), E2_(m_), Q_(m_), f1_(m_), f2_(m_), f3_(m_), ik_(m_), v_(m_),
        Nv_(m_), Na_(m_), Nb_(m_), Nc_(m_), a_(m_), b_(m_), c_(m_), spare_(m_), u_(std::size_t(n)) {
    if (!(visc > 0.0) || !std::isfinite(visc)) throw_error<value_error>("BurgersSolver1d: visc must be > 0, got ", visc);
    if (!(h > 0.0) || !std::isfinite(h)) throw_error<value_error>("BurgersSolver1d: step h must be > 0, got ", h);
    constexpr int M = 32;
    const int kmax = (n - 1) / 3;
    for (std::size_t k = 0; k < m_; ++k) {
      const double wave = two_pi * double(k);
      const double L = -visc * wave * wave;
      E_[k] = std::exp(h * L);
      E2_[k] = std::exp(0.5 * h * L);
      // phi-type functions of z = hL as means over z + r_j, r_j on the upper unit half circle
      // (the real part of the mean equals the mean over the whole circle for real z).
      std::complex<double> q = 0.0, g1 = 0.0, g2 = 0.0, g3 = 0.0;
      for (int j = 1; j <= M; ++j) {
        const std::complex<double> z =
            h * L + std::exp(std::complex<double>(0.0, 3.141592653589793238 * (j - 0.5) / M));
        const std::complex<double> ez = std::exp(z), ez2 = std::exp(0.5 * z), z3 = z * z * z;
        q += (ez2 - 1.0) / z;
        g1 += (-4.0 - z + ez * (4.0 - 3.0 * z + z * z)) / z3;
        g2 += (2.0 + z + ez * (-2.0 + z)) / z3;
        g3 += (-4.0 - 3.0 * z - z * z + ez * (4.0 - z)) / z3;
      }
      Q_[k] = h * q.real() / M;
      f1_[k] = h * g1.real() / M;
      f2_[k] = h * g2.real() / M;
      f3_[k] = h * g3.real() / M;
      // -(i k' / 2) / n: the derivative of u^2/2 and FFTW's missing 1/n, zero outside the 2/3 rule.
      ik_[k] = int(k) <= kmax ? std::complex<double>(0.0, -0.5 * wave / n) : 0.0;
    }
  }

  int size() const { return n_; }
  double visc() const { return visc_; }
  double step() const { return h_; }

  // The state as Fourier coefficients (u(x_j) = sum_k v_k e^{2 pi i k j/n}), n/2+1 values.
  void set_coefficients(const std::complex<double>* v) { std::copy(v, v + m_, v_.data()); }
  const std::complex<double>* coefficients() const { return v_.data(); }
  // The state on x_j = j / n.
  void set_solution(const double* u) {
    std::copy(u, u + n_, u_.data());
    fft_.forward(u_.data(), v_.data());
    for (std::size_t k = 0; k < m_; ++k) v_[k] /= double(n_);
  }
  void solution(double* u) {
    std::copy(v_.data(), v_.data() + m_, spare_.data());
    fft_.backward(spare_.data(), u_.data());
    std::copy(u_.data(), u_.data() + n_, u);
  }

  void advance(std::int64_t n_steps) {
    for (std::int64_t s = 0; s < n_steps; ++s) {
      nonlinear(v_.data(), Nv_.data());
      for (std::size_t k = 0; k < m_; ++k) a_[k] = E2_[k] * v_[k] + Q_[k] * Nv_[k];
      nonlinear(a_.data(), Na_.data());
      for (std::size_t k = 0; k < m_; ++k) b_[k] = E2_[k] * v_[k] + Q_[k] * Na_[k];
      nonlinear(b_.data(), Nb_.data());
      for (std::size_t k = 0; k < m_; ++k) c_[k] = E2_[k] * a_[k] + Q_[k] * (2.0 * Nb_[k] - Nv_[k]);
      nonlinear(c_.data(), Nc_.data());
      for (std::size_t k = 0; k < m_; ++k)
        v_[k] = E_[k] * v_[k] + f1_[k] * Nv_[k] + 2.0 * f2_[k] * (Na_[k] + Nb_[k]) + f3_[k] * Nc_[k];
    }
  }

 private:
  // out = -(i k/2) P F[u^2] / n for u = F^-1[v].
  void nonlinear(const std::complex<double>* v, std::complex<double>* out) {
    std::copy(v, v + m_, spare_.data());
    fft_.backward(spare_.data(), u_.data());
    for (int j = 0; j < n_; ++j) u_[j] *= u_[j];
    fft_.forward(u_.data(), out);
    for (std::size_t k = 0; k < m_; ++k) out[k] *= ik_[k];
  }

  int n_;
  double visc_, h_;
  detail::PeriodicFft fft_;
  std::size_t m_;
  std::vector<double> E_, E2_, Q_, f1_, f2_, f3_;
  std::vector<std::complex<double>> ik_;
  detail::FftwBuffer<detail::cplx> v_, Nv_, Na_, Nb_, Nc_, a_, b_, c_, spare_;
  detail::FftwBuffer<double> u_;
};

struct BurgersGeneratorOptions {
  int resolution = 16;          // s: output points x_i = i / s
  int solve_resolution = 1024;  // solver points, a multiple of resolution
  double visc = 0.01;           // nu, NeuralOperator's mini Burgers 'visc'
  double t_final = 1.0;
  int n_time_out = 17;  // y holds u at t_j = j t_final / (n_time_out - 1), j = 0..n_time_out-1
  double dt = 1e-3;     // the largest step; each output interval is cut into equal steps <= dt
  PeriodicGrf1dOptions grf{};
};

// NeuralOperator's Burgers 1d-time layout (burgers_train_16.pt): x [n, s] = u(., 0),
// y [n, T_out, s] (y[:, 0] == x), in double, and the viscosity.
struct BurgersData {
  Tensor<double, 2> x;
  Tensor<double, 3> y;
  double visc = 0.0;
};

namespace detail {

inline void check_burgers_options(const BurgersGeneratorOptions& o) {
  constexpr const char* where = "generate_burgers";
  check_time_stepping_options(where, o);
  if (o.n_time_out < 1) throw_error<value_error>(where, ": n_time_out must be >= 1, got ", o.n_time_out);
  check_grf_options(where, o.grf);
}

}  // namespace detail

// Samples first_sample .. first_sample + n - 1: sample i starts from the 1-D GRF drawn from
// (seed, i), is solved on solve_resolution points and sub-sampled to x_i = i / resolution. Samples
// run in parallel on the cpu thread pool (each single-threaded), so the result depends only on
// (options, seed, sample index). progress(done, n) is called after each sample, serialized.
inline BurgersData generate_burgers(index_t n, const BurgersGeneratorOptions& o, std::uint64_t seed,
                                    index_t first_sample = 0,
                                    std::function<void(index_t, index_t)> progress = {}) {
  detail::check_burgers_options(o);
  detail::check_sample_range("generate_burgers", n, first_sample);
  const index_t s = o.resolution, T = o.n_time_out, N = o.solve_resolution, stride = N / s;
  BurgersData out{Tensor<double, 2>(Shape<2>{n, s}), Tensor<double, 3>(Shape<3>{n, T, s}), o.visc};
  const double interval = T > 1 ? o.t_final / double(T - 1) : o.t_final;
  // Plain variables, not a structured binding: clang 14 cannot capture those in a lambda.
  const auto steps_h = detail::steps_for(interval, o.dt);
  const auto steps = steps_h.first;
  const double h = steps_h.second;
  detail::ProgressCounter counter(std::move(progress), n);
  double* x = out.x.data();
  double* y = out.y.data();
  cpu_detail::ThreadPool::instance().parallel_for(n, [&](index_t i) {
    BurgersSolver1d solver(int(N), o.visc, h);
    std::vector<std::complex<double>> hat(static_cast<std::size_t>(N / 2 + 1));
    periodic_grf_1d_coefficients(hat.data(), int(N), o.grf, seed, std::uint64_t(first_sample + i));
    solver.set_coefficients(hat.data());
    std::vector<double> u(static_cast<std::size_t>(N));
    for (index_t t = 0; t < T; ++t) {
      if (t > 0) solver.advance(steps);
      solver.solution(u.data());
      for (index_t j = 0; j < s; ++j) {
        const double value = u[std::size_t(j * stride)];
        if (!std::isfinite(value))
          throw_error<value_error>("generate_burgers: sample ", first_sample + i, " became non-finite at t = ",
                                   double(t) * interval, "; reduce dt (", o.dt, ") or raise solve_resolution (",
                                   N, ")");
        y[(i * T + t) * s + j] = value;
      }
    }
    std::copy(y + i * T * s, y + i * T * s + s, x + i * s);
    counter.tick();
  });
  return out;
}

}  // namespace neuralop::data::generators
