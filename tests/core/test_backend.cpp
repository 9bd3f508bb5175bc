// The cpu backend: reductions along any axes, batched GEMM in every transpose mode, thread-count
// independence of results, the caching allocator, and error propagation from worker threads.
#include <atomic>

#include "../helpers.hpp"

using namespace neuralop;

namespace {

// Naive reference: reduce axes in `mask` of a contiguous [d0, d1, d2, d3] array.
template <class T>
std::vector<T> naive_reduce(const std::vector<T>& x, const Shape<4>& s, const std::array<bool, 4>& mask, bool is_max) {
  Shape<4> o = s;
  for (int d = 0; d < 4; ++d)
    if (mask[d]) o[d] = 1;
  std::vector<T> out(static_cast<std::size_t>(numel(o)), is_max ? T(-1e300) : T(0));
  const auto so = contiguous_strides(o);
  for (index_t i = 0; i < s[0]; ++i)
    for (index_t j = 0; j < s[1]; ++j)
      for (index_t k = 0; k < s[2]; ++k)
        for (index_t l = 0; l < s[3]; ++l) {
          const index_t idx[4] = {i, j, k, l};
          index_t oi = 0;
          for (int d = 0; d < 4; ++d) oi += (mask[d] ? 0 : idx[d]) * so[d];
          const T v = x[static_cast<std::size_t>(((i * s[1] + j) * s[2] + k) * s[3] + l)];
          T& acc = out[static_cast<std::size_t>(oi)];
          if constexpr (!is_complex_v<T>) {
            if (is_max) acc = std::max(acc, v);
            else acc += v;
          } else {
            acc += v;
          }
        }
  return out;
}

}  // namespace

TEST_CASE_TEMPLATE("sum and max along every axis combination match a naive loop", T, float, double) {
  Generator g(11);
  const Shape<4> s{3, 5, 7, 66};
  const auto x = Tensor<T, 4>::normal(s, T(0), T(1), g);
  const auto xv = x.to_vector();
  for (int m = 0; m < 16; ++m) {
    const std::array<bool, 4> mask{bool(m & 8), bool(m & 4), bool(m & 2), bool(m & 1)};
    for (bool is_max : {false, true}) {
      Shape<4> o = s;
      for (int d = 0; d < 4; ++d)
        if (mask[d]) o[d] = 1;
      auto out = Tensor<T, 4>::empty(o);
      cpu::reduce<T>(is_max ? ReduceOp::max : ReduceOp::sum, x.data(), s.data(), mask.data(), 4, out.data());
      const auto ref = naive_reduce(xv, s, mask, is_max);
      INFO("mask " << m << (is_max ? " max" : " sum"));
      CHECK(test::max_abs_diff(out.to_vector(), ref) <= (std::is_same_v<T, float> ? 2e-4 : 1e-11));
    }
  }
}

TEST_CASE("large reductions split into chunks stay accurate and thread-independent") {
  Generator g(2);
  const auto x = Tensor<float, 2>::uniform({3, 1 << 20}, 0.f, 1.f, g);  // rows of 2^20
  const auto col = Tensor<float, 2>::uniform({1 << 18, 5}, 0.f, 1.f, g);
  std::vector<float> a1, a2, b1, b2;
  test::with_threads(1, [&] {
    a1 = sum(x, {1}).to_vector();
    b1 = sum(col, {0}).to_vector();
  });
  test::with_threads(4, [&] {
    a2 = sum(x, {1}).to_vector();
    b2 = sum(col, {0}).to_vector();
  });
  CHECK(a1 == a2);
  CHECK(b1 == b2);
  // Expected ~ n/2 with relative accuracy far better than naive float accumulation.
  const auto xv = x.to_vector();
  double exact = 0;
  for (index_t i = 0; i < (1 << 20); ++i) exact += xv[static_cast<std::size_t>(i)];
  CHECK(std::abs(a1[0] - exact) / exact < 1e-6);
}

namespace {
// |got - exact| / |exact| for every element, the worst.
template <class T>
double worst_rel(const std::vector<T>& got, const std::vector<std::complex<double>>& exact) {
  double w = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    w = std::max(w, std::abs(std::complex<double>(got[i]) - exact[i]) / std::abs(exact[i]));
  return w;
}
}  // namespace

TEST_CASE("float sums accumulate in double: within float's own rounding of the exact sum, on every path") {
  // Float accumulators drift by 1e-6 to 1e-4 over these lengths; one rounding of the exact sum
  // is at most 2^-24 = 6e-8 relative. Values in [0.5, 1): no cancellation to amplify anything.
  Generator g(5);
  constexpr double tol = 1.2e-7;
  auto exact_rows = [](const std::vector<float>& v, index_t rows, index_t cols, bool along_rows) {
    std::vector<std::complex<double>> out(static_cast<std::size_t>(along_rows ? rows : cols));
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) out[std::size_t(along_rows ? r : c)] += double(v[std::size_t(r * cols + c)]);
    return out;
  };
  SUBCASE("innermost axis, one task and split into chunks") {
    for (index_t n : {index_t(1000), index_t(1) << 15, (index_t(1) << 20) + 7}) {
      CAPTURE(n);
      const auto x = Tensor<float, 2>::uniform({2, n}, 0.5f, 1.f, g);
      CHECK(worst_rel(sum(x, {1}).to_vector(), exact_rows(x.to_vector(), 2, n, true)) <= tol);
    }
  }
  SUBCASE("outer axis (rows added into a kept row), one task and split into chunks") {
    for (index_t n : {index_t(300), index_t(1) << 17}) {
      CAPTURE(n);
      const auto x = Tensor<float, 2>::uniform({n, 37}, 0.5f, 1.f, g);
      CHECK(worst_rel(sum(x, {0}).to_vector(), exact_rows(x.to_vector(), n, 37, false)) <= tol);
    }
  }
  SUBCASE("everything, and complex<float>") {
    const auto x = Tensor<float, 3>::uniform({4, 300, 1000}, 0.5f, 1.f, g);
    CHECK(worst_rel(std::vector<float>{sum(x).item()}, exact_rows(x.to_vector(), 1, numel(x.shape()), true)) <= tol);
    const auto re = Tensor<float, 1>::uniform({1 << 19}, 0.5f, 1.f, g), im = Tensor<float, 1>::uniform({1 << 19}, 0.5f, 1.f, g);
    const auto rev = re.to_vector(), imv = im.to_vector();
    std::vector<std::complex<float>> zv;
    std::complex<double> exact = 0;
    for (std::size_t i = 0; i < rev.size(); ++i) {
      zv.emplace_back(rev[i], -imv[i]);
      exact += std::complex<double>(zv.back());
    }
    const auto z = Tensor<std::complex<float>, 1>::from_data({1 << 19}, zv);
    CHECK(worst_rel(std::vector<std::complex<float>>{sum(z).item()}, {exact}) <= tol);
  }
}

TEST_CASE("the widened float sum adds in its documented order, whatever the instruction set") {
  // backend/cpu/wide_sum.hpp: 32 double lanes (lane l takes elements l, l + 32, ...; the tail
  // goes into lanes 0, 1, ...), halved 16, 8, 4, 2 keeping parity; even + odd. Written here in
  // plain C++: the AVX-512 or AVX path this test is compiled with must give it bitwise.
  Generator g(6);
  CHECK(cpu_detail::wide_sum(static_cast<const float*>(nullptr), 0) == 0.0);
  for (index_t n : {index_t(1), index_t(5), index_t(64), index_t(1001), index_t(100003)}) {
    CAPTURE(n);
    const auto x = Tensor<float, 1>::normal({n}, 0.f, 1.f, g).to_vector();
    double lane[32] = {};
    index_t i = 0;
    for (; i + 32 <= n; i += 32)
      for (int l = 0; l < 32; ++l) lane[l] += double(x[std::size_t(i + l)]);
    for (int l = 0; i < n; ++i, ++l) lane[l] += double(x[std::size_t(i)]);
    for (int w = 16; w >= 2; w /= 2)
      for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
    CHECK(cpu_detail::wide_sum(x.data(), n) == lane[0] + lane[1]);
  }
}

TEST_CASE("complex sums") {
  using C = std::complex<double>;
  auto z = Tensor<C, 2>::from_data({2, 2}, {C(1, 1), C(2, -1), C(3, 0), C(0, 5)});
  const auto s = sum(z, {0}).to_vector();
  CHECK(s[0] == C(4, 1));
  CHECK(s[1] == C(2, 4));
  CHECK(sum(z).item() == C(6, 5));
}

namespace {
template <class T>
std::vector<T> naive_gemm(Trans ta, Trans tb, index_t m, index_t n, index_t k, const std::vector<T>& A,
                          const std::vector<T>& B) {
  auto a = [&](index_t i, index_t p) {
    if (ta == Trans::N) return A[static_cast<std::size_t>(i * k + p)];
    const T v = A[static_cast<std::size_t>(p * m + i)];
    if constexpr (is_complex_v<T>) return ta == Trans::C ? std::conj(v) : v;
    else return v;
  };
  auto b = [&](index_t p, index_t j) {
    if (tb == Trans::N) return B[static_cast<std::size_t>(p * n + j)];
    const T v = B[static_cast<std::size_t>(j * k + p)];
    if constexpr (is_complex_v<T>) return tb == Trans::C ? std::conj(v) : v;
    else return v;
  };
  std::vector<T> C(static_cast<std::size_t>(m * n), T(0));
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j)
      for (index_t p = 0; p < k; ++p) C[static_cast<std::size_t>(i * n + j)] += a(i, p) * b(p, j);
  return C;
}

template <class T, Trans ta, Trans tb>
void check_gemm() {
  Generator g(8);
  const index_t batch = 3, m = 37, n = 45, k = 29;
  const auto A = Tensor<T, 3>::normal({batch, m, k}, 0, 1, g), Bt = Tensor<T, 3>::normal({batch, k, n}, 0, 1, g);
  auto C = Tensor<T, 3>::normal({batch, m, n}, 0, 1, g);
  const auto C0 = C.to_vector();
  const GemmShape s = packed_gemm_shape<ta, tb>(batch, m, n, k, m * k, k * n, m * n);
  cpu::gemm<T, ta, tb>(s, T(2), A.data(), Bt.data(), T(0.5), C.data());
  const auto av = A.to_vector(), bv = Bt.to_vector(), cv = C.to_vector();
  double worst = 0;
  for (index_t b = 0; b < batch; ++b) {
    std::vector<T> Ab(av.begin() + b * m * k, av.begin() + (b + 1) * m * k), Bb(bv.begin() + b * k * n, bv.begin() + (b + 1) * k * n);
    const auto ref = naive_gemm(ta, tb, m, n, k, Ab, Bb);
    for (index_t i = 0; i < m * n; ++i)
      worst = std::max(worst, double(std::abs(cv[static_cast<std::size_t>(b * m * n + i)] -
                                              (T(2) * ref[static_cast<std::size_t>(i)] + T(0.5) * C0[static_cast<std::size_t>(b * m * n + i)]))));
  }
  CHECK(worst < (std::is_same_v<real_t<T>, float> ? 1e-4 : 1e-12));
}
}  // namespace

TEST_CASE("batched GEMM in N, T and C modes, real and complex") {
  check_gemm<double, Trans::N, Trans::N>();
  check_gemm<double, Trans::T, Trans::N>();
  check_gemm<double, Trans::N, Trans::T>();
  check_gemm<float, Trans::N, Trans::N>();
  check_gemm<std::complex<double>, Trans::C, Trans::N>();
  check_gemm<std::complex<double>, Trans::N, Trans::C>();
  check_gemm<std::complex<float>, Trans::T, Trans::N>();
}

namespace {
// The channel-map GEMM (one small op(A) for every batch entry, long rows of B; served by the
// panel kernel) against the naive product, with the row counts around the register tile, row
// lengths with packet and scalar tails, alpha, beta, and the fused bias and addend.
template <class T, Trans ta>
void check_panel_gemm(index_t m, index_t k, index_t n) {
  CAPTURE(m);
  CAPTURE(k);
  CAPTURE(n);
  Generator g(static_cast<std::uint64_t>(m * 1000 + k * 10 + n));
  const index_t batch = 3;
  const auto A = Tensor<T, 2>::normal({ta == Trans::N ? m : k, ta == Trans::N ? k : m}, 0, 1, g);
  const auto Bt = Tensor<T, 3>::normal({batch, k, n}, 0, 1, g);
  const auto C0 = Tensor<T, 3>::normal({batch, m, n}, 0, 1, g);
  const auto bias = Tensor<T, 1>::normal({m}, 0, 1, g);
  const auto addend = Tensor<T, 3>::normal({batch, m, n}, 0, 1, g);
  const GemmShape s = packed_gemm_shape<ta, Trans::N>(batch, m, n, k, 0, k * n, m * n);
  REQUIRE(cpu_detail::panel_gemm_applies(s, cpu_detail::panel::packet_size<T>));
  const auto av = A.to_vector(), bv = Bt.to_vector(), c0 = C0.to_vector(), biasv = bias.to_vector(), addv = addend.to_vector();
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  struct Case {
    T alpha, beta;
    bool bias, addend;
  };
  for (const Case c : {Case{T(1), T(0), false, false}, Case{T(1), T(1), false, false}, Case{T(2), T(0.5), false, false},
                       Case{T(1), T(0), true, false}, Case{T(1), T(0), false, true}, Case{T(1), T(0), true, true}}) {
    auto C = Tensor<T, 3>::empty({batch, m, n});
    if (c.bias || c.addend) {
      cpu::gemm_bias_add<T, ta, Trans::N>(s, A.data(), Bt.data(), c.bias ? bias.data() : nullptr,
                                          c.addend ? addend.data() : nullptr, m * n, C.data());
    } else {
      C.assign(C0);
      cpu::gemm<T, ta, Trans::N>(s, c.alpha, A.data(), Bt.data(), c.beta, C.data());
    }
    const auto cv = C.to_vector();
    double worst = 0;
    for (index_t b = 0; b < batch; ++b) {
      const std::vector<T> Bb(bv.begin() + b * k * n, bv.begin() + (b + 1) * k * n);
      const auto ref = naive_gemm(ta, Trans::N, m, n, k, av, Bb);
      for (index_t i = 0; i < m * n; ++i) {
        const auto at = static_cast<std::size_t>(b * m * n + i);
        T want = c.alpha * ref[static_cast<std::size_t>(i)] + c.beta * c0[at];
        if (c.bias) want += biasv[static_cast<std::size_t>(i / n)];
        if (c.addend) want += addv[at];
        worst = std::max(worst, double(std::abs(cv[at] - want)));
      }
    }
    CAPTURE(double(c.alpha));
    CAPTURE(double(c.beta));
    CAPTURE(c.bias);
    CAPTURE(c.addend);
    CHECK(worst < tol);
  }
}
}  // namespace

TEST_CASE("the channel-map GEMM (panel kernel) matches the naive product, with its fused bias and addend") {
  for (const index_t m : {4, 5, 6, 7, 13, 17, 64})
    for (const index_t k : {1, 2, 8, 11, 64})
      for (const index_t n : {64, 67, 130, 1000}) {
        check_panel_gemm<float, Trans::N>(m, k, n);
        check_panel_gemm<double, Trans::T>(m, k, n);
      }
  check_panel_gemm<float, Trans::T>(33, 65, 257);
  check_panel_gemm<double, Trans::N>(33, 65, 257);
}

namespace {
// The weight-gradient GEMM C[b] = alpha A[b] B[b]^T + beta C[b] with a long k (panel kernel over
// transposed chunks of B) against the naive product: row counts around the register tile, row
// lengths with packet and scalar tails, k across several chunks with a ragged last one.
template <class T>
void check_panel_gemm_nt(index_t m, index_t k, index_t n) {
  CAPTURE(m);
  CAPTURE(k);
  CAPTURE(n);
  Generator g(static_cast<std::uint64_t>(m * 7000 + k * 10 + n));
  const index_t batch = 3;
  const auto A = Tensor<T, 3>::normal({batch, m, k}, 0, 1, g), Bt = Tensor<T, 3>::normal({batch, n, k}, 0, 1, g);
  const auto C0 = Tensor<T, 3>::normal({batch, m, n}, 0, 1, g);
  const GemmShape s = packed_gemm_shape<Trans::N, Trans::T>(batch, m, n, k, m * k, n * k, m * n);
  REQUIRE(cpu_detail::panel_gemm_nt_applies(s, cpu_detail::panel::packet_size<T>));
  const auto av = A.to_vector(), bv = Bt.to_vector(), c0 = C0.to_vector();
  for (const auto ab : {std::array<T, 2>{T(1), T(0)}, std::array<T, 2>{T(2), T(0.5)}, std::array<T, 2>{T(1), T(1)}}) {
    auto C = Tensor<T, 3>::empty({batch, m, n});
    C.assign(C0);
    cpu::gemm<T, Trans::N, Trans::T>(s, ab[0], A.data(), Bt.data(), ab[1], C.data());
    const auto cv = C.to_vector();
    double worst = 0, scale = 0;
    for (index_t b = 0; b < batch; ++b) {
      const std::vector<T> Ab(av.begin() + b * m * k, av.begin() + (b + 1) * m * k), Bb(bv.begin() + b * n * k, bv.begin() + (b + 1) * n * k);
      const auto ref = naive_gemm(Trans::N, Trans::T, m, n, k, Ab, Bb);
      for (index_t i = 0; i < m * n; ++i) {
        const auto at = static_cast<std::size_t>(b * m * n + i);
        const T want = ab[0] * ref[static_cast<std::size_t>(i)] + ab[1] * c0[at];
        worst = std::max(worst, double(std::abs(cv[at] - want)));
        scale = std::max(scale, double(std::abs(want)));
      }
    }
    CAPTURE(double(ab[0]));
    CAPTURE(double(ab[1]));
    CHECK(worst < (std::is_same_v<T, float> ? 1e-5 : 1e-13) * std::max(1.0, scale));
  }
}
}  // namespace

TEST_CASE("the weight-gradient GEMM (A B^T, long k; panel kernel) matches the naive product") {
  for (const index_t m : {4, 7, 13, 64})
    for (const index_t k : {64, 100, 1030})
      for (const index_t n : {16, 17, 33, 64, 130}) {
        check_panel_gemm_nt<float>(m, k, n);
        check_panel_gemm_nt<double>(m, k, n);
      }
  check_panel_gemm_nt<float>(70, 4100, 40);  // rows split into tasks
  check_panel_gemm_nt<double>(5, 64, 1024);
}

TEST_CASE("the per-mode contraction matches the naive sums, with either operand conjugated") {
  using Z = std::complex<float>;
  for (const index_t M : {1, 9, 16, 37})
    for (const auto& dims : {std::array<index_t, 3>{1, 1, 1}, {5, 7, 3}, {8, 16, 9}, {9, 21, 4}}) {
      // (no structured binding: clang 14 cannot capture one in a lambda or CAPTURE)
      const index_t na = dims[0], nb = dims[1], nc = dims[2];
      CAPTURE(M);
      CAPTURE(na);
      CAPTURE(nb);
      CAPTURE(nc);
      Generator g(static_cast<std::uint64_t>(M * 100 + na));
      // L as [nc, na, M] (row stride M, column stride na * M), R as [nc, nb, M], out [na, nb, M].
      const auto L = Tensor<Z, 3>::normal({nc, na, M}, 0, 1, g), R = Tensor<Z, 3>::normal({nc, nb, M}, 0, 1, g);
      const auto O0 = Tensor<Z, 3>::normal({na, nb, M}, 0, 1, g);
      const auto lv = L.to_vector(), rv = R.to_vector(), o0 = O0.to_vector();
      auto check = [&](auto conj_l, auto conj_r, bool accumulate) {
        auto out = Tensor<Z, 3>::empty({na, nb, M});
        out.assign(O0);
        cpu::mode_contract<Z, decltype(conj_l)::value, decltype(conj_r)::value>(na, nb, nc, M, L.data(), {M, na * M}, R.data(),
                                                                                {nb * M, M}, out.data(), {nb * M, M}, accumulate);
        const auto ov = out.to_vector();
        double worst = 0;
        for (index_t a = 0; a < na; ++a)
          for (index_t b = 0; b < nb; ++b)
            for (index_t m = 0; m < M; ++m) {
              Z s = accumulate ? o0[static_cast<std::size_t>((a * nb + b) * M + m)] : Z(0);
              for (index_t c = 0; c < nc; ++c) {
                Z l = lv[static_cast<std::size_t>((c * na + a) * M + m)], r = rv[static_cast<std::size_t>((c * nb + b) * M + m)];
                if (decltype(conj_l)::value) l = std::conj(l);
                if (decltype(conj_r)::value) r = std::conj(r);
                s += l * r;
              }
              worst = std::max(worst, double(std::abs(ov[static_cast<std::size_t>((a * nb + b) * M + m)] - s)));
            }
        CHECK(worst < 1e-4);
      };
      check(std::false_type{}, std::false_type{}, false);
      check(std::false_type{}, std::true_type{}, false);
      check(std::true_type{}, std::false_type{}, true);
    }
}

TEST_CASE("matmul and channel contraction are bitwise thread-independent") {
  Generator g(4);
  const auto a = Tensor<float, 3>::normal({2, 300, 200}, 0.f, 1.f, g), b = Tensor<float, 3>::normal({2, 200, 250}, 0.f, 1.f, g);
  const auto x = Tensor<float, 4>::normal({2, 64, 32, 32}, 0.f, 1.f, g);
  const auto w = Tensor<float, 2>::normal({48, 64}, 0.f, 1.f, g);
  // and the weight gradient's A B^T (long k, rows split into tasks)
  const auto ga = Tensor<float, 2>::normal({70, 4100}, 0.f, 1.f, g), gb = Tensor<float, 2>::normal({40, 4100}, 0.f, 1.f, g);
  const GemmShape gs = packed_gemm_shape<Trans::N, Trans::T>(1, 70, 40, 4100, 0, 0, 0);
  std::vector<float> m1, m2, c1, c2, w1(70 * 40), w2(70 * 40);
  test::with_threads(1, [&] {
    m1 = matmul(a, b).to_vector();
    c1 = channel_contract(x, w).to_vector();
    cpu::gemm<float, Trans::N, Trans::T>(gs, 1.f, ga.data(), gb.data(), 0.f, w1.data());
  });
  test::with_threads(3, [&] {
    m2 = matmul(a, b).to_vector();
    c2 = channel_contract(x, w).to_vector();
    cpu::gemm<float, Trans::N, Trans::T>(gs, 1.f, ga.data(), gb.data(), 0.f, w2.data());
  });
  CHECK(m1 == m2);
  CHECK(c1 == c2);
  CHECK(w1 == w2);
}

TEST_CASE("the caching allocator reuses large blocks and tracks peak usage") {
  cpu::empty_cache();
  const auto before = cpu::memory_stats();
  const float* first;
  {
    Tensor<float, 1> t({1 << 20});
    first = t.data();
    CHECK(cpu::memory_stats().in_use >= before.in_use + (std::size_t(4) << 20));
  }
  CHECK(cpu::memory_stats().cached >= (std::size_t(4) << 20));
  Tensor<float, 1> again({1 << 20});
  CHECK(again.data() == first);
  CHECK(reinterpret_cast<std::uintptr_t>(again.data()) % 64 == 0);
  cpu::empty_cache();
  CHECK(cpu::memory_stats().cached == 0);
}

TEST_CASE("parallel_for runs every task once and rethrows a worker's exception") {
  std::vector<std::atomic<int>> hits(1000);
  cpu::parallel_for(1000, [&](index_t t) { hits[static_cast<std::size_t>(t)]++; });
  for (auto& h : hits) CHECK(h.load() == 1);
  CHECK_THROWS_AS(cpu::parallel_for(100,
                                    [](index_t t) {
                                      if (t == 57) throw value_error("task 57 failed");
                                    }),
                  value_error);
  CHECK_THROWS_AS(cpu::set_num_threads(0), value_error);
}
