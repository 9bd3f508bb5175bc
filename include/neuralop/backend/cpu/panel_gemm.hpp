// A GEMM for the shape of channel maps: C[b] (m x n) = alpha * op(A) (m x k) * B[b] (k x n) +
// beta * C[b], all row-major, one small op(A) shared by every batch entry (a 1x1 convolution's
// weight, m and k the channel counts) and long rows of B and C (n the spatial size).
//
// Eigen's general product is built for large square-ish problems: for this shape it packs the
// whole of B (as big as the output) into a panel before multiplying, zero-fills C when beta is 0
// and scales C by beta otherwise, each a separate pass over memory that the multiply itself does
// not need (on FNO-1D configuration d they were a fifth of the step, measured 2026-12-02). Here
// B is streamed straight from its rows: a strip of `width` columns of B (k x width, contiguous
// rows, at most a few KiB a row of k) stays in L1 while every row group of op(A) runs over it,
// with MR x NP packet accumulators in registers and op(A)'s entries broadcast from memory. C is
// written once, with alpha and beta applied in registers.
//
// Each output element is a sum over k in index order, whatever the work division or thread
// count, so results are reproducible.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>
#include <Eigen/Core>

#include "neuralop/backend/cpu/gemm_shape.hpp"
#include "neuralop/backend/cpu/thread_pool.hpp"
#include "neuralop/core/config.hpp"

namespace neuralop::cpu_detail {

namespace panel {

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <class T>
inline constexpr int packet_size = Eigen::internal::unpacket_traits<Packet<T>>::size;

// Register blocking: MR rows x NP packets of accumulators, plus NP packets of B and one
// broadcast, within the register file (32 vector registers with AVX-512, 16 otherwise).
// Eigen defines the count as an expression ((2*sizeof(void*)) without AVX-512), which the
// preprocessor cannot evaluate (-march without AVX-512, nvcc's host pass): a constant instead.
#if defined(EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS)
inline constexpr int vector_registers = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS;
#else
inline constexpr int vector_registers = 16;
#endif
inline constexpr int MR = vector_registers >= 32 ? 6 : 4, NP = vector_registers >= 32 ? 4 : 2;  // the widest strip

// What is added to alpha * op(A) * B before C is written: beta * C (beta 0: C is not read), a
// bias per row of C (broadcast along the row), and an addend laid out like C. Pointers are at the
// tile's first row and column.
template <class T>
struct Epilogue {
  T alpha = T(1), beta = T(0);
  const T* bias = nullptr;
  const T* addend = nullptr;
  index_t ld_addend = 0;
  Epilogue at(index_t r, index_t j) const {
    Epilogue e = *this;
    if (bias) e.bias += r;
    if (addend) e.addend += r * ld_addend + j;
    return e;
  }
};

// One register tile: rows [r0, r0 + Rows) of C, columns [j, j + Np * packet) of one batch entry.
// a(r, kk) is op(A)'s entry; B rows are ldb apart.
template <int Rows, int Np, bool TransA, class T>
EIGEN_ALWAYS_INLINE void tile(index_t k, const T* A, index_t lda, const T* B, index_t ldb, T* C, index_t ldc,
                              const Epilogue<T>& e) {
  using P = Packet<T>;
  constexpr int PS = packet_size<T>;
  P acc[Rows][Np];
  for (int r = 0; r < Rows; ++r)
    for (int p = 0; p < Np; ++p) acc[r][p] = Eigen::internal::pset1<P>(T(0));
  for (index_t kk = 0; kk < k; ++kk) {
    P b[Np];
    for (int p = 0; p < Np; ++p) b[p] = Eigen::internal::ploadu<P>(B + kk * ldb + p * PS);
    for (int r = 0; r < Rows; ++r) {
      const P a = Eigen::internal::pset1<P>(TransA ? A[kk * lda + r] : A[r * lda + kk]);
      for (int p = 0; p < Np; ++p) acc[r][p] = Eigen::internal::pmadd(a, b[p], acc[r][p]);
    }
  }
  const P va = Eigen::internal::pset1<P>(e.alpha), vb = Eigen::internal::pset1<P>(e.beta);
  for (int r = 0; r < Rows; ++r) {
    const P bias = Eigen::internal::pset1<P>(e.bias ? e.bias[r] : T(0));
    for (int p = 0; p < Np; ++p) {
      T* c = C + r * ldc + p * PS;
      P v = e.alpha == T(1) ? acc[r][p] : Eigen::internal::pmul(va, acc[r][p]);
      if (e.beta == T(1)) v = Eigen::internal::padd(v, Eigen::internal::ploadu<P>(c));
      else if (e.beta != T(0)) v = Eigen::internal::pmadd(vb, Eigen::internal::ploadu<P>(c), v);
      if (e.bias) v = Eigen::internal::padd(v, bias);
      if (e.addend) v = Eigen::internal::padd(v, Eigen::internal::ploadu<P>(e.addend + r * e.ld_addend + p * PS));
      Eigen::internal::pstoreu(c, v);
    }
  }
}

// Columns narrower than a packet: plain scalar loops, same summation order.
template <bool TransA, class T>
void tile_scalar(index_t rows, index_t cols, index_t k, const T* A, index_t lda, const T* B, index_t ldb, T* C, index_t ldc,
                 const Epilogue<T>& e) {
  for (index_t r = 0; r < rows; ++r)
    for (index_t j = 0; j < cols; ++j) {
      T s(0);
      for (index_t kk = 0; kk < k; ++kk) s += (TransA ? A[kk * lda + r] : A[r * lda + kk]) * B[kk * ldb + j];
      T& c = C[r * ldc + j];
      T v = e.beta == T(0) ? e.alpha * s : e.alpha * s + e.beta * c;
      if (e.bias) v += e.bias[r];
      if (e.addend) v += e.addend[r * e.ld_addend + j];
      c = v;
    }
}

// Rows per register tile for a strip of Np packets: as many accumulators as the registers hold
// beside Np packets of B and one broadcast (a narrow strip takes more rows, so that each loaded
// packet of B still feeds several multiply-adds).
template <int Np>
inline constexpr int rows_for = vector_registers >= 32 ? (Np >= 4 ? 6 : Np == 3 ? 8 : Np == 2 ? 12 : 16) : (Np >= 2 ? 4 : 8);

// Rows [0, m) of op(A) over one strip of Np packets of columns: full tiles, then the last rows
// as tiles of 8, 4, 2, 1.
template <int Np, bool TransA, class T>
void strip(index_t m, index_t k, const T* A, index_t lda, const T* B, index_t ldb, T* C, index_t ldc, const Epilogue<T>& e) {
  constexpr int Rows = rows_for<Np>;
  const index_t rs = TransA ? 1 : lda;  // step of A's pointer per row of op(A)
  index_t r = 0;
  for (; r + Rows <= m; r += Rows) tile<Rows, Np, TransA>(k, A + r * rs, lda, B, ldb, C + r * ldc, ldc, e.at(r, 0));
  auto tail = [&](auto rows) {
    constexpr int R = decltype(rows)::value;
    if constexpr (R < Rows)
      if (m - r >= R) {
        tile<R, Np, TransA>(k, A + r * rs, lda, B, ldb, C + r * ldc, ldc, e.at(r, 0));
        r += R;
      }
  };
  tail(std::integral_constant<int, 8>{});
  tail(std::integral_constant<int, 4>{});
  tail(std::integral_constant<int, 2>{});
  tail(std::integral_constant<int, 1>{});
}

// Columns [j0, j1) of one batch entry: full strips, then one narrower strip of the packets
// left, then scalars.
template <bool TransA, class T>
void columns(index_t m, index_t k, const T* A, index_t lda, const T* B, index_t ldb, T* C, index_t ldc, const Epilogue<T>& e,
             index_t j0, index_t j1) {
  constexpr int PS = packet_size<T>;
  index_t j = j0;
  for (; j + NP * PS <= j1; j += NP * PS) strip<NP, TransA>(m, k, A, lda, B + j, ldb, C + j, ldc, e.at(0, j));
  const index_t packets = (j1 - j) / PS;
  if (packets == 3) {
    if constexpr (NP > 3) strip<3, TransA>(m, k, A, lda, B + j, ldb, C + j, ldc, e.at(0, j));
  } else if (packets == 2) {
    if constexpr (NP > 2) strip<2, TransA>(m, k, A, lda, B + j, ldb, C + j, ldc, e.at(0, j));
  } else if (packets == 1) {
    strip<1, TransA>(m, k, A, lda, B + j, ldb, C + j, ldc, e.at(0, j));
  }
  j += packets * PS;
  if (j < j1) tile_scalar<TransA>(m, j1 - j, k, A, lda, B + j, ldb, C + j, ldc, e.at(0, j));
}

}  // namespace panel

// Whether the panel kernel serves this GEMM: a real type with packets, one op(A) for every
// batch entry (stride 0), B as stored, op(A) small enough that a strip of B (k rows) and the
// whole of op(A) stay in cache, and rows of C long enough to fill register strips.
// The panel kernels' element types: real, with SIMD packets.
template <class T>
constexpr bool panel_real_type() {
  return (std::is_same_v<T, float> || std::is_same_v<T, double>) && panel::packet_size<T> > 1;
}
template <class T, Trans ta, Trans tb>
constexpr bool panel_gemm_applies_to_types() {
  return panel_real_type<T>() && tb == Trans::N && ta != Trans::C;
}
// (Measured 2026-12-02 against Eigen, 2 threads, AVX-512: 1.4-2.5x faster for 32-128 channels
// and rows of 256-16384. For k = 1 to 7 (a lifting layer's few input channels, output-bound) it
// is 1.3-2.4x faster too, in the same process alternating with Eigen, bias or not (measured
// 2026-12-02: m = 64, 128; rows 1024); an earlier reading that Eigen won there was not
// reproduced. A single row stays with Eigen's matrix-vector path.)
inline bool panel_gemm_applies(const GemmShape& s, int packet) {
  return s.stride_a == 0 && s.m >= 4 && s.k >= 1 && s.k <= 512 && s.m * s.k <= (index_t(1) << 16) && s.n >= 4 * packet;
}

// Work division by sizes only: column chunks of whole strips, about panel_task_flops
// multiply-adds each.
inline constexpr index_t panel_task_flops = index_t(1) << 20;

// Batch entry b's epilogue pointers: the bias is shared, the addend has C's layout
// (stride_addend apart).
template <class T, Trans ta>
void panel_gemm(const GemmShape& s, const T* A, const T* B, T* C, const panel::Epilogue<T>& epi, index_t stride_addend = 0) {
  constexpr index_t strip_cols = panel::NP * panel::packet_size<T>;
  const index_t per_col = std::max<index_t>(1, s.m * s.k);
  index_t chunk = std::max<index_t>(1, panel_task_flops / per_col);
  chunk = std::max(strip_cols, chunk / strip_cols * strip_cols);
  const index_t n_chunks = (s.n + chunk - 1) / chunk;
  ThreadPool::instance().parallel_for(s.batch * n_chunks, [&](index_t t) {
    const index_t b = t / n_chunks, j0 = (t % n_chunks) * chunk, j1 = std::min(s.n, j0 + chunk);
    panel::Epilogue<T> e = epi;
    if (e.addend) e.addend += b * stride_addend;
    panel::columns<ta == Trans::T>(s.m, s.k, A, s.lda, B + b * s.stride_b, s.ldb, C + b * s.stride_c, s.ldc, e, j0, j1);
  });
}
template <class T, Trans ta>
void panel_gemm(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C) {
  panel_gemm<T, ta>(s, A, B, C, panel::Epilogue<T>{.alpha = alpha, .beta = beta});
}

// ---- C[b] = alpha * A[b] * B[b]^T + beta * C[b] with a long inner dimension: A[b] (m x k) and
// B[b] (n x k) both run along k (a 1x1 map's weight gradient dy x^T, k the spatial size; Eigen
// spent a third of its time there packing both operands, measured 2026-12-02). Chunks of kc
// columns of B[b] are transposed into a buffer (packet x packet blocks in registers), which the
// panel kernel above reads as its B (kc x n, rows of n, padded to whole packets); A is read in
// place (broadcasts); the rows of C are summed in a buffer over the chunks in order of k, then
// written with alpha and beta. (Measured 2026-12-02 in one process alternating with Eigen, 2
// threads: 1.1-1.6x faster on the weight gradients of FNO configurations b, d, e and on the
// inverse real DFT's adjoint, 2048 x 1024 times 1024 x 18 or 32.)

namespace panel {
// PS x PS values in PS packets, for Eigen's in-register transpose. (GCC warns that a packet's
// vector attributes are dropped in the template argument; harmless here: its size and alignment
// are in the packet types themselves.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
template <class T>
using Block = Eigen::internal::PacketBlock<Packet<T>, packet_size<T>>;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// dst[kk * ldd + j] = src[j * lds + kk] for j < n, kk < kc.
template <class T>
void pack_transposed(index_t n, index_t kc, const T* src, index_t lds, T* dst, index_t ldd) {
  using P = Packet<T>;
  constexpr int PS = packet_size<T>;
  index_t j = 0;
  for (; j + PS <= n; j += PS) {
    index_t kk = 0;
    for (; kk + PS <= kc; kk += PS) {
      Block<T> blk;
      for (int r = 0; r < PS; ++r) blk.packet[r] = Eigen::internal::ploadu<P>(src + (j + r) * lds + kk);
      Eigen::internal::ptranspose(blk);
      for (int r = 0; r < PS; ++r) Eigen::internal::pstoreu(dst + (kk + r) * ldd + j, blk.packet[r]);
    }
    for (; kk < kc; ++kk)
      for (int r = 0; r < PS; ++r) dst[kk * ldd + j + r] = src[(j + r) * lds + kk];
  }
  for (; j < n; ++j)
    for (index_t kk = 0; kk < kc; ++kk) dst[kk * ldd + j] = src[j * lds + kk];
}
}  // namespace panel

template <class T, Trans ta, Trans tb>
constexpr bool panel_gemm_nt_applies_to_types() {
  return panel_real_type<T>() && ta == Trans::N && tb != Trans::N;
}
// A long k (the transposition costs one pass over B per row chunk of C, against m multiply-adds
// per element of B), rows of C at least a packet, and a chunk buffer within L2.
inline bool panel_gemm_nt_applies(const GemmShape& s, int packet) {
  return s.m >= 4 && s.k >= 64 && s.n >= packet && s.n <= 1024;
}

template <class T>
void panel_gemm_nt(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C) {
  constexpr index_t PS = panel::packet_size<T>;
  // C's rows padded to whole packets (zero columns of B^T): a ragged end (the inverse real DFT's
  // 2 x 9 coefficients of 16 modes) runs in registers rather than in scalar loops over all of k.
  const index_t n_pad = (s.n + PS - 1) / PS * PS;
  // kc columns of B per chunk: the transposed chunk (kc x n_pad) within 64 KiB of float.
  const index_t kc = std::clamp<index_t>(index_t(16384) / n_pad / PS * PS, PS, 256);
  // Tasks by sizes only: whole batch entries, their rows split (each split transposes B again)
  // only as far as needed for about 16 tasks, into chunks of at least 32 rows.
  const index_t want = std::max<index_t>(1, std::min((index_t(16) + s.batch - 1) / s.batch, s.m / 32));
  const index_t rows = ((s.m + want - 1) / want + panel::MR - 1) / panel::MR * panel::MR;
  const index_t n_chunks = (s.m + rows - 1) / rows;
  ThreadPool::instance().parallel_for(s.batch * n_chunks, [&](index_t t) {
    const index_t b = t / n_chunks, r0 = (t % n_chunks) * rows, r1 = std::min(s.m, r0 + rows), nr = r1 - r0;
    // The chunk of B transposed, and the rows of C summed over the chunks. (Copying A's chunk
    // too, to a row stride off 4 KiB multiples, was 10-30% slower: measured 2026-12-02.)
    thread_local std::vector<T> buf, cbuf;
    auto fit = [](std::vector<T>& v, index_t size) {
      if (v.size() < static_cast<std::size_t>(size)) v.resize(static_cast<std::size_t>(size));
    };
    fit(buf, kc * n_pad);
    fit(cbuf, nr * n_pad);
    const T* a = A + b * s.stride_a + r0 * s.lda;
    const T* bb = B + b * s.stride_b;
    for (index_t k0 = 0; k0 < s.k; k0 += kc) {
      const index_t kcur = std::min(kc, s.k - k0);
      panel::pack_transposed(s.n, kcur, bb + k0, s.ldb, buf.data(), n_pad);
      if (n_pad > s.n)
        for (index_t kk = 0; kk < kcur; ++kk) std::fill_n(buf.data() + kk * n_pad + s.n, n_pad - s.n, T(0));
      const panel::Epilogue<T> e{.beta = k0 == 0 ? T(0) : T(1)};
      panel::columns<false>(nr, kcur, a + k0, s.lda, buf.data(), n_pad, cbuf.data(), n_pad, e, 0, n_pad);
    }
    T* c = C + b * s.stride_c + r0 * s.ldc;
    for (index_t r = 0; r < nr; ++r)
      for (index_t j = 0; j < s.n; ++j) {
        const T v = alpha * cbuf[static_cast<std::size_t>(r * n_pad + j)];
        c[r * s.ldc + j] = beta == T(0) ? v : v + beta * c[r * s.ldc + j];
      }
  });
}

}  // namespace neuralop::cpu_detail
