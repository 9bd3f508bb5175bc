// The spectral convolution's contraction in place: out[a, b, m] = sum_c op(L)[a, c, m] *
// op(R)[c, b, m] for complex operands whose last axis m (the kept Fourier modes) is contiguous
// in all three, op = as stored or conjugated. The forward product (a = batch, b = out channel,
// c = in channel), the input gradient and the weight gradient all have this form with
// different strides, so none of them needs its operands permuted to [m, ...] for a batch of
// per-mode GEMMs (that path copied the spectrum, the weight and the product once each way, and
// ran one small complex GEMM per mode: a sixth of FNO configuration (a), measured 2026-12-02).
//
// A task computes an RA x RB block of (a, b) over every m: for each packet of modes, RA x RB
// complex packet accumulators sum over c in index order, so results do not depend on the
// work division or thread count.
#pragma once

#include <algorithm>
#include <complex>
#include <Eigen/Core>

#include "neuralop/backend/cpu/gemm_shape.hpp"
#include "neuralop/backend/cpu/panel_gemm.hpp"
#include "neuralop/backend/cpu/thread_pool.hpp"
#include "neuralop/core/config.hpp"

namespace neuralop::cpu_detail {

namespace modes {

// RA x RB accumulators plus RA + RB operand packets within the register file (see
// panel::vector_registers).
inline constexpr int RA = panel::vector_registers >= 32 ? 4 : 2, RB = RA;

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <class T>
inline constexpr int packet_size = Eigen::internal::unpacket_traits<Packet<T>>::size;

template <bool Conj, class P>
EIGEN_ALWAYS_INLINE P maybe_conj(const P& p) {
  if constexpr (Conj) return Eigen::internal::pconj(p);
  else return p;
}
template <bool Conj, class T>
EIGEN_ALWAYS_INLINE T maybe_conj_scalar(const T& v) {
  if constexpr (Conj) return std::conj(v);
  else return v;
}

// Rows [a0, a0 + Ra) x columns [b0, b0 + Rb) of out, every mode.
template <int Ra, int Rb, bool ConjL, bool ConjR, class T>
void block(index_t nc, index_t M, const T* L, ModeStrides ls, const T* R, ModeStrides rs, T* out, ModeStrides os,
           bool accumulate) {
  using P = Packet<T>;
  constexpr int PS = packet_size<T>;
  index_t m = 0;
  for (; m + PS <= M; m += PS) {
    P acc[Ra][Rb];
    for (int i = 0; i < Ra; ++i)
      for (int j = 0; j < Rb; ++j) acc[i][j] = Eigen::internal::pset1<P>(T(0));
    for (index_t c = 0; c < nc; ++c) {
      P l[Ra], r[Rb];
      for (int i = 0; i < Ra; ++i) l[i] = maybe_conj<ConjL>(Eigen::internal::ploadu<P>(L + i * ls.row + c * ls.col + m));
      for (int j = 0; j < Rb; ++j) r[j] = maybe_conj<ConjR>(Eigen::internal::ploadu<P>(R + c * rs.row + j * rs.col + m));
      for (int i = 0; i < Ra; ++i)
        for (int j = 0; j < Rb; ++j) acc[i][j] = Eigen::internal::padd(acc[i][j], Eigen::internal::pmul(l[i], r[j]));
    }
    for (int i = 0; i < Ra; ++i)
      for (int j = 0; j < Rb; ++j) {
        T* o = out + i * os.row + j * os.col + m;
        Eigen::internal::pstoreu(o, accumulate ? Eigen::internal::padd(acc[i][j], Eigen::internal::ploadu<P>(o)) : acc[i][j]);
      }
  }
  for (; m < M; ++m)  // the modes after the last whole packet
    for (int i = 0; i < Ra; ++i)
      for (int j = 0; j < Rb; ++j) {
        T s(0);
        for (index_t c = 0; c < nc; ++c)
          s += maybe_conj_scalar<ConjL>(L[i * ls.row + c * ls.col + m]) * maybe_conj_scalar<ConjR>(R[c * rs.row + j * rs.col + m]);
        T& o = out[i * os.row + j * os.col + m];
        o = accumulate ? o + s : s;
      }
}

template <int Ra, bool ConjL, bool ConjR, class T>
void row_block(index_t nb, index_t nc, index_t M, const T* L, ModeStrides ls, const T* R, ModeStrides rs, T* out,
               ModeStrides os, bool accumulate) {
  index_t b = 0;
  for (; b + RB <= nb; b += RB)
    block<Ra, RB, ConjL, ConjR>(nc, M, L, ls, R + b * rs.col, rs, out + b * os.col, os, accumulate);
  for (; b < nb; ++b) block<Ra, 1, ConjL, ConjR>(nc, M, L, ls, R + b * rs.col, rs, out + b * os.col, os, accumulate);
}

}  // namespace modes

// out[a, b, m] (= or +=) sum_c op(L)[a, c, m] * op(R)[c, b, m]; T complex. Tasks are blocks of
// RA rows x mode_cols columns of out (by sizes only).
inline constexpr index_t mode_cols = 4 * modes::RB;

template <class T, bool ConjL, bool ConjR>
void mode_contract(index_t na, index_t nb, index_t nc, index_t M, const T* L, ModeStrides ls, const T* R, ModeStrides rs, T* out,
                   ModeStrides os, bool accumulate) {
  const index_t row_tasks = (na + modes::RA - 1) / modes::RA, col_tasks = (nb + mode_cols - 1) / mode_cols;
  ThreadPool::instance().parallel_for(row_tasks * col_tasks, [&](index_t t) {
    const index_t a0 = (t / col_tasks) * modes::RA, b0 = (t % col_tasks) * mode_cols, cols = std::min(nb - b0, mode_cols);
    const T* r = R + b0 * rs.col;
    if (a0 + modes::RA <= na) {
      modes::row_block<modes::RA, ConjL, ConjR>(cols, nc, M, L + a0 * ls.row, ls, r, rs, out + a0 * os.row + b0 * os.col, os,
                                                accumulate);
    } else {
      for (index_t a = a0; a < na; ++a)
        modes::row_block<1, ConjL, ConjR>(cols, nc, M, L + a * ls.row, ls, r, rs, out + a * os.row + b0 * os.col, os, accumulate);
    }
  });
}

}  // namespace neuralop::cpu_detail
