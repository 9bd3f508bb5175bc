// Batched row-major GEMM on the cpu through Eigen's matrix kernels, split into tasks by size
// only (never by thread count) so that results are reproducible on any machine load.
#pragma once

#include <algorithm>
#include <complex>
#include <Eigen/Core>

#include "neuralop/backend/cpu/gemm_shape.hpp"
#include "neuralop/backend/cpu/panel_gemm.hpp"
#include "neuralop/backend/cpu/thread_pool.hpp"
#include "neuralop/core/config.hpp"

namespace neuralop {

namespace cpu_detail {

// Work division, by sizes only (never by thread count). Splitting a batch entry into chunks (of
// the larger of m and n) is a cost, not just a division: every chunk packs the whole of the
// other operand again. The 1x1 channel maps' weight gradient (64 x 64 outputs, k = 4096), split
// into 16-row chunks, packed its [64, 4096] operand four times per entry and ran 30-40% slower
// than whole entries per task (measured 2026-12-01). So an entry is split into chunks of about
// gemm_task_flops multiply-adds only as far as needed for gemm_min_tasks tasks in all, and
// beyond that only into chunks of gemm_large_task_flops (large products keep every core of a
// big machine busy); chunks are never thinner than gemm_min_chunk lines.
inline constexpr index_t gemm_task_flops = index_t(1) << 21;
inline constexpr index_t gemm_large_task_flops = index_t(1) << 24;
inline constexpr index_t gemm_min_tasks = 16;
inline constexpr index_t gemm_min_chunk = 64;

// Chunks per batch entry for a GEMM of this shape: `extent` lines of `per_line` multiply-adds.
inline index_t gemm_chunks(index_t batch, index_t extent, index_t per_line) {
  const index_t work = extent * per_line;
  const index_t wanted = std::min(work / gemm_task_flops, (gemm_min_tasks + batch - 1) / batch);
  const index_t chunks = std::max(wanted, work / gemm_large_task_flops);
  return std::max<index_t>(1, std::min(chunks, extent / gemm_min_chunk));
}

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMap = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using MutMap = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;

// op(M) as an Eigen expression. The ops are template parameters so that only the
// combinations in use instantiate Eigen's (heavy) product kernels.
template <Trans t, class M>
decltype(auto) apply_op(const M& m) {
  if constexpr (t == Trans::N) return m;
  else if constexpr (t == Trans::T) return m.transpose();
  else return m.adjoint();
}

// Eigen's general product, for every shape.
template <class T, Trans ta, Trans tb>
void eigen_gemm(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C) {
  // Chunks of the larger of m and n (see gemm_chunks).
  const index_t per_row = std::max<index_t>(1, s.n * s.k), per_col = std::max<index_t>(1, s.m * s.k);
  const bool split_rows = s.m >= s.n;
  const index_t extent = split_rows ? s.m : s.n;
  const index_t wanted = gemm_chunks(s.batch, extent, split_rows ? per_row : per_col);
  // Even chunks of whole SIMD packets (multiples of 8 lines).
  const index_t chunk = ((extent + wanted - 1) / wanted + 7) / 8 * 8;
  const index_t n_chunks = (extent + chunk - 1) / chunk;
  const index_t rows_a = ta == Trans::N ? s.m : s.k, cols_a = ta == Trans::N ? s.k : s.m;
  const index_t rows_b = tb == Trans::N ? s.k : s.n, cols_b = tb == Trans::N ? s.n : s.k;
  ThreadPool::instance().parallel_for(s.batch * n_chunks, [&](index_t t) {
    const index_t b = t / n_chunks, c0 = (t % n_chunks) * chunk, c1 = std::min(extent, c0 + chunk);
    const ConstMap<T> Am(A + b * s.stride_a, rows_a, cols_a, Eigen::OuterStride<>(s.lda));
    const ConstMap<T> Bm(B + b * s.stride_b, rows_b, cols_b, Eigen::OuterStride<>(s.ldb));
    MutMap<T> Cm(C + b * s.stride_c, s.m, s.n, Eigen::OuterStride<>(s.ldc));
    const auto opA = apply_op<ta>(Am);
    const auto opB = apply_op<tb>(Bm);
    auto apply = [&](auto&& Cblk, const auto& lhs, const auto& rhs) {
      if (beta == T(0)) {
        Cblk.noalias() = alpha * (lhs * rhs);
      } else {
        if (beta != T(1)) Cblk *= beta;
        Cblk.noalias() += alpha * (lhs * rhs);
      }
    };
    if (split_rows) apply(Cm.middleRows(c0, c1 - c0), opA.middleRows(c0, c1 - c0), opB);
    else apply(Cm.middleCols(c0, c1 - c0), opA, opB.middleCols(c0, c1 - c0));
  });
}

// The channel maps' shapes go to the panel kernels (see panel_gemm.hpp): their product and its
// weight gradient (A B^T with a long k); the rest to Eigen.
template <class T, Trans ta, Trans tb>
void gemm(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C) {
  if constexpr (panel_gemm_applies_to_types<T, ta, tb>())
    if (panel_gemm_applies(s, panel::packet_size<T>)) return panel_gemm<T, ta>(s, alpha, A, B, beta, C);
  if constexpr (panel_gemm_nt_applies_to_types<T, ta, tb>())
    if (panel_gemm_nt_applies(s, panel::packet_size<T>)) return panel_gemm_nt<T>(s, alpha, A, B, beta, C);
  eigen_gemm<T, ta, tb>(s, alpha, A, B, beta, C);
}

// C[b] = op(A[b]) * op(B[b]) + bias + addend[b]: bias (may be null) has one entry per row of C,
// broadcast along the row; addend (may be null) is laid out like C, stride_addend apart.
template <class T, Trans ta, Trans tb>
void gemm_bias_add(const GemmShape& s, const T* A, const T* B, const T* bias, const T* addend, index_t stride_addend, T* C) {
  if constexpr (panel_gemm_applies_to_types<T, ta, tb>())
    if (panel_gemm_applies(s, panel::packet_size<T>))
      return panel_gemm<T, ta>(s, A, B, C, panel::Epilogue<T>{.bias = bias, .addend = addend, .ld_addend = s.ldc}, stride_addend);
  // Otherwise the bias and addend are written first and the product accumulated onto them.
  if (bias || addend)
    ThreadPool::instance().parallel_for(s.batch * s.m, [&](index_t t) {
      const index_t b = t / s.m, r = t % s.m;
      T* c = C + b * s.stride_c + r * s.ldc;
      const T* a = addend ? addend + b * stride_addend + r * s.ldc : nullptr;
      const T v = bias ? bias[r] : T(0);
      for (index_t j = 0; j < s.n; ++j) c[j] = a ? v + a[j] : v;
    });
  gemm<T, ta, tb>(s, T(1), A, B, (bias || addend) ? T(1) : T(0), C);
}

// Eigen's product kernels dominate the compile time of every translation unit that uses
// matmul. A program with many translation units can compile them once: define
// NEURALOP_EXTERN_GEMM everywhere and include "neuralop/backend/cpu/gemm_instantiate.hpp" in
// exactly one translation unit (the test suite does this). The default stays header-only.
// The op pairs in use (ops/matmul.hpp maps C to T for real types).
#define NEURALOP_GEMM_FOR_EACH_REAL(X, Ty) X(Ty, Trans::N, Trans::N) X(Ty, Trans::N, Trans::T) X(Ty, Trans::T, Trans::N)
#define NEURALOP_GEMM_FOR_EACH_COMPLEX(X, Ty) \
  X(Ty, Trans::N, Trans::N) X(Ty, Trans::N, Trans::C) X(Ty, Trans::C, Trans::N)
#define NEURALOP_GEMM_FOR_EACH(X)                          \
  NEURALOP_GEMM_FOR_EACH_REAL(X, float)                    \
  NEURALOP_GEMM_FOR_EACH_REAL(X, double)                   \
  NEURALOP_GEMM_FOR_EACH_COMPLEX(X, std::complex<float>)   \
  NEURALOP_GEMM_FOR_EACH_COMPLEX(X, std::complex<double>)

#if defined(NEURALOP_EXTERN_GEMM) && !defined(NEURALOP_INSTANTIATE_GEMM)
#define NEURALOP_GEMM_EXTERN_DECL(Ty, ta, tb) \
  extern template void gemm<Ty, ta, tb>(const GemmShape&, Ty, const Ty*, const Ty*, Ty, Ty*);
NEURALOP_GEMM_FOR_EACH(NEURALOP_GEMM_EXTERN_DECL)
#define NEURALOP_GEMM_BIAS_ADD_EXTERN_DECL(Ty) \
  extern template void gemm_bias_add<Ty, Trans::N, Trans::N>(const GemmShape&, const Ty*, const Ty*, const Ty*, const Ty*, index_t, Ty*);
NEURALOP_GEMM_BIAS_ADD_EXTERN_DECL(float)
NEURALOP_GEMM_BIAS_ADD_EXTERN_DECL(double)
NEURALOP_GEMM_BIAS_ADD_EXTERN_DECL(std::complex<float>)
NEURALOP_GEMM_BIAS_ADD_EXTERN_DECL(std::complex<double>)
#undef NEURALOP_GEMM_BIAS_ADD_EXTERN_DECL
#undef NEURALOP_GEMM_EXTERN_DECL
#endif

}  // namespace cpu_detail
}  // namespace neuralop
