// Finite-difference checks of the explicit ops: reductions, matmul, channel contraction,
// reshape, slice, pad, concat, permute (real and complex), plus their shape errors.
#include "../helpers.hpp"
#include "neuralop/ops/spectral_contract.hpp"

using namespace neuralop;
using C = std::complex<double>;

namespace {
template <class T, std::size_t R>
Var<T, R> var(const Shape<R>& s, std::uint64_t seed) {
  Generator g(seed);
  return Var<T, R>(Tensor<T, R>::normal(s, 0.0, 1.0, g), true);
}
}  // namespace

TEST_CASE("sum, mean and max over all axes, some axes, with and without keepdim") {
  auto x = var<double>(Shape<3>{3, 4, 5}, 1);
  GRADCHECK([](auto& v) { return sum(v); }, x);
  GRADCHECK([](auto& v) { return sum(v, {0, 2}); }, x);
  GRADCHECK([](auto& v) { return sum(v, {-1}, keepdim); }, x);
  GRADCHECK([](auto& v) { return mean(v); }, x);
  GRADCHECK([](auto& v) { return mean(v, {1}); }, x);
  GRADCHECK([](auto& v) { return mean(v, {0, 1}, keepdim); }, x);
  GRADCHECK([](auto& v) { return max(v); }, x);
  GRADCHECK([](auto& v) { return max(v, {1}); }, x);
  GRADCHECK([](auto& v) { return max(v, {0, 2}, keepdim); }, x);
  GRADCHECK([](auto& v) { return sum(v * v, {2}); }, x);  // reduction of an expression
  auto z = var<C>(Shape<2>{3, 4}, 2);
  GRADCHECK([](auto& v) { return sum(v * v, {1}); }, z);
  GRADCHECK([](auto& v) { return mean(v); }, z);
}

TEST_CASE("max shares the gradient equally among ties, as torch.amax") {
  auto x = Var<double, 1>(Tensor<double, 1>::from_data({4}, {1, 3, 3, 2}), true);
  max(x).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{0, 0.5, 0.5, 0});
}

TEST_CASE("reduction shapes and axis errors") {
  Tensor<float, 3> t({2, 3, 4}, 1.f);
  CHECK(sum(t, {1}).shape() == Shape<2>{2, 4});
  CHECK(sum(t, {1}, keepdim).shape() == Shape<3>{2, 1, 4});
  CHECK(mean(t, {0, 1, 2}).item() == 1.f);
  auto msg = test::error_message<shape_error>([&] { (void)sum(t, {3}); });
  CHECK(msg.find("axis 3") != std::string::npos);
  msg = test::error_message<shape_error>([&] { (void)sum(t, {1, -2}); });
  CHECK(msg.find("twice") != std::string::npos);
}

TEST_CASE("matmul: batched, shared right-hand side, complex") {
  auto a = var<double>(Shape<3>{2, 3, 4}, 3);
  auto b = var<double>(Shape<3>{2, 4, 5}, 4);
  auto m = var<double>(Shape<2>{4, 6}, 5);
  auto sq = var<double>(Shape<2>{4, 4}, 6);
  GRADCHECK([](auto& u, auto& v) { return matmul(u, v); }, a, b);
  GRADCHECK([](auto& u, auto& v) { return matmul(u, v); }, a, m);
  GRADCHECK([](auto& u) { return matmul(u, u); }, sq);  // the same Var on both sides
  auto za = var<C>(Shape<3>{2, 3, 4}, 7);
  auto zb = var<C>(Shape<3>{2, 4, 2}, 8);
  GRADCHECK([](auto& u, auto& v) { return matmul(u, v); }, za, zb);
  auto msg = test::error_message<shape_error>([&] { (void)matmul(a, a); });
  CHECK(msg.find("[2, 3, 4]") != std::string::npos);
}

TEST_CASE("channel contraction: 1-D, 2-D and 3-D spatial, real and complex") {
  auto x1 = var<double>(Shape<3>{2, 3, 7}, 9);
  auto x2 = var<double>(Shape<4>{2, 3, 4, 5}, 10);
  auto x3 = var<double>(Shape<5>{1, 3, 2, 3, 2}, 11);
  auto w = var<double>(Shape<2>{4, 3}, 12);
  GRADCHECK([](auto& x, auto& k) { return channel_contract(x, k); }, x1, w);
  GRADCHECK([](auto& x, auto& k) { return channel_contract(x, k); }, x2, w);
  GRADCHECK([](auto& x, auto& k) { return channel_contract(x, k); }, x3, w);
  auto xc = var<C>(Shape<4>{2, 3, 3, 2}, 13);
  auto wc = var<C>(Shape<2>{2, 3}, 14);
  GRADCHECK([](auto& x, auto& k) { return channel_contract(x, k); }, xc, wc);
  // The weight gradient's three paths: one GEMM over the batch (real, one position), per-sample
  // partials summed (outputs <= positions, above) and a loop over samples (outputs > positions).
  auto xs1 = var<double>(Shape<3>{5, 3, 1}, 19);
  auto xs2 = var<double>(Shape<4>{3, 3, 1, 2}, 20);
  auto xcs = var<C>(Shape<3>{3, 3, 1}, 21);
  GRADCHECK([](auto& x, auto& k) { return channel_contract(x, k); }, xs1, w);
  GRADCHECK([](auto& x, auto& k) { return channel_contract(x, k); }, xs2, w);
  GRADCHECK([](auto& x, auto& k) { return channel_contract(x, k); }, xcs, wc);
  // Accumulated onto an addend (a linear skip added to a block's output).
  auto ya = var<double>(Shape<4>{2, 4, 4, 5}, 22);
  GRADCHECK([](auto& x, auto& k, auto& y) { return channel_contract_add(x, k, y); }, x2, w, ya);
  CHECK(test::max_abs_diff(channel_contract_add(x2, w, ya).value().to_vector(),
                           eval(channel_contract(x2, w) + ya).value().to_vector()) < 1e-14);
  CHECK(test::error_message<shape_error>([&] { (void)channel_contract_add(x2, w, var<double>(Shape<4>{2, 4, 5, 4}, 23)); }).find("addend of shape [2, 4, 5, 4]") !=
        std::string::npos);
  // With a bias written before the product is accumulated onto it.
  auto b = var<double>(Shape<1>{4}, 17);
  GRADCHECK([](auto& x, auto& k, auto& c) { return channel_contract(x, k, c); }, x2, w, b);
  GRADCHECK([](auto& x, auto& k, auto& c) { return channel_contract(x, k, c); }, x3, w, b);
  auto bc = var<C>(Shape<1>{2}, 18);
  GRADCHECK([](auto& x, auto& k, auto& c) { return channel_contract(x, k, c); }, xc, wc, bc);
  {
    NoGradGuard ng;
    const auto sum_form = eval(channel_contract(x2, w) + reshape(b, Shape<3>{4, 1, 1}));
    CHECK(test::max_abs_diff(channel_contract(x2, w, b).value().to_vector(), sum_form.value().to_vector()) < 1e-14);
  }
  CHECK(test::error_message<shape_error>([&] { (void)channel_contract(x2, w, var<double>(Shape<1>{3}, 1)); }).find("bias of shape [3]") !=
        std::string::npos);
  auto msg = test::error_message<shape_error>([&] { (void)channel_contract(x1, var<double>(Shape<2>{4, 5}, 1)); });
  CHECK(msg.find("3 channels") != std::string::npos);
}

TEST_CASE("channel contraction on the panel GEMM path (long rows): bias and addend fused") {
  // Rows of 40 positions and 8 input channels: the shape the cpu backend's panel kernel serves.
  auto x = var<double>(Shape<3>{2, 8, 40}, 30);
  auto w = var<double>(Shape<2>{5, 8}, 31);
  auto b = var<double>(Shape<1>{5}, 32);
  auto y = var<double>(Shape<3>{2, 5, 40}, 33);
  GRADCHECK([](auto& u, auto& k) { return channel_contract(u, k); }, x, w);
  GRADCHECK([](auto& u, auto& k, auto& c) { return channel_contract(u, k, c); }, x, w, b);
  GRADCHECK([](auto& u, auto& k, auto& a) { return channel_contract_add(u, k, a); }, x, w, y);
  NoGradGuard ng;
  const auto plain = channel_contract(x, w);
  CHECK(test::max_abs_diff(channel_contract(x, w, b).value().to_vector(),
                           eval(plain + reshape(b, Shape<3>{1, 5, 1})).value().to_vector()) < 1e-13);
  CHECK(test::max_abs_diff(channel_contract_add(x, w, y).value().to_vector(), eval(plain + y).value().to_vector()) < 1e-13);
}

TEST_CASE("spectral contraction: values against the einsum, gradients by finite differences") {
  // 14 modes: whole complex packets and a scalar tail; channel counts around the register block.
  auto x = var<C>(Shape<4>{3, 5, 2, 7}, 40);
  auto w = var<C>(Shape<4>{5, 6, 2, 7}, 41);
  GRADCHECK([](auto& u, auto& k) { return spectral_contract_dense(u, k); }, x, w);
  NoGradGuard ng;
  const auto y = spectral_contract_dense(x, w).value();
  double worst = 0;
  for (index_t b = 0; b < 3; ++b)
    for (index_t o = 0; o < 6; ++o)
      for (index_t k0 = 0; k0 < 2; ++k0)
        for (index_t k1 = 0; k1 < 7; ++k1) {
          C s(0);
          for (index_t i = 0; i < 5; ++i) s += x.value().at(b, i, k0, k1) * w.value().at(i, o, k0, k1);
          worst = std::max(worst, std::abs(y.at(b, o, k0, k1) - s));
        }
  CHECK(worst < 1e-13);
  CHECK(test::error_message<shape_error>([&] { (void)spectral_contract_dense(x, var<C>(Shape<4>{4, 6, 2, 7}, 1)); })
            .find("[4, 6, 2, 7]") != std::string::npos);
}

TEST_CASE("reshape, slice, pad, concat, permute") {
  auto x = var<double>(Shape<3>{2, 3, 4}, 15);
  auto y = var<double>(Shape<3>{2, 5, 4}, 16);
  GRADCHECK([](auto& v) { return reshape(v, Shape<2>{6, -1}); }, x);
  GRADCHECK([](auto& v) { return slice(v, 1, 1, 3); }, x);
  GRADCHECK([](auto& v) { return slice(v, -1, 0, 1); }, x);
  GRADCHECK([](auto& v) { return pad(v, Pads<3>{{{0, 0}, {2, 1}, {0, 3}}}, 0.5); }, x);
  GRADCHECK([](auto& v, auto& u) { return concat({v, u, v}, 1); }, x, y);
  GRADCHECK([](auto& v) { return permute(v, {2, 0, 1}); }, x);
  auto z = var<C>(Shape<3>{2, 2, 3}, 17);
  GRADCHECK([](auto& v) { return permute(pad(slice(v, 2, 1, 3), Pads<3>{{{1, 0}, {0, 0}, {0, 2}}}), {1, 2, 0}); }, z);
  // a composite chain: pad -> elementwise -> permute -> reduction
  GRADCHECK(
      [](auto& v) {
        Var<double, 3> p = pad(v, Pads<3>{{{0, 0}, {1, 1}, {1, 1}}});
        Var<double, 3> g = gelu(p) * p;
        return sum(permute(g, {1, 2, 0}), {2});
      },
      x);
}

TEST_CASE("layout op errors name the op and the shapes") {
  Tensor<float, 3> t({2, 3, 4});
  auto msg = test::error_message<shape_error>([&] { (void)concat({t, Tensor<float, 3>({2, 4, 4})}, 2); });
  CHECK(msg.find("[2, 4, 4]") != std::string::npos);
  CHECK(msg.find("concat") != std::string::npos);
  msg = test::error_message<shape_error>([&] { (void)permute(t, {0, 0, 1}); });
  CHECK(msg.find("twice") != std::string::npos);
  msg = test::error_message<value_error>([&] { (void)pad(t, Pads<3>{{{0, 0}, {-1, 0}, {0, 0}}}); });
  CHECK(msg.find("negative padding") != std::string::npos);
  msg = test::error_message<shape_error>([&] { (void)slice(t, 0, 1, 5); });
  CHECK(msg.find("[1, 5)") != std::string::npos);
  CHECK_THROWS_AS((void)reshape(t, Shape<2>{5, -1}), shape_error);
}
