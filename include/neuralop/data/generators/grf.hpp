// Gaussian random fields on the unit square with Neumann (cosine) eigenfunctions: the coefficient
// fields of the FNO paper's Darcy data (Zongyi Li's GRF.m), sampled on the nodes (i/N, j/N).
#pragma once

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <numbers>
#include <span>
#include <vector>

#include "neuralop/backend/cpu/fft.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/core/rng.hpp"

namespace neuralop::data::generators {

// Covariance C = tau^(2 alpha - 2) (-Laplacian + tau^2 I)^(-alpha) with Neumann boundary, zero mean.
// alpha > 1 makes the untruncated field pointwise finite in 2D; any alpha > 0 is accepted.
struct GrfOptions {
  double alpha = 2;
  double tau = 3;
};

// The standard deviation of mode (k1, k2) of the Karhunen-Loeve expansion
//   U(x, y) = sum_k sqrt(lambda_k) xi_k phi_k1(x) phi_k2(y),  phi_0 = 1, phi_k = sqrt(2) cos(pi k x),
// whose phi are orthonormal on [0, 1] and lambda_k = tau^(2 alpha - 2) (pi^2 |k|^2 + tau^2)^(-alpha).
// GRF.m's `s * coef` followed by Matlab's orthonormal idct2 is exactly this series (the factor s
// cancels idct2's sqrt(1/s), sqrt(2/s) weights), so the field does not depend on the grid size.
inline double grf_mode_stddev(int k1, int k2, const GrfOptions& o) {
  const double k2sum = double(k1) * k1 + double(k2) * k2;
  return std::pow(o.tau, o.alpha - 1) * std::pow(std::numbers::pi * std::numbers::pi * k2sum + o.tau * o.tau, -o.alpha / 2);
}

// Samples of U on the (N+1)^2 nodes x_i = i/N, both boundaries included, truncated to the modes
// k1, k2 = 0..N. The series sum_k b_k cos(pi k i / N), i = 0..N, is a type-I DCT: FFTW's REDFT00
// evaluates Y_i = X_0 + (-1)^i X_N + 2 sum_{k=1}^{N-1} X_k cos(pi k i / N), so X_k = b_k with the
// interior modes halved. (REDFT01, the DCT-III behind Matlab's idct2, evaluates the series at the
// cell centres (i + 1/2)/N instead: the wrong points for a node-based solver.)
//
// Randomness: xi_(k1,k2) is normal number v = k1 * 2^16 + k2 of the Philox stream with key `seed`
// and counters starting at sample_index * 2^32 (two normals per counter). A field is therefore a
// pure function of (seed, sample_index), and the same (seed, sample_index) at two grid sizes gives
// the same low modes: the finer field refines the coarser one instead of being a new draw.
class NeumannGrf2d {
 public:
  static constexpr int max_n = 65535;             // so that k2 < 2^16 in the numbering above
  static constexpr std::uint64_t sample_stride = std::uint64_t(1) << 32;  // counters per sample

  NeumannGrf2d(int n, const GrfOptions& o = {}) : n_(n), opts_(o) {
    if (n < 1 || n > max_n) throw_error<value_error>("NeumannGrf2d: n (cells per axis) must be in [1, ", max_n, "], got ", n);
    if (!(o.alpha > 0) || !std::isfinite(o.alpha)) throw_error<value_error>("NeumannGrf2d: alpha must be > 0, got ", o.alpha);
    if (!(o.tau > 0) || !std::isfinite(o.tau)) throw_error<value_error>("NeumannGrf2d: tau must be > 0, got ", o.tau);
    const int m = n + 1;
    amp_.resize(std::size_t(m) * m);
    // b_k = c_k1 c_k2 sqrt(lambda_k) (c_0 = 1, c_k = sqrt 2), times REDFT00's 1/2 per interior mode.
    auto axis = [&](int k) { return (k == 0 ? 1.0 : std::numbers::sqrt2) * (k == 0 || k == n ? 1.0 : 0.5); };
    for (int k1 = 0; k1 < m; ++k1)
      for (int k2 = 0; k2 < m; ++k2) amp_[std::size_t(k1) * m + k2] = axis(k1) * axis(k2) * grf_mode_stddev(k1, k2, o);
    amp_[0] = 0;  // zero mean: GRF.m's L(1,1) = 0
    buf_ = static_cast<double*>(fftw_malloc(sizeof(double) * amp_.size()));
    if (!buf_) throw_error<value_error>("NeumannGrf2d: out of memory for n = ", n);
    std::lock_guard lock(cpu_detail::fftw_planner_mutex());
    plan_ = fftw_plan_r2r_2d(m, m, buf_, buf_, FFTW_REDFT00, FFTW_REDFT00, FFTW_ESTIMATE);
  }
  NeumannGrf2d(const NeumannGrf2d&) = delete;
  NeumannGrf2d& operator=(const NeumannGrf2d&) = delete;
  ~NeumannGrf2d() {
    {
      std::lock_guard lock(cpu_detail::fftw_planner_mutex());
      fftw_destroy_plan(plan_);
    }
    fftw_free(buf_);
  }

  int n() const { return n_; }
  const GrfOptions& options() const { return opts_; }

  // out[i * (N+1) + j] = U(i/N, j/N). Single-threaded; one object per thread.
  void sample(std::uint64_t seed, std::uint64_t sample_index, std::span<double> out) {
    const std::size_t m = std::size_t(n_) + 1;
    if (out.size() != m * m)
      throw_error<value_error>("NeumannGrf2d::sample: out has ", out.size(), " values, expected (n+1)^2 = ", m * m);
    const std::uint64_t base = sample_index * sample_stride;
    for (std::size_t k1 = 0; k1 < m; ++k1) {
      const std::uint64_t row = base + (std::uint64_t(k1) << 15);  // (k1 * 2^16) / 2 normals per counter
      for (std::size_t k2 = 0; k2 < m; k2 += 2) {
        const auto z = random_block<double, Distribution::normal>(seed, row + k2 / 2);
        buf_[k1 * m + k2] = amp_[k1 * m + k2] * z[0];
        if (k2 + 1 < m) buf_[k1 * m + k2 + 1] = amp_[k1 * m + k2 + 1] * z[1];
      }
    }
    fftw_execute(plan_);
    std::copy(buf_, buf_ + m * m, out.begin());
  }

  // E[U(x_i, y_j)^2] of the truncated series at node (i, j): sum_k b_k^2 cos^2(pi k1 i/N) cos^2(pi k2 j/N)
  // with b_k = c_k1 c_k2 sqrt(lambda_k). O(N^2); for tests and documentation.
  double node_variance(int i, int j) const {
    double s = 0;
    for (int k1 = 0; k1 <= n_; ++k1) {
      const double c1 = std::cos(std::numbers::pi * k1 * i / n_);
      for (int k2 = 0; k2 <= n_; ++k2) {
        if (k1 == 0 && k2 == 0) continue;
        const double c2 = std::cos(std::numbers::pi * k2 * j / n_);
        const double b = (k1 ? 2.0 : 1.0) * (k2 ? 2.0 : 1.0) * std::pow(grf_mode_stddev(k1, k2, opts_), 2);
        s += b * c1 * c1 * c2 * c2;
      }
    }
    return s;
  }

 private:
  int n_;
  GrfOptions opts_;
  std::vector<double> amp_;
  double* buf_ = nullptr;
  fftw_plan plan_ = nullptr;
};

}  // namespace neuralop::data::generators
