// Darcy flow data (the FNO paper's benchmark): -div(a grad u) = f on (0,1)^2, u = 0 on the
// boundary, a from a Gaussian random field (grf.hpp), solved by darcy_solver.hpp; the generator.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "neuralop/backend/cpu/thread_pool.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/data/generators/darcy_solver.hpp"
#include "neuralop/data/generators/grf.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop::data::generators {

struct DarcyGeneratorOptions {
  std::vector<int> resolutions{16};  // output grids; each must divide solve_resolution
  int solve_resolution = 256;        // N: cells per axis of the solve grid, a power of two
  double alpha = 2, tau = 3;         // the GRF (grf.hpp)
  std::string coefficient = "threshold";  // or "lognormal": a = exp(GRF)
  double coeff_high = 12, coeff_low = 3;  // "threshold": a = coeff_high where GRF >= 0, else coeff_low
  double forcing = 1;                     // f, constant
  std::string face_average = "arithmetic";  // see DarcySolverOptions
  double tol = 1e-10;
  int max_iterations = 200;

  // Calibrated to NeuralOperator's darcy_*.pt files (tools/reference/calibrate_darcy.py): tau
  // for the masks' interface density at 16 x 16, the contrast a_high / a_low for the shape of
  // the distribution of per-sample RMS norms of y, f / a_low for its scale (their solutions are
  // ~70 times the FNO paper recipe's). docs/generators.md has the comparison.
  static DarcyGeneratorOptions neuralop_files() {
    DarcyGeneratorOptions o;
    o.tau = 4.75;
    o.coeff_high = 18;
    o.coeff_low = 1;
    o.forcing = 48.4;
    return o;
  }
};

// One output resolution s: x [n, s, s] (for "threshold" the 0/1 mask, 1 where a = coeff_high, as
// NeuralOperator's files store it; for "lognormal" the coefficient a) and y [n, s, s] the solution.
// Grid point (i, j) is the solve node (i/s, j/s), i, j = 0..s-1: the boundary at 0 is included, the
// one at 1 is not (so y is 0 on the first row and column), as in NeuralOperator's files.
struct DarcySamples {
  int resolution = 0;
  Tensor<float, 3> x;
  Tensor<float, 3> y;
};

inline void validate(const DarcyGeneratorOptions& o, const char* who = "DarcyGeneratorOptions") {
  const int N = o.solve_resolution;
  if (N < 2 || N > NeumannGrf2d::max_n || (N & (N - 1)) != 0)
    throw_error<value_error>(who, ": solve_resolution must be a power of two in [2, 32768], got ", N);
  if (o.resolutions.empty()) throw_error<value_error>(who, ": resolutions is empty");
  for (int s : o.resolutions) {
    if (s <= 0) throw_error<value_error>(who, ": resolutions must be positive, got ", s);
    if (N % s != 0)
      throw_error<value_error>(who, ": resolution ", s, " does not divide solve_resolution ", N,
                               " (outputs take every (solve_resolution / resolution)-th node)");
  }
  if (!(o.alpha > 0) || !std::isfinite(o.alpha)) throw_error<value_error>(who, ": alpha must be > 0, got ", o.alpha);
  if (!(o.tau > 0) || !std::isfinite(o.tau)) throw_error<value_error>(who, ": tau must be > 0, got ", o.tau);
  if (o.coefficient != "threshold" && o.coefficient != "lognormal")
    throw_error<value_error>(who, ": coefficient must be \"threshold\" or \"lognormal\", got \"", o.coefficient, "\"");
  if (!(o.coeff_high > 0) || !std::isfinite(o.coeff_high))
    throw_error<value_error>(who, ": coeff_high must be positive and finite, got ", o.coeff_high);
  if (!(o.coeff_low > 0) || !std::isfinite(o.coeff_low))
    throw_error<value_error>(who, ": coeff_low must be positive and finite, got ", o.coeff_low);
  if (!std::isfinite(o.forcing)) throw_error<value_error>(who, ": forcing must be finite, got ", o.forcing);
  if (o.face_average != "arithmetic" && o.face_average != "harmonic")
    throw_error<value_error>(who, ": face_average must be \"arithmetic\" or \"harmonic\", got \"", o.face_average, "\"");
  if (!(o.tol > 0) || !(o.tol < 1)) throw_error<value_error>(who, ": tol must be in (0, 1), got ", o.tol);
  if (o.max_iterations < 1) throw_error<value_error>(who, ": max_iterations must be >= 1, got ", o.max_iterations);
}

// One sample at a time on the solve grid: the GRF, the coefficient and the solution, all on the
// (N+1)^2 nodes (row-major, v[i * (N+1) + j] at (i/N, j/N)). Single-threaded; one per thread.
class DarcySampler {
 public:
  explicit DarcySampler(const DarcyGeneratorOptions& o)
      : opts_((validate(o, "DarcySampler"), o)), grf_(o.solve_resolution, {o.alpha, o.tau}), solver_(o.solve_resolution) {
    const std::size_t m = std::size_t(o.solve_resolution) + 1;
    field_.assign(m * m, 0.0);
    a_.assign(m * m, 0.0);
    f_.assign(m * m, o.forcing);
    u_.assign(m * m, 0.0);
  }

  // Sample `index` of the stream `seed`: a pure function of (options, seed, index).
  DarcySolveStats sample(std::uint64_t seed, std::uint64_t index) {
    grf_.sample(seed, index, field_);
    const bool threshold = opts_.coefficient == "threshold";
    for (std::size_t p = 0; p < field_.size(); ++p)
      a_[p] = threshold ? (field_[p] >= 0 ? opts_.coeff_high : opts_.coeff_low) : std::exp(field_[p]);
    return solver_.solve(a_, f_, u_, {opts_.tol, opts_.max_iterations, opts_.face_average});
  }

  int n() const { return opts_.solve_resolution; }
  const DarcyGeneratorOptions& options() const { return opts_; }
  std::span<const double> field() const { return field_; }
  std::span<const double> coefficient() const { return a_; }
  std::span<const double> solution() const { return u_; }

 private:
  DarcyGeneratorOptions opts_;
  NeumannGrf2d grf_;
  DarcySolver solver_;
  std::vector<double> field_, a_, f_, u_;
};

// Samples first_sample .. first_sample + n_samples - 1 of the stream `seed`, one DarcySamples per
// entry of o.resolutions, all from the same solves. Samples run in parallel on the cpu thread pool,
// each single-threaded, so the data do not depend on the thread count. progress(done, total) is
// called after each sample, under a lock, from whichever thread finished it.
inline std::vector<DarcySamples> generate_darcy(index_t n_samples, const DarcyGeneratorOptions& o, std::uint64_t seed,
                                                index_t first_sample = 0,
                                                std::function<void(index_t done, index_t total)> progress = {}) {
  validate(o, "generate_darcy");
  if (n_samples < 1) throw_error<value_error>("generate_darcy: n_samples must be >= 1 (tensors are never empty), got ", n_samples);
  if (first_sample < 0 || std::uint64_t(first_sample) + std::uint64_t(n_samples) > (std::uint64_t(1) << 32))
    throw_error<value_error>("generate_darcy: first_sample must be >= 0 and first_sample + n_samples <= 2^32, got first_sample ",
                             first_sample, ", n_samples ", n_samples);
  std::vector<DarcySamples> out;
  for (int s : o.resolutions)
    out.push_back({s, Tensor<float, 3>::empty({n_samples, s, s}), Tensor<float, 3>::empty({n_samples, s, s})});

  // Samplers (a few MB each at N = 256) are reused across the samples of this call.
  std::mutex mutex;
  std::vector<std::unique_ptr<DarcySampler>> idle;
  index_t done = 0;
  const bool threshold = o.coefficient == "threshold";
  const std::size_t m = std::size_t(o.solve_resolution) + 1;
  cpu_detail::ThreadPool::instance().parallel_for(n_samples, [&](index_t t) {
    std::unique_ptr<DarcySampler> S;
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) S = std::move(idle.back()), idle.pop_back();
    }
    if (!S) S = std::make_unique<DarcySampler>(o);
    S->sample(seed, std::uint64_t(first_sample + t));
    for (auto& d : out) {
      const std::size_t s = std::size_t(d.resolution), stride = std::size_t(o.solve_resolution) / s;
      float* x = d.x.data() + std::size_t(t) * s * s;
      float* y = d.y.data() + std::size_t(t) * s * s;
      for (std::size_t i = 0; i < s; ++i)
        for (std::size_t j = 0; j < s; ++j) {
          const std::size_t p = i * stride * m + j * stride;
          x[i * s + j] = threshold ? (S->field()[p] >= 0 ? 1.0f : 0.0f) : float(S->coefficient()[p]);
          y[i * s + j] = float(S->solution()[p]);
        }
    }
    std::lock_guard lock(mutex);
    idle.push_back(std::move(S));
    ++done;
    if (progress) progress(done, n_samples);
  });
  return out;
}

}  // namespace neuralop::data::generators
