// Finite-difference checks of every elementwise op's reverse rule (real and complex), of
// broadcasting in both directions, scalar operands, repeated inputs and composite trees.
#include "../helpers.hpp"

using namespace neuralop;
using C = std::complex<double>;

namespace {

template <std::size_t R>
Var<double, R> rvar(const Shape<R>& s, double lo, double hi, std::uint64_t seed) {
  Generator g(seed);
  return Var<double, R>(Tensor<double, R>::uniform(s, lo, hi, g), true);
}
template <std::size_t R>
Var<C, R> cvar(const Shape<R>& s, std::uint64_t seed) {
  Generator g(seed);
  return Var<C, R>(Tensor<C, R>::normal(s, 0.0, 1.5, g), true);
}


}  // namespace

TEST_CASE("unary ops on real inputs") {
  auto x = rvar(Shape<2>{3, 7}, -2.0, 2.0, 1);
  auto p = rvar(Shape<2>{3, 7}, 0.2, 3.0, 2);
  GRADCHECK([](auto& v) { return Var<double, 2>(exp(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(log(v)); }, p);
  GRADCHECK([](auto& v) { return Var<double, 2>(sqrt(v)); }, p);
  GRADCHECK([](auto& v) { return Var<double, 2>(abs(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(square(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(-v); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(tanh(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(sigmoid(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(relu(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(gelu(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(silu(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(softplus(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(softplus(v, 3.0, 2.0)); }, x);  // both sides of the threshold
  GRADCHECK([](auto& v) { return Var<double, 2>(pow(v, 3.0)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(pow(v, 0.7)); }, p);
  GRADCHECK([](auto& v) { return Var<double, 2>(pow(v, 0.0) * v); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(abs2(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(conj(v) + real(v)); }, x);
  GRADCHECK([](auto& v) { return Var<double, 2>(cast<double>(v) * 2.0); }, x);
}

TEST_CASE("binary ops with scalars on either side and tensor exponents") {
  auto a = rvar(Shape<1>{9}, -2.0, 2.0, 3);
  auto b = rvar(Shape<1>{9}, 0.5, 2.0, 4);
  GRADCHECK([](auto& u, auto& v) { return Var<double, 1>(u + v); }, a, b);
  GRADCHECK([](auto& u, auto& v) { return Var<double, 1>(u - v); }, a, b);
  GRADCHECK([](auto& u, auto& v) { return Var<double, 1>(u * v); }, a, b);
  GRADCHECK([](auto& u, auto& v) { return Var<double, 1>(u / v); }, a, b);
  GRADCHECK([](auto& u, auto& v) { return Var<double, 1>(pow(v, u)); }, a, b);
  GRADCHECK([](auto& u) { return Var<double, 1>(2.0 - u / 3.0 + 1.5 * u - 4.0 / (u * u + 1.0)); }, a);
  GRADCHECK([](auto& v) { return Var<double, 1>(pow(2.0, v)); }, b);
}

TEST_CASE("broadcasting: bias, lower rank, both operands stretched, rank-0") {
  auto x = rvar(Shape<4>{2, 3, 4, 5}, -1.0, 1.0, 5);
  auto bias = rvar(Shape<3>{3, 1, 1}, -1.0, 1.0, 6);
  auto row = rvar(Shape<1>{5}, -1.0, 1.0, 7);
  auto col = rvar(Shape<2>{4, 1}, -1.0, 1.0, 8);
  auto s = Var<double, 0>(Tensor<double, 0>({}, 0.7), true);
  GRADCHECK([](auto& a, auto& b) { return Var<double, 4>(gelu(a * b + b)); }, x, bias);
  GRADCHECK([](auto& a, auto& r, auto& c) { return Var<double, 4>(a * r - c / (r * r + 1.0)); }, x, row, col);
  GRADCHECK([](auto& r, auto& c) { return Var<double, 2>(r * c); }, row, col);  // outer product [4, 5]
  GRADCHECK([](auto& a, auto& k) { return Var<double, 4>(tanh(a * k)); }, x, s);
}

TEST_CASE("repeated inputs and deep fused trees") {
  auto x = rvar(Shape<2>{4, 6}, -1.5, 1.5, 9);
  auto w = rvar(Shape<2>{4, 6}, -1.5, 1.5, 10);
  GRADCHECK([](auto& v) { return Var<double, 2>(v * v * v - v / (1.0 + v * v)); }, x);
  GRADCHECK(
      [](auto& v, auto& u) {
        return Var<double, 2>(gelu(v * u + 0.5) * sigmoid(u) + softplus(v - u) * silu(v) - exp(-square(u)) * tanh(v));
      },
      x, w);
  // A chain of separately materialised Vars (several nodes).
  GRADCHECK(
      [](auto& v, auto& u) {
        Var<double, 2> h = gelu(v * u);
        Var<double, 2> k = h * h + u;
        return Var<double, 2>(k / (1.0 + abs2(h)));
      },
      x, w);
}

TEST_CASE("complex elementwise ops (conjugate Wirtinger convention)") {
  auto z = cvar(Shape<2>{3, 4}, 11);
  auto w = cvar(Shape<2>{3, 4}, 12);
  auto bias = cvar(Shape<1>{4}, 13);
  GRADCHECK([](auto& a, auto& b) { return Var<C, 2>(a * b + a / (b + C(2, 1))); }, z, w);
  GRADCHECK([](auto& a, auto& b) { return Var<C, 2>(a - b * conj(b) * 0.25); }, z, w);
  GRADCHECK([](auto& a) { return Var<C, 2>(exp(a * 0.5) + log(a) + sqrt(a)); }, z);
  GRADCHECK([](auto& a) { return Var<C, 2>(square(a) - conj(a) * C(0.5, -2)); }, z);
  GRADCHECK([](auto& a) { return Var<double, 2>(abs(a) + abs2(a) * 0.3); }, z);
  GRADCHECK([](auto& a) { return Var<double, 2>(real(a) * imag(a)); }, z);
  GRADCHECK([](auto& a, auto& b) { return Var<C, 2>(a * b); }, z, bias);
  GRADCHECK([](auto& a) { return Var<C, 2>(pow(a, 3.0)); }, z);
  auto x = rvar(Shape<2>{3, 4}, -1.0, 1.0, 14);
  GRADCHECK([](auto& r, auto& a) { return Var<C, 2>(cast<C>(r) * a); }, x, z);
}
