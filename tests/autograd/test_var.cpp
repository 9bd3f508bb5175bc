// Var and the graph: accumulation, no-grad scopes, retain_graph, detach, memory release and
// every misuse that must throw a clear autograd_error or shape_error.
#include "../helpers.hpp"

using namespace neuralop;

namespace {
Var<double, 1> leaf(std::initializer_list<double> v, bool rg = true) {
  return Var<double, 1>(Tensor<double, 1>::from_data({static_cast<index_t>(v.size())}, v), rg);
}
}  // namespace

TEST_CASE("gradients of a fused expression, a repeated input and a broadcast input") {
  auto x = leaf({1, 2, 3});
  auto b = Var<double, 0>(Tensor<double, 0>({}, 0.5), true);
  Var<double, 1> y = x * x * b + x;  // dy/dx = 2 x b + 1, dy/db = x^2
  sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 3, 4});
  CHECK(b.grad().item() == 14.0);
  CHECK(y.grad_fn_name() == std::string("elementwise"));
  CHECK_FALSE(y.is_leaf());
}

TEST_CASE("a float broadcast gradient summed over 1536 rows (block partials, then the reducer) is within a few roundings of the exact sum") {
  // A row (W) broadcast over everything else: each block of the fused backward's launch (2^15
  // elements: 128 rows here) adds its rows into a float partial, and the 12 partials are then
  // summed in double (the reducer). A float accumulator over the whole sum drifts by 1e-6 to
  // 1e-5; one rounding of the exact sum is at most 6e-8 relative.
  Generator g(3);
  const index_t B = 2, C = 3, H = 256, W = 256;
  const auto x = Tensor<float, 4>::uniform({B, C, H, W}, 0.5f, 1.f, g);
  const auto r = Tensor<float, 4>::uniform({B, C, H, W}, 0.5f, 1.f, g);
  const auto rv = r.to_vector();
  Var<float, 1> row(Tensor<float, 1>::zeros({W}), true);
  Var<float, 4> y = Var<float, 4>(x) + row;
  y.backward(r);
  const auto got = row.grad().to_vector();
  double worst = 0;
  for (index_t w = 0; w < W; ++w) {
    double exact = 0;
    for (index_t o = 0; o < B * C * H; ++o) exact += rv[std::size_t(o * W + w)];
    worst = std::max(worst, std::abs(got[std::size_t(w)] - exact) / exact);
  }
  CHECK(worst <= 5e-7);
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  auto x = leaf({1, 2});
  sum(x * 3.0).backward();
  sum(x * 3.0).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{6, 6});
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
  sum(x * x).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4});
}

TEST_CASE("an input used by two branches receives the sum of both") {
  auto x = leaf({1, 2});
  Var<double, 1> a = exp(x);
  Var<double, 1> b = x * 2.0;
  sum(eval(a + b)).backward();
  CHECK(x.grad().at(0) == doctest::Approx(std::exp(1.0) + 2));
  CHECK(x.grad().at(1) == doctest::Approx(std::exp(2.0) + 2));
}

TEST_CASE("the gradient of a user-held tensor is never modified behind the user's back") {
  auto x = leaf({1, 2});
  sum(x * 1.0).backward();
  const Tensor<double, 1> held = x.grad();
  sum(x * 1.0).backward();
  CHECK(held.to_vector() == std::vector<double>{1, 1});
  CHECK(x.grad().to_vector() == std::vector<double>{2, 2});
}

TEST_CASE("a sum of results hands them the output's gradient, shared, and stays correct") {
  auto x = leaf({1, 2, 3});
  auto w = leaf({4, 5, 6});
  Var<double, 1> a = x * 2.0;  // results of ops: receive the gradient of a + b itself
  Var<double, 1> b = exp(x);
  Var<double, 1> c = x * w;
  a.retain_grad();
  b.retain_grad();
  Var<double, 1> y = a + b - c + a * 0.5 + w;  // a twice (not shared), c subtracted, w a leaf
  Var<double, 1> s = y * y;
  sum(s).backward();
  const auto yv = y.value().to_vector();
  for (int i = 0; i < 3; ++i) {
    const double xi = i + 1, wi = i + 4, g = 2 * yv[std::size_t(i)];
    CHECK(x.grad().at(i) == doctest::Approx(g * (2 * 1.5 + std::exp(xi) - wi)));
    CHECK(w.grad().at(i) == doctest::Approx(g * (1 - xi)));
    CHECK(a.grad().at(i) == doctest::Approx(1.5 * g));
    CHECK(b.grad().at(i) == doctest::Approx(g));
  }
  // Two leaves summed never share a gradient tensor: each is the caller's to change.
  auto p = leaf({1, 2});
  auto q = leaf({3, 4});
  sum(eval(p + q) * 3.0).backward();
  CHECK(p.grad().data() != q.grad().data());
  // A shared gradient reaching one input twice (through two sums) is added out of place.
  auto z = leaf({1, 2});
  Var<double, 1> h = z * 1.0;
  Var<double, 1> u = h + h * 0.0;  // h once as identity, once under a product: not shared
  Var<double, 1> v = eval(u + h);
  sum(v * 2.0).backward();
  CHECK(z.grad().to_vector() == std::vector<double>{4, 4});
}

TEST_CASE("cpu allocator: a miss trims idle blocks of other sizes when asked to") {
  cpu::empty_cache();
  { auto a = Tensor<float, 1>::empty(Shape<1>{1 << 18}); }  // 1 MiB, cached when freed
  CHECK(cpu::memory_stats().cached >= (std::size_t(1) << 20));
  { auto b = Tensor<float, 1>::empty(Shape<1>{3 << 18}); }  // a miss: the 1 MiB block stays
  CHECK(cpu::memory_stats().cached >= (std::size_t(4) << 20));
  {
    auto d = Tensor<float, 1>::empty(Shape<1>{5 << 18});  // without trimming the idle blocks stay
    CHECK(cpu::memory_stats().cached >= (std::size_t(4) << 20));
  }
  cpu::empty_cache();
  { auto a = Tensor<float, 1>::empty(Shape<1>{1 << 18}); }
  { auto b = Tensor<float, 1>::empty(Shape<1>{3 << 18}); }
  cpu::set_cache_trim_on_miss(true);
  {
    auto small = Tensor<float, 1>::empty(Shape<1>{16});  // below the cached sizes: trims nothing
    CHECK(cpu::memory_stats().cached == (std::size_t(4) << 20));
  }
  {
    auto c = Tensor<float, 1>::empty(Shape<1>{2 << 18});  // a miss asking 2 MiB: the 3 MiB block goes
    CHECK(cpu::memory_stats().cached == (std::size_t(1) << 20));
    auto e = Tensor<float, 1>::empty(Shape<1>{1 << 18});  // a hit: nothing trimmed
    CHECK(cpu::memory_stats().cached == 0);
  }
  cpu::set_cache_trim_on_miss(false);
  cpu::empty_cache();
}

TEST_CASE("no-grad scopes record nothing; requires_grad propagates only from inputs that need it") {
  auto x = leaf({1, 2});
  auto c = leaf({3, 4}, false);
  {
    NoGradGuard ng;
    Var<double, 1> y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    {
      EnableGradGuard eg;
      Var<double, 1> z = x * 2.0;
      CHECK(z.requires_grad());
    }
  }
  Var<double, 1> w = c * 2.0;
  CHECK_FALSE(w.requires_grad());
  CHECK(w.is_leaf());
  Var<double, 1> v = c * x;
  sum(v).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{3, 4});
  CHECK_FALSE(c.has_grad());
}

TEST_CASE("retain_graph allows a second backward; retain_grad keeps a non-leaf gradient") {
  auto x = leaf({1, 2});
  Var<double, 1> y = x * x;
  y.retain_grad();
  auto L = sum(y);
  L.backward({.retain_graph = true});
  CHECK(y.grad().to_vector() == std::vector<double>{1, 1});
  L.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{4, 8});
}

TEST_CASE("detach cuts the graph") {
  auto x = leaf({2});
  Var<double, 1> y = x * x;
  Var<double, 1> z = y.detach() * x;  // d/dx = y (constant) = 4
  sum(z).backward();
  CHECK(x.grad().item() == 4.0);
}

TEST_CASE("errors: second backward, non-scalar without seed, seed shape, no requires_grad") {
  auto x = leaf({1, 2, 3});
  Var<double, 1> y = x * 2.0;
  auto msg = test::error_message<autograd_error>([&] { y.backward(); });
  CHECK(msg.find("3 elements") != std::string::npos);
  CHECK(msg.find("[3]") != std::string::npos);
  msg = test::error_message<shape_error>([&] { y.backward(Tensor<double, 1>({2})); });
  CHECK(msg.find("[2]") != std::string::npos);
  CHECK(msg.find("[3]") != std::string::npos);
  auto L = sum(y);
  L.backward();
  msg = test::error_message<autograd_error>([&] { L.backward(); });
  CHECK(msg.find("already used by a backward") != std::string::npos);
  CHECK(msg.find("retain_graph") != std::string::npos);
  auto c = leaf({1}, false);
  msg = test::error_message<autograd_error>([&] { sum(c * 2.0).backward(); });
  CHECK(msg.find("does not require grad") != std::string::npos);
  msg = test::error_message<autograd_error>([&] { (void)c.grad(); });
  CHECK(msg.find("no gradient") != std::string::npos);
  Var<double, 1> nonleaf = x * 1.0;
  CHECK_THROWS_AS(nonleaf.set_requires_grad(false), autograd_error);
  Var<double, 1> null;
  CHECK_THROWS_AS((void)null.value(), value_error);
}

TEST_CASE("modifying a saved input in place makes backward throw instead of giving wrong gradients") {
  auto x = leaf({1, 2});
  auto w = leaf({3, 4});
  Var<double, 1> y = x * w;
  auto L = sum(y);
  {
    NoGradGuard ng;
    w.mutable_value() += 1.0;
  }
  const auto msg = test::error_message<autograd_error>([&] { L.backward(); });
  CHECK(msg.find("modified in place") != std::string::npos);
  auto a = Var<double, 2>(Tensor<double, 2>({2, 2}, 1.0), true);
  auto m = matmul(a, a);
  auto L2 = sum(m);
  a.mutable_value().fill(2.0);
  const auto msg2 = test::error_message<autograd_error>([&] { L2.backward(); });
  CHECK(msg2.find("matmul") != std::string::npos);
}

TEST_CASE("dropping results frees the graph and its saved values") {
  cpu::empty_cache();
  const auto base = cpu::memory_stats().in_use;
  {
    auto x = Var<float, 2>(Tensor<float, 2>({512, 512}, 1.f), true);
    for (int i = 0; i < 4; ++i) {
      Var<float, 2> y = gelu(x * 2.f) * x;
      auto m = matmul(y, y);
      (void)m;
    }
    CHECK(cpu::memory_stats().in_use <= base + 2 * 512 * 512 * 4);
  }
  CHECK(cpu::memory_stats().in_use == base);
}

TEST_CASE("values not needed by any reverse rule are not kept alive by the graph") {
  cpu::empty_cache();
  auto x = Var<float, 2>(Tensor<float, 2>({256, 256}, 1.f), true);
  const auto base = cpu::memory_stats().in_use;
  Var<float, 0> L;
  {
    Var<float, 2> h = x * 2.f;             // saved by nothing below except through `sum`
    Var<float, 2> r = reshape(h, Shape<2>{128, 512});
    L = sum(r);                            // sum needs no values
  }
  // x is the caller's; h and r were dropped: only scalar-sized buffers remain.
  CHECK(cpu::memory_stats().in_use < base + 4096);
  L.backward();
  CHECK(x.grad().at(3, 7) == 2.f);
}

TEST_CASE("a sum of results keeps neither summand alive; leaves under a product are kept") {
  cpu::empty_cache();
  auto x = Var<float, 2>(Tensor<float, 2>::normal({256, 256}), true);
  auto w = Var<float, 2>(Tensor<float, 2>::normal({1, 256}), true);
  const auto bytes = 256 * 256 * 4;
  const auto base = cpu::memory_stats().in_use;
  Var<float, 2> s;
  {
    Var<float, 2> u = x * 3.f;    // keeps nothing of its own (x is the caller's)
    Var<float, 2> v = exp(x);     // keeps x
    Var<float, 2> g = gelu(x);
    s = u - v + g * w + 2.f * u;  // keeps g (its product with w needs it) and w, not u or v
  }
  CHECK(cpu::memory_stats().in_use <= base + 2 * bytes + 4096);  // s and g
  s.backward(Tensor<float, 2>::ones({256, 256}));
  const auto xv = x.value(), wv = w.value();
  const double x0 = xv.at(5, 9);
  const double phi = 0.5 * (1 + std::erf(x0 / std::sqrt(2.0)));
  const double dgelu = phi + x0 * std::exp(-0.5 * x0 * x0) / std::sqrt(2 * M_PI);
  CHECK(x.grad().at(5, 9) == doctest::Approx(3 - std::exp(x0) + dgelu * wv.at(0, 9) + 6).epsilon(1e-4));
  double gw = 0;
  for (index_t i = 0; i < 256; ++i) gw += 0.5 * xv.at(i, 9) * (1 + std::erf(xv.at(i, 9) / std::sqrt(2.0)));
  CHECK(w.grad().at(0, 9) == doctest::Approx(gw).epsilon(1e-3));
}
