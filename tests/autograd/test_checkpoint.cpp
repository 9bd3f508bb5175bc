// checkpoint(fn, inputs...): gradients bitwise equal to the plain run (inputs and captured
// parameters), random draws replayed in the recomputation, what is saved, and the misuses that
// must throw.
#include <cstring>
#include <span>

#include "../helpers.hpp"

using namespace neuralop;

namespace {

using V2 = Var<float, 2>;

V2 param(index_t r, index_t c, std::uint64_t seed) {
  Generator g(seed);
  return V2(Tensor<float, 2>::normal({r, c}, 0, 1, g), true);
}

// A small composite: two matmuls with parameters, fused elementwise work, a reduction, and the
// input used twice (so its gradient is a sum).
struct Block {
  V2 w1, w2, b;
  V2 operator()(const V2& x) const {
    V2 h = matmul(x, w1);
    h = tanh(h) * b + h * 0.5f;
    V2 y = matmul(h, w2);
    return V2(y + x * sum(x, {1}, keepdim));
  }
};

Block make_block(index_t c) { return {param(c, 2 * c, 11), param(2 * c, c, 12), param(1, 2 * c, 13)}; }

bool bitwise_equal(const Tensor<float, 2>& a, const Tensor<float, 2>& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("checkpoint gives bitwise the gradients of the plain run, into inputs and captured parameters") {
  const index_t n = 6, c = 5;
  Generator gx(3);
  const auto xv = Tensor<float, 2>::normal({n, c}, 0, 1, gx);
  const auto r = Tensor<float, 2>::normal({n, c}, 0, 1, gx);

  auto run = [&](bool ckpt, int blocks) {
    Block blk = make_block(c);
    V2 x(xv, true);
    V2 h = x;
    for (int k = 0; k < blocks; ++k) h = ckpt ? checkpoint([&blk](const V2& in) { return blk(in); }, h) : blk(h);
    sum(Var<float, 2>(h * r)).backward();
    return std::vector<Tensor<float, 2>>{h.value(), x.grad(), blk.w1.grad(), blk.w2.grad(), blk.b.grad()};
  };
  for (int blocks : {1, 3}) {
    const auto plain = run(false, blocks), ck = run(true, blocks);
    for (std::size_t k = 0; k < plain.size(); ++k) {
      CAPTURE(blocks);
      CAPTURE(k);
      CHECK(bitwise_equal(plain[k], ck[k]));
    }
  }
}

TEST_CASE("checkpoint keeps only its inputs: fn's intermediate results are not recorded") {
  Block blk = make_block(4);
  V2 x(Tensor<float, 2>::ones({3, 4}), true);
  int calls = 0;
  V2 y = checkpoint(
      [&](const V2& in) {
        ++calls;
        CHECK(is_grad_enabled() == is_recomputing());  // no recording in the forward, recording in the recomputation
        return blk(in);
      },
      x);
  CHECK(calls == 1);
  CHECK(y.grad_fn_name() == std::string("checkpoint"));
  CHECK(y.requires_grad());
  CHECK_FALSE(is_recomputing());
  sum(y).backward();
  CHECK(calls == 2);
  CHECK_FALSE(is_recomputing());
  CHECK(blk.w1.has_grad());
}

TEST_CASE("checkpoint without grad mode or without inputs that require grad runs fn as usual") {
  Block blk = make_block(4);
  V2 x(Tensor<float, 2>::ones({3, 4}), false);
  {
    NoGradGuard ng;
    V2 y = checkpoint([&](const V2& in) { return blk(in); }, x);
    CHECK_FALSE(y.requires_grad());
  }
  // The input needs no gradient, the parameters do: recorded as usual, not checkpointed.
  V2 y = checkpoint([&](const V2& in) { return blk(in); }, x);
  CHECK(y.requires_grad());
  CHECK(std::string(y.grad_fn_name()) != "checkpoint");
  sum(y).backward();
  CHECK(blk.w2.has_grad());
}

TEST_CASE("checkpoint replays the random draws of the first run in the recomputation") {
  const index_t n = 4, c = 6;
  Generator gx(5);
  const auto xv = Tensor<float, 2>::normal({n, c}, 0, 1, gx);
  // Dropout-like: a mask drawn from the default generator inside fn.
  auto fn = [](const V2& in) {
    auto m = Tensor<float, 2>::uniform(in.shape(), 0, 1).to_vector();
    for (auto& v : m) v = v < 0.5f ? 0.0f : 2.0f;
    const auto mask = Tensor<float, 2>::from_data(in.shape(), std::span<const float>(m));
    return V2(in * in * mask);
  };
  auto run = [&](bool ckpt, CheckpointOptions opt = {}) {
    manual_seed(77);
    V2 x(xv, true);
    V2 y = ckpt ? checkpoint(opt, fn, x) : fn(x);
    const auto after_forward = default_generator().state();
    sum(y).backward();
    // The replayed recomputation leaves the stream where the forward left it.
    if (opt.preserve_rng_state) CHECK(default_generator().state() == after_forward);
    return std::pair{y.value(), x.grad()};
  };
  const auto [y0, g0] = run(false);
  const auto [y1, g1] = run(true);
  CHECK(bitwise_equal(y0, y1));
  CHECK(bitwise_equal(g0, g1));
  // Without the replay the recomputation draws another mask: a different (wrong) gradient.
  const auto [y2, g2] = run(true, {.preserve_rng_state = false});
  CHECK(bitwise_equal(y0, y2));
  CHECK_FALSE(bitwise_equal(g0, g2));
}

TEST_CASE("checkpoint replays a generator passed in the options") {
  Generator mine(9);
  auto fn = [&mine](const V2& in) { return V2(in * Tensor<float, 2>::uniform(in.shape(), 0, 1, mine)); };
  V2 x(Tensor<float, 2>::ones({2, 3}), true);
  const auto start = mine.state();
  V2 y = checkpoint({.generators = {&mine}}, fn, x);
  sum(y).backward();
  CHECK(bitwise_equal(x.grad(), y.value()));  // dy/dx = the mask the forward drew
  mine.set_state(start);
  CHECK(bitwise_equal(Tensor<float, 2>::uniform({2, 3}, 0, 1, mine), y.value()));
}

TEST_CASE("checkpoint misuse throws clear errors") {
  Block blk = make_block(3);
  V2 x(Tensor<float, 2>::ones({2, 3}), true);

  SUBCASE("backward twice without retain_graph") {
    V2 y = checkpoint([&](const V2& in) { return blk(in); }, x);
    sum(y).backward();
    CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("already used by a backward and freed"), autograd_error);
  }
  SUBCASE("backward twice with retain_graph recomputes again") {
    V2 y = checkpoint([&](const V2& in) { return blk(in); }, x);
    const auto loss = sum(y);
    loss.backward({.retain_graph = true});
    const auto once = x.grad();
    loss.backward();
    CHECK(x.grad().to_vector() == Tensor<float, 2>(once * 2.0f).to_vector());
  }
  SUBCASE("fn whose result does not depend on anything that requires grad") {
    V2 y = checkpoint([](const V2& in) { return in.detach(); }, x);
    CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("does not require grad when recomputed"), autograd_error);
  }
  SUBCASE("fn that computes something else when recomputed") {
    int calls = 0;
    V2 y = checkpoint(
        [&](const V2& in) {
          ++calls;
          return calls == 1 ? V2(in * 2.0f) : concat({in, in}, 0);
        },
        x);
    CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("fn must compute the same function again"), shape_error);
  }
  SUBCASE("backward called from inside the recomputed fn") {
    V2 z(Tensor<float, 2>::ones({2, 3}), true);
    V2 y = checkpoint(
        [&](const V2& in) {
          if (is_recomputing()) sum(V2(z * 2.0f)).backward();
          return V2(in * 2.0f);
        },
        x);
    CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("while checkpoint() recomputes"), autograd_error);
    CHECK_FALSE(is_recomputing());  // the flag is put back on the way out
  }
  SUBCASE("an input changed in place before backward") {
    V2 a(Tensor<float, 2>::ones({2, 3}), true);
    V2 h = a * 1.0f;
    V2 y = checkpoint([&](const V2& in) { return blk(in); }, h);
    {
      NoGradGuard ng;
      h.mutable_value() += 1.0f;
    }
    CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("modified in place"), autograd_error);
  }
}

TEST_CASE("nested checkpoints give the plain gradients") {
  Block inner = make_block(4), outer = make_block(4);
  Generator gx(8);
  const auto xv = Tensor<float, 2>::normal({3, 4}, 0, 1, gx);
  auto run = [&](bool ckpt) {
    inner.w1.zero_grad();
    outer.w1.zero_grad();
    V2 x(xv, true);
    V2 y = ckpt ? checkpoint(
                      [&](const V2& in) {
                        V2 h = checkpoint([&](const V2& i2) { return inner(i2); }, in);
                        return outer(h);
                      },
                      x)
                : outer(inner(x));
    sum(y).backward();
    return std::vector<Tensor<float, 2>>{x.grad(), inner.w1.grad(), outer.w1.grad()};
  };
  const auto a = run(false), b = run(true);
  for (std::size_t k = 0; k < a.size(); ++k) CHECK(bitwise_equal(a[k], b[k]));
}

TEST_CASE("grad-ready hooks fire once per pass, after a leaf's last contribution; never through a checkpoint") {
  Generator g(3);
  Var<double, 2> a(Tensor<double, 2>::normal({3, 4}, 0, 1, g), true), b(Tensor<double, 2>::normal({3, 4}, 0, 1, g), true);
  Var<double, 2> unused(Tensor<double, 2>::normal({3, 4}, 0, 1, g), true);
  std::vector<std::string> fired;
  std::vector<double> a_grad_at_hook;
  const auto ha = add_grad_ready_hook(a.slot(), [&] {
    fired.push_back("a");
    a_grad_at_hook = a.grad().to_vector();
  });
  const auto hb = add_grad_ready_hook(b.slot(), [&] { fired.push_back("b"); });
  const auto hu = add_grad_ready_hook(unused.slot(), [&] { fired.push_back("unused"); });
  // a feeds three nodes, the last of them (in backward order) the first one recorded.
  auto loss = [&] {
    Var<double, 2> u = a * a;
    Var<double, 2> v = u * b + a;
    return sum(Var<double, 2>(v * 2.0 + a));
  };
  loss().backward();
  CHECK(fired == std::vector<std::string>{"b", "a"});
  CHECK(a_grad_at_hook == a.grad().to_vector());  // nothing was added after the hook
  fired.clear();
  a.zero_grad();
  loss().backward();  // once per pass
  CHECK(fired.size() == 2);
  // A pass through a checkpoint fires nothing (the recomputation adds to leaves inside the node).
  fired.clear();
  sum(checkpoint([&](const Var<double, 2>& x) { return Var<double, 2>(x * b); }, a)).backward();
  CHECK(fired.empty());
  remove_grad_ready_hook(a.slot(), ha);
  remove_grad_ready_hook(b.slot(), hb);
  remove_grad_ready_hook(unused.slot(), hu);
  loss().backward();
  CHECK(fired.empty());
}
