// 2-D incompressible Navier-Stokes in vorticity form on the unit torus: the pseudo-spectral
// Crank-Nicolson solver of the FNO paper's ns_2d.py and the generator of its datasets
// (x = w(0), y = w(t_final), u = the recorded trajectory), keys as NeuralOperator's loader reads.
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

// How the explicit (advection) part is stepped; the viscous part is Crank-Nicolson in both.
//   euler_crank_nicolson: ns_2d.py's step, first order in time (one nonlinear evaluation):
//     (1 + h nu |k'|^2 / 2) w^{n+1} = (1 - h nu |k'|^2 / 2) w^n + h (f - F(w^n))
//   heun_crank_nicolson: predictor w* by the step above, then the corrector with
//     F -> (F(w^n) + F(w*)) / 2: second order, two nonlinear evaluations.
enum class NavierStokesScheme { euler_crank_nicolson, heun_crank_nicolson };

// w_t + u . grad w = nu Laplacian w + f on [0, 1)^2, u = (psi_y, -psi_x), -Laplacian psi = w, on
// n x n points (x_i, y_j) = (i/n, j/n) stored row major (i along x), with a fixed step h. In
// Fourier space (k' = 2 pi k) the advection F(w) = P F[u . grad w] is formed on the grid from
// the four spectral derivatives, with P the 2/3 rule (|k_1|, |k_2| <= (n-1)/3 kept; ns_2d.py keeps
// <= n/3, the same unless 3 divides n). The Nyquist modes are never filled, so the state stays a
// real trigonometric polynomial and the mean of w stays what it was (zero for the data).
// Single-threaded; run one per sample.
class NavierStokes2dSolver {
 public:
  using cplx = std::complex<double>;

  // forcing(x, y) sampled on the grid; forcing_amplitude * (sin(2 pi (x+y)) + cos(2 pi (x+y)))
  // when built from an amplitude (0.1 in ns_2d.py; 0 for the unforced equations).
  NavierStokes2dSolver(int n, double visc, double h, double forcing_amplitude = 0.1,
                       NavierStokesScheme scheme = NavierStokesScheme::euler_crank_nicolson)
      : n_(n), m_(std::size_t(n) * std::size_t(n / 2 + 1)), visc_(visc), h_(h), scheme_(scheme),
        fft_((detail::check_grid("NavierStokes2dSolver", "n", n), 2), n), kx_(m_), ky_(m_), inv_lap_(m_),
        num_(m_), inv_den_(m_), mask_(m_), w_(m_), f_(m_), F0_(m_), F1_(m_), ws_(m_), d0_(m_), d1_(m_), d2_(m_),
        d3_(m_), r0_(std::size_t(n) * n), r1_(std::size_t(n) * n), r2_(std::size_t(n) * n), r3_(std::size_t(n) * n) {
    if (!(visc >= 0.0) || !std::isfinite(visc))
      throw_error<value_error>("NavierStokes2dSolver: visc must be >= 0, got ", visc);
    if (!(h > 0.0) || !std::isfinite(h)) throw_error<value_error>("NavierStokes2dSolver: step h must be > 0, got ", h);
    if (!std::isfinite(forcing_amplitude))
      throw_error<value_error>("NavierStokes2dSolver: forcing_amplitude must be finite, got ", forcing_amplitude);
    const int half = n / 2 + 1, kmax = (n - 1) / 3;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < half; ++j) {
        const std::size_t idx = std::size_t(i) * half + j;
        const int k1 = i < n / 2 ? i : i - n, k2 = j;
        const bool nyquist = i == n / 2 || j == n / 2;
        const double lap = two_pi * two_pi * double(k1 * k1 + k2 * k2);
        kx_[idx] = nyquist ? 0.0 : two_pi * k1;
        ky_[idx] = nyquist ? 0.0 : two_pi * k2;
        inv_lap_[idx] = lap > 0.0 ? 1.0 / lap : 0.0;
        const double a = 0.5 * h * visc * lap;
        num_[idx] = 1.0 - a;
        inv_den_[idx] = 1.0 / (1.0 + a);
        // The 2/3 rule and FFTW's missing 1 / n^2 of the forward transform.
        mask_[idx] = (std::abs(k1) <= kmax && k2 <= kmax) ? 1.0 / (double(n) * n) : 0.0;
      }
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const double s = two_pi * (double(i) + double(j)) / n;
        r0_[std::size_t(i) * n + j] = forcing_amplitude * (std::sin(s) + std::cos(s));
      }
    to_coefficients(r0_.data(), f_.data());
  }

  int size() const { return n_; }
  double step() const { return h_; }
  double visc() const { return visc_; }

  // The state on the grid, row major [n, n]; the Nyquist modes of what is set are dropped.
  void set_vorticity(const double* w) {
    std::copy(w, w + std::size_t(n_) * n_, r0_.data());
    to_coefficients(r0_.data(), w_.data());
  }
  void vorticity(double* w) {
    std::copy(w_.data(), w_.data() + m_, d0_.data());
    fft_.backward(d0_.data(), w);
  }
  // Coefficients in FFTW's r2c layout (w(x) = sum_k w_k e^{2 pi i k.x}), n (n/2+1) values.
  void set_coefficients(const cplx* w) {
    std::copy(w, w + m_, w_.data());
    drop_nyquist(w_.data());
  }
  const cplx* coefficients() const { return w_.data(); }
  double mean_vorticity() const { return w_[0].real(); }

  void advance(std::int64_t n_steps) {
    for (std::int64_t s = 0; s < n_steps; ++s) {
      advection(w_.data(), F0_.data());
      if (scheme_ == NavierStokesScheme::euler_crank_nicolson) {
        for (std::size_t k = 0; k < m_; ++k) w_[k] = (num_[k] * w_[k] + h_ * (f_[k] - F0_[k])) * inv_den_[k];
      } else {
        for (std::size_t k = 0; k < m_; ++k) ws_[k] = (num_[k] * w_[k] + h_ * (f_[k] - F0_[k])) * inv_den_[k];
        advection(ws_.data(), F1_.data());
        for (std::size_t k = 0; k < m_; ++k)
          w_[k] = (num_[k] * w_[k] + h_ * (f_[k] - 0.5 * (F0_[k] + F1_[k]))) * inv_den_[k];
      }
    }
  }

 private:
  void to_coefficients(double* grid, cplx* out) {
    fft_.forward(grid, out);
    const double scale = 1.0 / (double(n_) * n_);
    for (std::size_t k = 0; k < m_; ++k) out[k] *= scale;
    drop_nyquist(out);
  }
  void drop_nyquist(cplx* c) const {
    const int half = n_ / 2 + 1;
    for (int j = 0; j < half; ++j) c[std::size_t(n_ / 2) * half + j] = 0.0;
    for (int i = 0; i < n_; ++i) c[std::size_t(i) * half + n_ / 2] = 0.0;
  }

  // out = P F[u . grad w] with u = (psi_y, -psi_x), psi_k = w_k / |k'|^2.
  void advection(const cplx* w, cplx* out) {
    const cplx I(0.0, 1.0);
    for (std::size_t k = 0; k < m_; ++k) {
      const cplx psi = w[k] * inv_lap_[k];
      d0_[k] = I * ky_[k] * psi;   // u_x = psi_y
      d1_[k] = -I * kx_[k] * psi;  // u_y = -psi_x
      d2_[k] = I * kx_[k] * w[k];  // w_x
      d3_[k] = I * ky_[k] * w[k];  // w_y
    }
    fft_.backward(d0_.data(), r0_.data());
    fft_.backward(d1_.data(), r1_.data());
    fft_.backward(d2_.data(), r2_.data());
    fft_.backward(d3_.data(), r3_.data());
    const std::size_t nn = std::size_t(n_) * n_;
    for (std::size_t p = 0; p < nn; ++p) r0_[p] = r0_[p] * r2_[p] + r1_[p] * r3_[p];
    fft_.forward(r0_.data(), out);
    for (std::size_t k = 0; k < m_; ++k) out[k] *= mask_[k];
  }

  int n_;
  std::size_t m_;
  double visc_, h_;
  NavierStokesScheme scheme_;
  detail::PeriodicFft fft_;
  std::vector<double> kx_, ky_, inv_lap_, num_, inv_den_, mask_;
  detail::FftwBuffer<cplx> w_, f_, F0_, F1_, ws_, d0_, d1_, d2_, d3_;
  detail::FftwBuffer<double> r0_, r1_, r2_, r3_;
};

// Defaults are ns_2d.py's main: 256^2 solve, nu = 1e-3, T = 50, dt = 1e-4, 200 records,
// sub-sampled by 4 to the 64^2 of the FNO paper's files.
struct NavierStokesGeneratorOptions {
  int resolution = 64;         // s: output points (i/s, j/s)
  int solve_resolution = 256;  // solver points per axis, an even multiple of resolution
  double visc = 1e-3;          // nu; the FNO paper uses 1e-3, 1e-4, 1e-5
  double t_final = 50.0;
  double dt = 1e-4;       // the largest step; each record interval is cut into equal steps <= dt
  int record_steps = 200;  // u holds w at t_j = j t_final / record_steps, j = 1..record_steps
  double forcing_amplitude = 0.1;
  NavierStokesScheme scheme = NavierStokesScheme::euler_crank_nicolson;
  bool trajectory = true;  // false: leave u undefined (x and y only, record_steps still sets y's time)
  PeriodicGrf2dOptions grf{};
};

// x [n, s, s] = w(0), y [n, s, s] = w(t_final) (what NeuralOperator's NavierStokesDataset reads
// from nsforcing_*.pt), u [n, record_steps, s, s] the trajectory (ns_2d.py's 'u' with time as the
// 2nd axis; u[:, -1] == y), t the record times; float32 as the FNO files.
struct NavierStokesData {
  Tensor<float, 3> x;
  Tensor<float, 3> y;
  Tensor<float, 4> u;
  std::vector<double> t;
  double visc = 0.0;
};

namespace detail {

inline void check_navier_stokes_options(const NavierStokesGeneratorOptions& o) {
  constexpr const char* where = "generate_navier_stokes";
  check_time_stepping_options(where, o);
  if (o.record_steps < 1) throw_error<value_error>(where, ": record_steps must be >= 1, got ", o.record_steps);
  if (!std::isfinite(o.forcing_amplitude))
    throw_error<value_error>(where, ": forcing_amplitude must be finite, got ", o.forcing_amplitude);
  check_grf_options(where, o.grf);
}

}  // namespace detail

// Samples first_sample .. first_sample + n - 1: sample i starts from the 2-D GRF drawn from
// (seed, i) on solve_resolution^2 points, is solved and sub-sampled to (i/s, j/s). Samples run in
// parallel on the cpu thread pool (each single-threaded), so the result depends only on
// (options, seed, sample index). progress(done, n) is called after each sample, serialized.
inline NavierStokesData generate_navier_stokes(index_t n, const NavierStokesGeneratorOptions& o, std::uint64_t seed,
                                               index_t first_sample = 0,
                                               std::function<void(index_t, index_t)> progress = {}) {
  detail::check_navier_stokes_options(o);
  detail::check_sample_range("generate_navier_stokes", n, first_sample);
  const index_t s = o.resolution, T = o.record_steps, N = o.solve_resolution, stride = N / s;
  NavierStokesData out;
  out.x = Tensor<float, 3>(Shape<3>{n, s, s});
  out.y = Tensor<float, 3>(Shape<3>{n, s, s});
  if (o.trajectory) out.u = Tensor<float, 4>(Shape<4>{n, T, s, s});
  out.visc = o.visc;
  const double interval = o.t_final / double(T);
  for (index_t t = 1; t <= T; ++t) out.t.push_back(double(t) * interval);
  // Plain variables, not a structured binding: clang 14 cannot capture those in a lambda.
  const auto steps_h = detail::steps_for(interval, o.dt);
  const auto steps = steps_h.first;
  const double h = steps_h.second;
  detail::ProgressCounter counter(std::move(progress), n);
  float* x = out.x.data();
  float* y = out.y.data();
  float* u = o.trajectory ? out.u.data() : nullptr;
  cpu_detail::ThreadPool::instance().parallel_for(n, [&](index_t i) {
    NavierStokes2dSolver solver(int(N), o.visc, h, o.forcing_amplitude, o.scheme);
    std::vector<std::complex<double>> hat(static_cast<std::size_t>(N * (N / 2 + 1)));
    periodic_grf_2d_coefficients(hat.data(), int(N), o.grf, seed, std::uint64_t(first_sample + i));
    solver.set_coefficients(hat.data());
    std::vector<double> w(static_cast<std::size_t>(N * N));
    // Reads w at every stride-th node into dst [s, s].
    const auto sub_sample = [&](float* dst, double time) {
      for (index_t a = 0; a < s; ++a)
        for (index_t b = 0; b < s; ++b) {
          const double v = w[std::size_t((a * stride) * N + b * stride)];
          if (!std::isfinite(v))
            throw_error<value_error>("generate_navier_stokes: sample ", first_sample + i, " became non-finite at t = ",
                                     time, "; reduce dt (", o.dt, ") or raise solve_resolution (", N, ")");
          dst[a * s + b] = static_cast<float>(v);
        }
    };
    solver.vorticity(w.data());
    sub_sample(x + i * s * s, 0.0);
    for (index_t t = 0; t < T; ++t) {
      solver.advance(steps);
      if (u || t + 1 == T) solver.vorticity(w.data());
      if (u) sub_sample(u + (i * T + t) * s * s, out.t[std::size_t(t)]);
      if (t + 1 == T) sub_sample(y + i * s * s, o.t_final);
    }
    counter.tick();
  });
  return out;
}

}  // namespace neuralop::data::generators
