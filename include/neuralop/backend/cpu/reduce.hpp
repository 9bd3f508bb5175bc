// Sum and max along any set of axes of a contiguous cpu tensor. Work is split into tasks by
// size alone and partial results combine in a fixed order: bit-identical for any thread count.
// Float sums (and complex<float>) accumulate in double (backend/cpu/wide_sum.hpp) and round once
// at the end.
#pragma once

#include <algorithm>
#include <array>
#include <limits>
#include <type_traits>
#include <vector>

#include "neuralop/backend/cpu/thread_pool.hpp"
#include "neuralop/backend/cpu/wide_sum.hpp"
#include "neuralop/backend/math.hpp"
#include "neuralop/core/config.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace neuralop {

enum class ReduceOp { sum, max };

namespace cpu_detail {

inline constexpr int max_reduce_dims = 16;
inline constexpr index_t reduce_task_elems = index_t(1) << 16;

template <class T, ReduceOp Op>
struct Reducer {
  // The accumulator: wider than T for float sums.
  using A = std::conditional_t<Op == ReduceOp::sum, wide_t<T>, T>;
  static constexpr bool widened = !std::is_same_v<A, T>;
  static A identity() {
    if constexpr (Op == ReduceOp::sum) return A(0);
    else return -std::numeric_limits<T>::infinity();
  }
  static A combine(A a, A b) {
    if constexpr (Op == ReduceOp::sum) return a + b;
    else return (b > a || b != b) ? b : a;  // NaN propagates, as torch.amax
  }
  template <class V>
  static V vcombine(const V& a, const V& b) {
    if constexpr (Op == ReduceOp::sum) return math::add(a, b);
    else return math::max(a, b);
  }

  // Reduce a contiguous run.
  static A run(const T* p, index_t n) {
    if constexpr (widened) {
      return wide_sum(p, n);
    } else {
      return run_packets(p, n);
    }
  }
  // ... with four independent packet accumulators.
  static T run_packets(const T* p, index_t n) {
    using V = math::packet_t<T>;
    constexpr int W = math::packet_of<T>::size;
    T acc = identity();
    index_t i = 0;
    if constexpr (W > 1) {
      if (n >= 4 * W) {
        V a0 = math::load<V>(p), a1 = math::load<V>(p + W), a2 = math::load<V>(p + 2 * W),
          a3 = math::load<V>(p + 3 * W);
        for (i = 4 * W; i + 4 * W <= n; i += 4 * W) {
          a0 = vcombine(a0, math::load<V>(p + i));
          a1 = vcombine(a1, math::load<V>(p + i + W));
          a2 = vcombine(a2, math::load<V>(p + i + 2 * W));
          a3 = vcombine(a3, math::load<V>(p + i + 3 * W));
        }
        const V a = vcombine(vcombine(a0, a1), vcombine(a2, a3));
        alignas(64) T lanes[W];
        math::store(lanes, a);
        for (int l = 0; l < W; ++l) acc = combine(acc, lanes[l]);
      }
    }
    for (; i < n; ++i) acc = combine(acc, p[i]);
    return acc;
  }

  // acc[0..n) <- combine(acc, p[0..n))
  static void row(A* acc, const T* p, index_t n) {
    if constexpr (widened) {
      wide_add_row(acc, p, n);
    } else {
      row_packets(acc, p, n);
    }
  }
  // acc[0..n) <- combine(acc, p[0..n)) in A, both already widened.
  static void row_wide(A* acc, const A* p, index_t n) {
    if constexpr (widened) {
      for (index_t i = 0; i < n; ++i) acc[i] += p[i];
    } else {
      row_packets(acc, p, n);
    }
  }
  static void row_packets(T* acc, const T* p, index_t n) {
    using V = math::packet_t<T>;
    constexpr int W = math::packet_of<T>::size;
    index_t i = 0;
    if constexpr (W > 1)
      for (; i + W <= n; i += W) math::store(acc + i, vcombine(math::load<V>(acc + i), math::load<V>(p + i)));
    for (; i < n; ++i) acc[i] = combine(acc[i], p[i]);
  }
};

// Collapsed description: alternating kept/reduced dims, contiguous strides.
struct ReduceLayout {
  int nd = 0;
  std::array<index_t, max_reduce_dims> size{}, stride{};
  std::array<bool, max_reduce_dims> red{};
  // Separate lists of kept and reduced dims (outer to inner), for index decomposition.
  int nk = 0, nr = 0;
  std::array<index_t, max_reduce_dims> ksize{}, kstride{}, rsize{}, rstride{};
  index_t n_out = 1, n_red = 1;

  // Input offset of kept multi-index `o` (row-major over kept dims) and reduced index `r`.
  index_t offset(index_t o, index_t r, int kept_skip_inner, int red_skip_inner) const {
    index_t off = 0;
    for (int d = nk - 1 - kept_skip_inner; d >= 0; --d) {
      off += (o % ksize[d]) * kstride[d];
      o /= ksize[d];
    }
    for (int d = nr - 1 - red_skip_inner; d >= 0; --d) {
      off += (r % rsize[d]) * rstride[d];
      r /= rsize[d];
    }
    return off;
  }
};

inline ReduceLayout make_reduce_layout(const index_t* shape, const bool* reduced, int ndim) {
  ReduceLayout L;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    if (L.nd > 0 && L.red[L.nd - 1] == reduced[d]) {
      L.size[L.nd - 1] *= shape[d];
    } else {
      L.size[L.nd] = shape[d];
      L.red[L.nd] = reduced[d];
      ++L.nd;
    }
  }
  index_t acc = 1;
  for (int d = L.nd - 1; d >= 0; --d) {
    L.stride[d] = acc;
    acc *= L.size[d];
  }
  for (int d = 0; d < L.nd; ++d) {
    if (L.red[d]) {
      L.rsize[L.nr] = L.size[d];
      L.rstride[L.nr++] = L.stride[d];
      L.n_red *= L.size[d];
    } else {
      L.ksize[L.nk] = L.size[d];
      L.kstride[L.nk++] = L.stride[d];
      L.n_out *= L.size[d];
    }
  }
  return L;
}

template <class T, ReduceOp Op>
void reduce(const T* in, const index_t* shape, const bool* reduced, int ndim, T* out) {
  using R = Reducer<T, Op>;
  using A = typename R::A;
  const ReduceLayout L = make_reduce_layout(shape, reduced, ndim);
  auto& pool = ThreadPool::instance();
  if (L.nr == 0) {  // nothing reduced: a copy
    std::copy(in, in + L.n_out, out);
    return;
  }
  const bool inner_reduced = L.red[L.nd - 1];
  if (inner_reduced) {
    // out[o] = combine over runs of length Lr = innermost reduced size.
    const index_t Lr = L.rsize[L.nr - 1];
    const index_t n_runs = L.n_red / Lr;
    const index_t runs_per_chunk = std::max<index_t>(1, reduce_task_elems / Lr);
    const index_t n_chunks = (n_runs + runs_per_chunk - 1) / runs_per_chunk;
    auto chunk_value = [&](index_t o, index_t c) {
      A acc = R::identity();
      const index_t r1 = std::min(n_runs, (c + 1) * runs_per_chunk);
      for (index_t r = c * runs_per_chunk; r < r1; ++r) acc = R::combine(acc, R::run(in + L.offset(o, r, 0, 1), Lr));
      return acc;
    };
    if (n_chunks == 1) {
      const index_t outs_per_task = std::max<index_t>(1, reduce_task_elems / L.n_red);
      pool.parallel_for((L.n_out + outs_per_task - 1) / outs_per_task, [&](index_t t) {
        const index_t o1 = std::min(L.n_out, (t + 1) * outs_per_task);
        for (index_t o = t * outs_per_task; o < o1; ++o) out[o] = T(chunk_value(o, 0));
      });
    } else {
      std::vector<A> partial(static_cast<std::size_t>(L.n_out * n_chunks));
      pool.parallel_for(L.n_out * n_chunks, [&](index_t t) { partial[t] = chunk_value(t / n_chunks, t % n_chunks); });
      for (index_t o = 0; o < L.n_out; ++o) {
        A acc = R::identity();
        for (index_t c = 0; c < n_chunks; ++c) acc = R::combine(acc, partial[o * n_chunks + c]);
        out[o] = T(acc);
      }
    }
    return;
  }
  // Innermost dim kept (length Lk): each output row of Lk values combines n_red input rows.
  const index_t Lk = L.ksize[L.nk - 1];
  const index_t n_rows_out = L.n_out / Lk;
  const index_t col_w = std::min<index_t>(Lk, 4096);
  const index_t n_cols = (Lk + col_w - 1) / col_w;
  const index_t rows_per_chunk = std::max<index_t>(1, reduce_task_elems / col_w);
  const index_t n_chunks = (L.n_red + rows_per_chunk - 1) / rows_per_chunk;
  auto do_task = [&](index_t orow, index_t col, index_t c, A* dst) {
    const index_t c0 = col * col_w, w = std::min(col_w, Lk - c0);
    std::fill(dst, dst + w, R::identity());
    const index_t r1 = std::min(L.n_red, (c + 1) * rows_per_chunk);
    for (index_t r = c * rows_per_chunk; r < r1; ++r) R::row(dst, in + L.offset(orow, r, 1, 0) + c0, w);
  };
  if (n_chunks == 1) {
    pool.parallel_for(n_rows_out * n_cols, [&](index_t t) {
      const index_t orow = t / n_cols, col = t % n_cols;
      T* const dst = out + orow * Lk + col * col_w;
      if constexpr (!R::widened) {
        do_task(orow, col, 0, dst);
      } else {  // accumulate in a widened row, round once
        thread_local std::vector<A> acc;
        acc.resize(static_cast<std::size_t>(col_w));
        do_task(orow, col, 0, acc.data());
        const index_t w = std::min(col_w, Lk - col * col_w);
        for (index_t i = 0; i < w; ++i) dst[i] = T(acc[std::size_t(i)]);
      }
    });
    return;
  }
  std::vector<A> partial(static_cast<std::size_t>(n_chunks * L.n_out));
  pool.parallel_for(n_rows_out * n_cols * n_chunks, [&](index_t t) {
    const index_t c = t % n_chunks, rest = t / n_chunks, col = rest % n_cols, orow = rest / n_cols;
    do_task(orow, col, c, partial.data() + c * L.n_out + orow * Lk + col * col_w);
  });
  pool.parallel_for((L.n_out + reduce_task_elems - 1) / reduce_task_elems, [&](index_t t) {
    const index_t o0 = t * reduce_task_elems, o1 = std::min(L.n_out, o0 + reduce_task_elems);
    for (index_t c = 1; c < n_chunks; ++c) R::row_wide(partial.data() + o0, partial.data() + c * L.n_out + o0, o1 - o0);
    for (index_t o = o0; o < o1; ++o) out[o] = T(partial[std::size_t(o)]);
  });
}

}  // namespace cpu_detail
}  // namespace neuralop

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
