// Shapes, broadcasting, coalescing and the counter-based random streams.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "../helpers.hpp"

using namespace neuralop;

TEST_CASE("format_shape and numel") {
  CHECK(format_shape(Shape<3>{2, 3, 4}) == "[2, 3, 4]");
  CHECK(format_shape(Shape<0>{}) == "[]");
  CHECK(numel(Shape<3>{2, 3, 4}) == 24);
  CHECK(numel(Shape<0>{}) == 1);
  CHECK(contiguous_strides(Shape<3>{2, 3, 4}) == Strides<3>{12, 4, 1});
}

TEST_CASE("broadcasting aligns axes to the right and stretches size-1 axes") {
  Shape<4> out{};
  bool first = true;
  broadcast_into(out, Shape<4>{8, 3, 5, 5}, "t", first);
  broadcast_into(out, Shape<3>{3, 1, 1}, "t", first);
  CHECK(out == Shape<4>{8, 3, 5, 5});
  const auto st = broadcast_strides(out, Shape<3>{3, 1, 1}, contiguous_strides(Shape<3>{3, 1, 1}));
  CHECK(st == Strides<4>{0, 1, 0, 0});
  const auto msg = test::error_message<shape_error>([&] { broadcast_into(out, Shape<2>{4, 5}, "mul", first); });
  CHECK(msg.find("mul") != std::string::npos);
  CHECK(msg.find("[8, 3, 5, 5]") != std::string::npos);
  CHECK(msg.find("[4, 5]") != std::string::npos);
}

TEST_CASE("reshape targets resolve -1 and reject impossible shapes") {
  CHECK(resolve_reshape(Shape<2>{6, 4}, Shape<3>{2, -1, 4}) == Shape<3>{2, 3, 4});
  CHECK_THROWS_AS(resolve_reshape(Shape<2>{6, 4}, Shape<2>{5, -1}), shape_error);
  CHECK_THROWS_AS(resolve_reshape(Shape<2>{6, 4}, Shape<2>{-1, -1}), shape_error);
  CHECK_THROWS_AS(resolve_reshape(Shape<2>{6, 4}, Shape<2>{0, 24}), shape_error);
  const auto msg = test::error_message<shape_error>([] { resolve_reshape(Shape<2>{6, 4}, Shape<2>{5, 5}); });
  CHECK(msg.find("[6, 4]") != std::string::npos);
  CHECK(msg.find("[5, 5]") != std::string::npos);
}

TEST_CASE("coalescing merges contiguous runs and keeps broadcast structure") {
  // Output [2, 3, 4, 5] contiguous, operand a bias [1, 3, 1, 1] (strides 0,1,0,0).
  index_t st[2][4] = {{60, 20, 5, 1}, {0, 1, 0, 0}};
  const auto loop = coalesce<4>({2, 3, 4, 5}, st, 2);
  REQUIRE(loop.ndim == 3);
  CHECK(loop.size[0] == 2);
  CHECK(loop.size[1] == 3);
  CHECK(loop.size[2] == 20);
  CHECK(st[0][2] == 1);
  CHECK(st[1][0] == 0);
  CHECK(st[1][1] == 1);
  CHECK(st[1][2] == 0);
  CHECK(loop.numel == 120);
  // Everything contiguous collapses to one dim; size-1 dims vanish.
  index_t st2[1][3] = {{20, 20, 1}};
  const auto l2 = coalesce<3>({4, 1, 20}, st2, 1);
  CHECK(l2.ndim == 1);
  CHECK(l2.size[0] == 80);
}

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors") {
  using detail::Philox4x32;
  CHECK(Philox4x32::run(0u, 0u, 0u, 0u, 0u, 0u) == std::array<std::uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(Philox4x32::run(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu) ==
        std::array<std::uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(Philox4x32::run(0xa4093822u, 0x299f31d0u, 0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u) ==
        std::array<std::uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("random fills are identical for any thread count and differ between draws") {
  auto draw = [](int threads) {
    std::vector<float> out;
    test::with_threads(threads, [&] {
      Generator g(42);
      out = Tensor<float, 2>::normal({301, 517}, 0.f, 1.f, g).to_vector();
      const auto u = Tensor<double, 1>::uniform({1001}, -1.0, 1.0, g).to_vector();
      out.insert(out.end(), u.begin(), u.end());
    });
    return out;
  };
  const auto a = draw(1), b = draw(2), c = draw(5);
  CHECK(a == b);
  CHECK(a == c);
  Generator g(42);
  const auto first = Tensor<float, 1>::normal({64}, 0.f, 1.f, g).to_vector();
  const auto second = Tensor<float, 1>::normal({64}, 0.f, 1.f, g).to_vector();
  CHECK(first != second);
  CHECK(std::equal(first.begin(), first.end(), a.begin()));
  // Restoring the state replays the stream.
  Generator h(7);
  const auto state = h.state();
  const auto x1 = Tensor<double, 1>::uniform({10}, 0.0, 1.0, h).to_vector();
  h.set_state(state);
  CHECK(Tensor<double, 1>::uniform({10}, 0.0, 1.0, h).to_vector() == x1);
}

TEST_CASE("random fills round the product before the sum: the same bits with or without fused multiply-add") {
  // The cuda backend computes a + (b - a) u as __fadd_rn(a, __fmul_rn(b - a, u)); a compiler that
  // fused it on the cpu (g++ -O2 -march=native, clang -march=native) changed the last bits.
  auto separately = [](auto a, auto w, auto u) {
    volatile auto p = w * u;
    return a + p;
  };
  const std::uint64_t seed = 42, offset = 7;
  const index_t n = 10001;
  std::vector<double> ud(n), nd(n);
  std::vector<float> uf(n);
  cpu::fill_random<Distribution::uniform, double>(ud.data(), n, seed, offset, -2.0, 5.0);
  cpu::fill_random<Distribution::normal, double>(nd.data(), n, seed, offset, 0.25, 3.0);
  cpu::fill_random<Distribution::uniform, float>(uf.data(), n, seed, offset, -0.3f, 0.7f);
  int bad = 0;
  for (index_t c = 0; c < n / 2; ++c) {
    const auto u = random_block<double, Distribution::uniform>(seed, offset + std::uint64_t(c));
    const auto z = random_block<double, Distribution::normal>(seed, offset + std::uint64_t(c));
    for (int l = 0; l < 2; ++l) {
      bad += ud[std::size_t(2 * c + l)] != separately(-2.0, 7.0, u[std::size_t(l)]);
      bad += nd[std::size_t(2 * c + l)] != separately(0.25, 3.0, z[std::size_t(l)]);
    }
  }
  for (index_t c = 0; c < n / 4; ++c) {
    const auto u = random_block<float, Distribution::uniform>(seed, offset + std::uint64_t(c));
    for (int l = 0; l < 4; ++l) bad += uf[std::size_t(4 * c + l)] != separately(-0.3f, 0.7f - -0.3f, u[std::size_t(l)]);
  }
  CHECK(bad == 0);
}

TEST_CASE("normal and uniform fills have the right moments") {
  Generator g(1);
  const index_t n = 400000;
  auto moments = [](const auto& v) {
    double m = 0, s = 0;
    for (auto x : v) m += x;
    m /= static_cast<double>(v.size());
    for (auto x : v) s += (x - m) * (x - m);
    return std::pair{m, std::sqrt(s / static_cast<double>(v.size() - 1))};
  };
  const auto [m1, s1] = moments(Tensor<float, 1>::normal({n}, 2.f, 3.f, g).to_vector());
  CHECK(m1 == doctest::Approx(2.0).epsilon(0.01));
  CHECK(s1 == doctest::Approx(3.0).epsilon(0.01));
  const auto u = Tensor<double, 1>::uniform({n}, -2.0, 6.0, g).to_vector();
  const auto [m2, s2] = moments(u);
  CHECK(m2 == doctest::Approx(2.0).epsilon(0.01));
  CHECK(s2 == doctest::Approx(8.0 / std::sqrt(12.0)).epsilon(0.01));
  CHECK(*std::min_element(u.begin(), u.end()) >= -2.0);
  CHECK(*std::max_element(u.begin(), u.end()) < 6.0);
  // Complex normal: E|z|^2 = std^2, real and imaginary parts each std^2 / 2 (torch).
  const auto z = Tensor<std::complex<float>, 1>::normal({n}, 0.f, 2.f, g).to_vector();
  double re2 = 0, im2 = 0;
  for (auto v : z) {
    re2 += double(v.real()) * v.real();
    im2 += double(v.imag()) * v.imag();
  }
  CHECK(re2 / n == doctest::Approx(2.0).epsilon(0.02));
  CHECK(im2 / n == doctest::Approx(2.0).epsilon(0.02));
}
