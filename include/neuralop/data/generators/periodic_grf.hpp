// Gaussian random fields on the periodic unit interval and the unit torus, drawn mode by mode as
// in the FNO paper's data scripts (GRF1.m for Burgers, GaussianRF for Navier-Stokes), and the
// FFTW transforms and bookkeeping the periodic solvers share.
#pragma once

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "neuralop/backend/cpu/fft.hpp"
#include "neuralop/core/config.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/core/rng.hpp"

namespace neuralop::data::generators {

inline constexpr double two_pi = 6.283185307179586476925286766559;

// Counters of the Philox stream one sample owns: sample i draws from [i * stride, (i+1) * stride),
// so a sample depends only on (seed, i), never on the batch it was made in or the thread count.
inline constexpr std::uint64_t sample_counter_stride = std::uint64_t(1) << 40;
// Sample indices whose block fits the 64-bit counter: from 2^24 on, i * stride would wrap onto
// the blocks of the first samples and repeat their fields.
inline constexpr std::uint64_t max_samples = std::uint64_t(1) << 24;

namespace detail {

inline void check_sample_index(const char* where, std::uint64_t sample) {
  if (sample >= max_samples)
    throw_error<value_error>(where, ": sample index ", sample, " must be below 2^24 = ", max_samples,
                             " (each sample owns 2^40 counters of the 64-bit Philox stream)");
}

// A generator's samples first_sample .. first_sample + n - 1, checked before any work.
inline void check_sample_range(const char* where, index_t n, index_t first_sample) {
  if (n < 1) throw_error<value_error>(where, ": sample count n must be >= 1, got ", n);
  if (first_sample < 0) throw_error<value_error>(where, ": first_sample must be >= 0, got ", first_sample);
  if (std::uint64_t(first_sample) + std::uint64_t(n) > max_samples)
    throw_error<value_error>(where, ": first_sample + n must be <= 2^24 = ", max_samples, ", got first_sample ", first_sample,
                             " and n ", n);
}

}  // namespace detail

// GRF1.m (the FNO paper's Burgers data): with lambda_k = (2 pi k)^2 + tau^2,
//   u(x) = mean + sum_{k=1}^{K} e_k (xi_k cos(2 pi k x) + eta_k sin(2 pi k x)),
//   e_k = sqrt(2) sigma lambda_k^(-gamma/2),  xi_k, eta_k iid N(0, 1),
// i.e. covariance sigma^2 (-Laplacian + tau^2)^(-gamma) without its constant mode. GRF1.m
// evaluates the field at x - 1/2, a shift that leaves the distribution unchanged and that we
// drop. gen_burgers.m uses gamma = 2.5, tau = 7, sigma = 7^2 and K = s/2 modes on s points; on
// n points we keep K = n/2 - 1 (no Nyquist mode, whose weight is ~ (pi n)^-2.5 sigma), or
// max_mode if smaller: a fixed K makes the field the same function on every grid.
struct PeriodicGrf1dOptions {
  double gamma = 2.5;
  double tau = 7.0;
  double sigma = 49.0;
  double mean = 0.0;
  int max_mode = 0;  // keep k <= max_mode (and < n/2); 0 keeps all, as GRF1.m does
};

// GaussianRF(2, s, alpha, tau) of the FNO paper's ns_2d.py: with lambda_k = 4 pi^2 |k|^2 + tau^2,
//   u = Re ifft2(s^2 sqrt(2) sigma lambda_k^(-alpha/2) (xi_k + i eta_k)),  coefficient of k = 0 zero,
//   sigma = tau^(0.5 (2 alpha - d)) by default (d = 2),
// whose covariance is 2 sigma^2 (-Laplacian + tau^2)^(-alpha) without its constant mode. The real
// part of that non-Hermitian sum has the law of the real field
//   u(x) = sum_{k in half plane} 2 sigma lambda_k^(-alpha/2) (A_k cos(2 pi k.x) + B_k sin(2 pi k.x)),
// which is what we draw (one pair A, B per mode k and -k). We keep |k_1|, |k_2| < n/2 (FNO's grid
// also holds the lines k_i = -n/2, weight ~ (pi n)^-2.5 sigma), or <= max_mode if smaller.
struct PeriodicGrf2dOptions {
  double alpha = 2.5;
  double tau = 7.0;
  std::optional<double> sigma{};  // default tau^(0.5 (2 alpha - 2))
  int max_mode = 0;               // keep |k_i| <= max_mode (and < n/2); 0 keeps all, as GaussianRF does

  double sigma_value() const { return sigma ? *sigma : std::pow(tau, 0.5 * (2.0 * alpha - 2.0)); }
};

namespace detail {

inline void check_grf_options(const char* where, const PeriodicGrf1dOptions& o) {
  if (!(o.gamma > 0.0) || !std::isfinite(o.gamma))
    throw_error<value_error>(where, ": grf.gamma must be positive and finite, got ", o.gamma);
  if (!(o.tau >= 0.0) || !std::isfinite(o.tau))
    throw_error<value_error>(where, ": grf.tau must be >= 0 and finite, got ", o.tau);
  if (!(o.sigma >= 0.0) || !std::isfinite(o.sigma))
    throw_error<value_error>(where, ": grf.sigma must be >= 0 and finite, got ", o.sigma);
  if (!std::isfinite(o.mean)) throw_error<value_error>(where, ": grf.mean must be finite, got ", o.mean);
  if (o.max_mode < 0) throw_error<value_error>(where, ": grf.max_mode must be >= 0, got ", o.max_mode);
}
inline void check_grf_options(const char* where, const PeriodicGrf2dOptions& o) {
  if (!(o.alpha > 0.0) || !std::isfinite(o.alpha))
    throw_error<value_error>(where, ": grf.alpha must be positive and finite, got ", o.alpha);
  if (!(o.tau >= 0.0) || !std::isfinite(o.tau))
    throw_error<value_error>(where, ": grf.tau must be >= 0 and finite, got ", o.tau);
  const double s = o.sigma_value();
  if (!(s >= 0.0) || !std::isfinite(s)) throw_error<value_error>(where, ": grf.sigma must be >= 0 and finite, got ", s);
  if (o.max_mode < 0) throw_error<value_error>(where, ": grf.max_mode must be >= 0, got ", o.max_mode);
}
// The highest mode kept on n points: below the Nyquist mode n/2, and at most max_mode if set.
inline int grf_top_mode(int n, int max_mode) { return max_mode > 0 ? std::min(max_mode, n / 2 - 1) : n / 2 - 1; }
inline void check_grid(const char* where, const char* name, int n) {
  if (n < 2 || n % 2 != 0) throw_error<value_error>(where, ": ", name, " must be even and >= 2, got ", n);
}

// A mode's counter within its sample's range, the same on every grid: 1-D mode k uses k; 2-D mode
// (k1, k2) (k2 >= 0) uses Szudzik's pairing of (zigzag(k1), k2). So refining the grid adds modes
// but leaves the coarse ones' random numbers unchanged.
inline std::uint64_t zigzag(std::int64_t k) { return k >= 0 ? std::uint64_t(2 * k) : std::uint64_t(-2 * k - 1); }
inline std::uint64_t mode_counter(std::int64_t k1, std::int64_t k2) {
  const std::uint64_t a = zigzag(k1), b = std::uint64_t(k2);
  return a >= b ? a * a + a + b : a + b * b;
}

// fftw_malloc'd storage, so plans made on one buffer run on any other (same SIMD alignment).
template <class T>
class FftwBuffer {
 public:
  explicit FftwBuffer(std::size_t n) : n_(n), p_(static_cast<T*>(fftw_malloc(sizeof(T) * (n ? n : 1)))) {
    if (!p_) throw_error<backend_error>("generators: out of memory for an FFT buffer of ", n, " elements");
    for (std::size_t i = 0; i < n_; ++i) p_[i] = T{};
  }
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
  ~FftwBuffer() { fftw_free(p_); }
  T* data() { return p_; }
  const T* data() const { return p_; }
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }
  std::size_t size() const { return n_; }

 private:
  std::size_t n_;
  T* p_;
};

using cplx = std::complex<double>;

// Unnormalised r2c / c2r on the periodic grid of n points (dim 1) or n x n points (dim 2, row
// major, the last axis halved to n/2+1). Plans are FFTW_ESTIMATE (the same algorithm on every run,
// hence bitwise reproducible), made and destroyed under the library's planner lock; execution
// through the new-array interface is thread-safe, so each solver owns one of these.
class PeriodicFft {
 public:
  PeriodicFft(int dim, int n) : dim_(dim), n_(n) {
    FftwBuffer<double> r(real_size());
    FftwBuffer<cplx> c(complex_size());
    auto* cr = reinterpret_cast<fftw_complex*>(c.data());
    std::lock_guard lock(cpu_detail::fftw_planner_mutex());
    if (dim == 1) {
      r2c_ = fftw_plan_dft_r2c_1d(n, r.data(), cr, FFTW_ESTIMATE);
      c2r_ = fftw_plan_dft_c2r_1d(n, cr, r.data(), FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
    } else {
      r2c_ = fftw_plan_dft_r2c_2d(n, n, r.data(), cr, FFTW_ESTIMATE);
      c2r_ = fftw_plan_dft_c2r_2d(n, n, cr, r.data(), FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
    }
    if (!r2c_ || !c2r_) {
      if (r2c_) fftw_destroy_plan(r2c_);
      if (c2r_) fftw_destroy_plan(c2r_);
      throw_error<backend_error>("generators: FFTW could not plan a ", dim, "-d transform of size ", n);
    }
  }
  PeriodicFft(const PeriodicFft&) = delete;
  PeriodicFft& operator=(const PeriodicFft&) = delete;
  ~PeriodicFft() {
    std::lock_guard lock(cpu_detail::fftw_planner_mutex());
    fftw_destroy_plan(r2c_);
    fftw_destroy_plan(c2r_);
  }

  std::size_t real_size() const { return dim_ == 1 ? std::size_t(n_) : std::size_t(n_) * std::size_t(n_); }
  std::size_t complex_size() const {
    return dim_ == 1 ? std::size_t(n_ / 2 + 1) : std::size_t(n_) * std::size_t(n_ / 2 + 1);
  }
  // Both need fftw_malloc'd arrays; backward overwrites its input.
  void forward(double* in, cplx* out) const { fftw_execute_dft_r2c(r2c_, in, reinterpret_cast<fftw_complex*>(out)); }
  void backward(cplx* in, double* out) const { fftw_execute_dft_c2r(c2r_, reinterpret_cast<fftw_complex*>(in), out); }

 private:
  int dim_, n_;
  fftw_plan r2c_ = nullptr, c2r_ = nullptr;
};

// Equal steps of at most dt covering `interval`: how many, and their length.
// The options the time-dependent generators share (grids, viscosity, time), checked alike.
template <class O>
void check_time_stepping_options(const char* where, const O& o) {
  if (o.resolution <= 0) throw_error<value_error>(where, ": resolution must be > 0, got ", o.resolution);
  if (o.solve_resolution <= 0 || o.solve_resolution % 2 != 0)
    throw_error<value_error>(where, ": solve_resolution must be even and > 0, got ", o.solve_resolution);
  if (o.solve_resolution % o.resolution != 0)
    throw_error<value_error>(where, ": solve_resolution (", o.solve_resolution, ") must be a multiple of resolution (",
                             o.resolution, ")");
  if (!(o.visc > 0.0) || !std::isfinite(o.visc)) throw_error<value_error>(where, ": visc must be > 0, got ", o.visc);
  if (!(o.t_final > 0.0) || !std::isfinite(o.t_final))
    throw_error<value_error>(where, ": t_final must be > 0, got ", o.t_final);
  if (!(o.dt > 0.0) || !std::isfinite(o.dt)) throw_error<value_error>(where, ": dt must be > 0, got ", o.dt);
}

inline std::pair<std::int64_t, double> steps_for(double interval, double dt) {
  const auto n = std::max<std::int64_t>(1, std::int64_t(std::ceil(interval / dt * (1.0 - 1e-12))));
  return {n, interval / double(n)};
}

// Calls progress(done, total) after each sample, one call at a time.
class ProgressCounter {
 public:
  ProgressCounter(std::function<void(index_t, index_t)> f, index_t total) : f_(std::move(f)), total_(total) {}
  void tick() {
    if (!f_) return;
    std::lock_guard lock(mutex_);
    f_(++done_, total_);
  }

 private:
  std::function<void(index_t, index_t)> f_;
  index_t total_, done_ = 0;
  std::mutex mutex_;
};

}  // namespace detail

// The Fourier coefficients a_k (u(x_j) = sum_k a_k exp(2 pi i k j / n), a_{-k} = conj(a_k)) of
// sample `sample` of the 1-D field on n points, k = 0..n/2, in FFTW's r2c layout: `hat` holds
// n/2 + 1 values. c2r of them gives the field on x_j = j / n.
inline void periodic_grf_1d_coefficients(std::complex<double>* hat, int n, const PeriodicGrf1dOptions& o,
                                         std::uint64_t seed, std::uint64_t sample) {
  detail::check_grid("periodic_grf_1d", "n", n);
  detail::check_grf_options("periodic_grf_1d", o);
  detail::check_sample_index("periodic_grf_1d", sample);
  hat[0] = o.mean;
  for (int k = 1; k <= n / 2; ++k) hat[k] = 0.0;
  // e_k (xi cos + eta sin) = a e^{i theta} + conj(a) e^{-i theta} with a = e_k (xi - i eta) / 2.
  const int top = detail::grf_top_mode(n, o.max_mode);
  for (int k = 1; k <= top; ++k) {
    const double lambda = (two_pi * k) * (two_pi * k) + o.tau * o.tau;
    const double e = std::sqrt(2.0) * o.sigma * std::pow(lambda, -0.5 * o.gamma);
    const auto z = random_block<double, Distribution::normal>(seed, sample * sample_counter_stride + std::uint64_t(k));
    hat[k] = 0.5 * e * std::complex<double>(z[0], -z[1]);
  }
}

// The same coefficients for the 2-D field on n x n points: n * (n/2 + 1) values, row k1 mod n,
// column k2 = 0..n/2 (FFTW's r2c layout; c2r gives the field on (x_i, y_j) = (i/n, j/n), row major).
inline void periodic_grf_2d_coefficients(std::complex<double>* hat, int n, const PeriodicGrf2dOptions& o,
                                         std::uint64_t seed, std::uint64_t sample) {
  detail::check_grid("periodic_grf_2d", "n", n);
  detail::check_grf_options("periodic_grf_2d", o);
  detail::check_sample_index("periodic_grf_2d", sample);
  const int h = n / 2 + 1;
  const double sigma = o.sigma_value();
  for (std::size_t i = 0; i < std::size_t(n) * std::size_t(h); ++i) hat[i] = 0.0;
  // 2 sigma lambda^(-alpha/2) (A cos + B sin) = a e^{i theta} + c.c. with a = sigma lambda^(-alpha/2) (A - i B).
  const int top = detail::grf_top_mode(n, o.max_mode);
  for (int k1 = -top; k1 <= top; ++k1)
    for (int k2 = (k1 > 0 ? 0 : 1); k2 <= top; ++k2) {
      const double lambda = two_pi * two_pi * double(k1 * k1 + k2 * k2) + o.tau * o.tau;
      const double c = sigma * std::pow(lambda, -0.5 * o.alpha);
      const auto z = random_block<double, Distribution::normal>(seed, sample * sample_counter_stride +
                                                                          detail::mode_counter(k1, k2));
      const std::complex<double> a = c * std::complex<double>(z[0], -z[1]);
      const int row = k1 >= 0 ? k1 : k1 + n;
      hat[std::size_t(row) * h + k2] = a;
      if (k2 == 0) hat[std::size_t(n - k1) * h] = std::conj(a);  // the column k2 = 0 is Hermitian in k1
    }
}

// Sample `sample` of the 1-D field on x_j = j / n.
inline std::vector<double> periodic_grf_1d(int n, const PeriodicGrf1dOptions& o, std::uint64_t seed,
                                           std::uint64_t sample = 0) {
  detail::check_grid("periodic_grf_1d", "n", n);
  detail::PeriodicFft fft(1, n);
  detail::FftwBuffer<detail::cplx> hat(fft.complex_size());
  detail::FftwBuffer<double> u(fft.real_size());
  periodic_grf_1d_coefficients(hat.data(), n, o, seed, sample);
  fft.backward(hat.data(), u.data());
  return std::vector<double>(u.data(), u.data() + u.size());
}

// Sample `sample` of the 2-D field on (x_i, y_j) = (i/n, j/n), row major [n, n].
inline std::vector<double> periodic_grf_2d(int n, const PeriodicGrf2dOptions& o, std::uint64_t seed,
                                           std::uint64_t sample = 0) {
  detail::check_grid("periodic_grf_2d", "n", n);
  detail::PeriodicFft fft(2, n);
  detail::FftwBuffer<detail::cplx> hat(fft.complex_size());
  detail::FftwBuffer<double> u(fft.real_size());
  periodic_grf_2d_coefficients(hat.data(), n, o, seed, sample);
  fft.backward(hat.data(), u.data());
  return std::vector<double>(u.data(), u.data() + u.size());
}

// Pointwise variance of the fields above (the same at every point): sum_{k=1}^{K} e_k^2 in 1-D,
// sum_{0 < max|k_i| <= K} 2 sigma^2 lambda_k^(-alpha) in 2-D, K the top mode kept.
inline double periodic_grf_1d_variance(int n, const PeriodicGrf1dOptions& o) {
  double v = 0.0;
  for (int k = 1; k <= detail::grf_top_mode(n, o.max_mode); ++k)
    v += 2.0 * o.sigma * o.sigma * std::pow((two_pi * k) * (two_pi * k) + o.tau * o.tau, -o.gamma);
  return v;
}
inline double periodic_grf_2d_variance(int n, const PeriodicGrf2dOptions& o) {
  const double sigma = o.sigma_value();
  const int top = detail::grf_top_mode(n, o.max_mode);
  double v = 0.0;
  for (int k1 = -top; k1 <= top; ++k1)
    for (int k2 = -top; k2 <= top; ++k2)
      if (k1 != 0 || k2 != 0)
        v += 2.0 * sigma * sigma * std::pow(two_pi * two_pi * double(k1 * k1 + k2 * k2) + o.tau * o.tau, -o.alpha);
  return v;
}

}  // namespace neuralop::data::generators
