// FFTW on the cpu backend: batched multi-dimensional transforms of any contiguous block of axes,
// with plans cached per layout and the batch split over our thread pool
// (executing one plan on different arrays from several threads is safe in FFTW; planning is not,
// so it happens under a lock).
#pragma once

#include <fftw3.h>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "neuralop/core/config.hpp"
#include "neuralop/core/error.hpp"

namespace neuralop {

// r2c: real [batch, n...] -> complex [batch, n..., n_last/2+1]; c2r the reverse (it reads only
// what a Hermitian spectrum determines, and may overwrite its input); c2c with sign -1 / +1.
// All unnormalised (a plain sum).
enum class FftKind { r2c, c2r, c2c_forward, c2c_backward };

namespace cpu_detail {

template <class R>
struct Fftw;
template <>
struct Fftw<double> {
  using plan = fftw_plan;
  using cpx = fftw_complex;
  static plan r2c(int rank, const int* n, int howmany, double* in, cpx* out, int stride, int idist, int odist, unsigned flags) {
    return fftw_plan_many_dft_r2c(rank, n, howmany, in, nullptr, stride, idist, out, nullptr, stride, odist, flags);
  }
  static plan c2r(int rank, const int* n, int howmany, cpx* in, double* out, int stride, int idist, int odist, unsigned flags) {
    return fftw_plan_many_dft_c2r(rank, n, howmany, in, nullptr, stride, idist, out, nullptr, stride, odist, flags);
  }
  static plan c2c(int rank, const int* n, int howmany, cpx* in, cpx* out, int stride, int dist, int sign, unsigned flags) {
    return fftw_plan_many_dft(rank, n, howmany, in, nullptr, stride, dist, out, nullptr, stride, dist, sign, flags);
  }
  static void exec_r2c(plan p, double* in, cpx* out) { fftw_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, cpx* in, double* out) { fftw_execute_dft_c2r(p, in, out); }
  static void exec_c2c(plan p, cpx* in, cpx* out) { fftw_execute_dft(p, in, out); }
  static void destroy(plan p) { fftw_destroy_plan(p); }
  static void* malloc(std::size_t n) { return fftw_malloc(n); }
  static void free(void* p) { fftw_free(p); }
  static int alignment_of(const void* p) { return fftw_alignment_of(reinterpret_cast<double*>(const_cast<void*>(p))); }
};
template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  using cpx = fftwf_complex;
  static plan r2c(int rank, const int* n, int howmany, float* in, cpx* out, int stride, int idist, int odist, unsigned flags) {
    return fftwf_plan_many_dft_r2c(rank, n, howmany, in, nullptr, stride, idist, out, nullptr, stride, odist, flags);
  }
  static plan c2r(int rank, const int* n, int howmany, cpx* in, float* out, int stride, int idist, int odist, unsigned flags) {
    return fftwf_plan_many_dft_c2r(rank, n, howmany, in, nullptr, stride, idist, out, nullptr, stride, odist, flags);
  }
  static plan c2c(int rank, const int* n, int howmany, cpx* in, cpx* out, int stride, int dist, int sign, unsigned flags) {
    return fftwf_plan_many_dft(rank, n, howmany, in, nullptr, stride, dist, out, nullptr, stride, dist, sign, flags);
  }
  static void exec_r2c(plan p, float* in, cpx* out) { fftwf_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, cpx* in, float* out) { fftwf_execute_dft_c2r(p, in, out); }
  static void exec_c2c(plan p, cpx* in, cpx* out) { fftwf_execute_dft(p, in, out); }
  static void destroy(plan p) { fftwf_destroy_plan(p); }
  static void* malloc(std::size_t n) { return fftwf_malloc(n); }
  static void free(void* p) { fftwf_free(p); }
  static int alignment_of(const void* p) { return fftwf_alignment_of(reinterpret_cast<float*>(const_cast<void*>(p))); }
};

// FFTW's planner is global state shared by both precisions: one lock for all planning.
inline std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

// Elements per transform of sizes n on its input and output side.
inline std::pair<std::size_t, std::size_t> fft_element_counts(FftKind kind, const std::vector<int>& n) {
  std::size_t full = 1, half = 1;
  for (std::size_t i = 0; i < n.size(); ++i) {
    full *= std::size_t(n[i]);
    half *= i + 1 == n.size() ? std::size_t(n[i] / 2 + 1) : std::size_t(n[i]);
  }
  switch (kind) {
    case FftKind::r2c: return {full, half};
    case FftKind::c2r: return {half, full};
    default: return {full, full};
  }
}

// A batch of transforms as FFTW's advanced interface describes it: `howmany` transforms of
// sizes n, element stride `stride` along the transformed axes, `idist`/`odist` between them.
struct FftLayout {
  FftKind kind;
  std::vector<int> n;
  int howmany, stride, idist, odist;
  bool aligned;  // both arrays SIMD-aligned as FFTW wants
  auto operator<=>(const FftLayout&) const = default;
};

template <class R>
class FftPlans {
 public:
  using F = Fftw<R>;
  static FftPlans& instance() {
    static FftPlans p;
    return p;
  }
  FftPlans(const FftPlans&) = delete;
  FftPlans& operator=(const FftPlans&) = delete;
  ~FftPlans() {
    for (auto& [k, p] : plans_) F::destroy(p);
  }

  typename F::plan get(const FftLayout& L) {
    std::lock_guard lock(fftw_planner_mutex());
    if (auto it = plans_.find(L); it != plans_.end()) return it->second;
    const auto [in_elems, out_elems] = fft_element_counts(L.kind, L.n);
    const std::size_t in_item = L.kind == FftKind::r2c ? sizeof(R) : 2 * sizeof(R);
    const std::size_t out_item = L.kind == FftKind::c2r ? sizeof(R) : 2 * sizeof(R);
    // The extent of each array: the last element of the last transform, plus one.
    const auto extent = [&](std::size_t elems, int dist) {
      return (std::size_t(L.howmany - 1) * std::size_t(dist) + (elems - 1) * std::size_t(L.stride) + 1);
    };
    const std::size_t in_bytes = extent(in_elems, L.idist) * in_item, out_bytes = extent(out_elems, L.odist) * out_item;
    // Scratch arrays for the planner (FFTW_ESTIMATE does not write them, but wants valid ones);
    // an unaligned plan is made on arrays offset by one real, like the data it will see.
    const std::size_t shift = L.aligned ? 0 : sizeof(R);
    auto* in = static_cast<char*>(F::malloc(in_bytes + 64));
    auto* out = static_cast<char*>(F::malloc(out_bytes + 64));
    if (!in || !out) {
      F::free(in);
      F::free(out);
      throw_error<backend_error>("fft: out of memory for planning scratch arrays");
    }
    const unsigned flags =
        FFTW_ESTIMATE | (L.aligned ? 0u : FFTW_UNALIGNED) | (L.kind == FftKind::c2r ? FFTW_DESTROY_INPUT : 0u);
    const int rank = static_cast<int>(L.n.size());
    typename F::plan p{};
    auto* ci = reinterpret_cast<typename F::cpx*>(in + shift);
    auto* co = reinterpret_cast<typename F::cpx*>(out + shift);
    switch (L.kind) {
      case FftKind::r2c:
        p = F::r2c(rank, L.n.data(), L.howmany, reinterpret_cast<R*>(in + shift), co, L.stride, L.idist, L.odist, flags);
        break;
      case FftKind::c2r:
        p = F::c2r(rank, L.n.data(), L.howmany, ci, reinterpret_cast<R*>(out + shift), L.stride, L.idist, L.odist, flags);
        break;
      case FftKind::c2c_forward: p = F::c2c(rank, L.n.data(), L.howmany, ci, co, L.stride, L.idist, FFTW_FORWARD, flags); break;
      case FftKind::c2c_backward: p = F::c2c(rank, L.n.data(), L.howmany, ci, co, L.stride, L.idist, FFTW_BACKWARD, flags); break;
    }
    F::free(in);
    F::free(out);
    if (!p) throw_error<backend_error>("fft: FFTW could not plan a transform of rank ", rank, " x ", L.howmany);
    plans_.emplace(L, p);
    return p;
  }

 private:
  FftPlans() = default;
  std::map<FftLayout, typename F::plan> plans_;
};

// Transforms the middle axes of a contiguous array [outer, n_1..n_k, inner] (for r2c the output,
// for c2r the input, has n_k/2+1 on the last transformed axis), splitting the work into tasks
// run by parallel_for: chunks of `outer` when inner == 1, else one task per outer index.
template <class R, class ParallelFor>
void fft(FftKind kind, index_t outer, std::span<const index_t> sizes, index_t inner, const void* in, void* out,
         ParallelFor&& parallel_for, int threads) {
  using F = Fftw<R>;
  std::vector<int> n;
  for (index_t s : sizes) {
    if (s <= 0 || s > INT32_MAX) throw_error<value_error>("fft: transform size ", s, " out of range");
    n.push_back(static_cast<int>(s));
  }
  if (outer <= 0 || inner <= 0) return;
  const auto counts = fft_element_counts(kind, n);  // not a structured binding: lambdas capture it
  const std::size_t in_elems = counts.first, out_elems = counts.second;
  const std::size_t in_item = kind == FftKind::r2c ? sizeof(R) : 2 * sizeof(R);
  const std::size_t out_item = kind == FftKind::c2r ? sizeof(R) : 2 * sizeof(R);
  if (inner > INT32_MAX || std::size_t(inner) * std::max(in_elems, out_elems) > std::size_t(INT32_MAX))
    throw_error<value_error>("fft: a batch of ", inner, " interleaved transforms is too large for FFTW's int sizes");
  index_t per = 1, n_tasks = outer;
  if (inner == 1) {  // about four tasks per thread, each a whole number of transforms
    const index_t tasks = std::min<index_t>(outer, threads > 1 ? 4 * index_t(threads) : 1);
    per = std::min<index_t>((outer + tasks - 1) / tasks, INT32_MAX);
    n_tasks = (outer + per - 1) / per;
  }
  parallel_for(n_tasks, [&](index_t t) {
    const index_t b0 = t * per, count = std::min(per, outer - b0);
    auto* src = static_cast<char*>(const_cast<void*>(in)) + std::size_t(b0) * std::size_t(inner) * in_elems * in_item;
    auto* dst = static_cast<char*>(out) + std::size_t(b0) * std::size_t(inner) * out_elems * out_item;
    FftLayout L{kind, n, 0, 0, 0, 0, F::alignment_of(src) == 0 && F::alignment_of(dst) == 0};
    if (inner == 1) {
      L.howmany = static_cast<int>(count);
      L.stride = 1;
      L.idist = static_cast<int>(in_elems);
      L.odist = static_cast<int>(out_elems);
    } else {
      L.howmany = static_cast<int>(inner);
      L.stride = static_cast<int>(inner);
      L.idist = L.odist = 1;
    }
    const auto plan = FftPlans<R>::instance().get(L);
    switch (kind) {
      case FftKind::r2c: F::exec_r2c(plan, reinterpret_cast<R*>(src), reinterpret_cast<typename F::cpx*>(dst)); break;
      case FftKind::c2r: F::exec_c2r(plan, reinterpret_cast<typename F::cpx*>(src), reinterpret_cast<R*>(dst)); break;
      default: F::exec_c2c(plan, reinterpret_cast<typename F::cpx*>(src), reinterpret_cast<typename F::cpx*>(dst)); break;
    }
  });
}

}  // namespace cpu_detail
}  // namespace neuralop
