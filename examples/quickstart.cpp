// Quickstart: learn the pointwise nonlinear operator G(u)(x) = u(x) sin(2 u(x)) from random
// smooth functions with a two-layer channel MLP, using neuralop's tensors, fused elementwise
// autodiff and channel contraction. Prints the relative L2 error on held-out functions.
// (Later releases replace this by training an FNO on generated PDE data.)
//
//   quickstart [n_steps=300] [hidden=32] [seed=0]
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <neuralop/neuralop.hpp>

namespace no = neuralop;
using no::index_t;

namespace {

// n random smooth periodic functions on s points: four random Fourier modes, decaying.
no::Tensor<float, 3> random_functions(index_t n, index_t s, no::Generator& g) {
  const auto coef = no::Tensor<float, 3>::normal({n, 1, 8}, 0.f, 1.f, g);
  no::Tensor<float, 3> u({n, 1, s});
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < s; ++j) {
      float v = 0;
      for (index_t k = 0; k < 4; ++k) {
        const float t = 2.f * float(M_PI) * float((k + 1) * j) / float(s);
        v += (coef.at(i, 0, 2 * k) * std::cos(t) + coef.at(i, 0, 2 * k + 1) * std::sin(t)) / float(k + 1);
      }
      u.at(i, 0, j) = v;
    }
  return u;
}

no::Tensor<float, 3> apply_operator(const no::Tensor<float, 3>& u) {
  auto out = no::Tensor<float, 3>::empty(u.shape());
  for (index_t i = 0; i < u.numel(); ++i) out.data()[i] = u.data()[i] * std::sin(2.f * u.data()[i]);
  return out;
}

// Relative L2 error ||pred - y|| / ||y||, summed over samples then averaged (as LpLoss).
double relative_l2(const no::Tensor<float, 3>& pred, const no::Tensor<float, 3>& y) {
  const auto num = no::sum(no::square(pred - y), {1, 2}), den = no::sum(no::square(y), {1, 2});
  double acc = 0;
  for (index_t i = 0; i < num.numel(); ++i) acc += std::sqrt(num.data()[i] / den.data()[i]);
  return acc / double(num.numel());
}

struct Mlp {
  no::Var<float, 2> w1, w2;
  no::Var<float, 2> b1, b2;  // [C, 1] channel biases broadcast over the grid
  no::Var<float, 3> operator()(const no::Var<float, 3>& u) const {
    no::Var<float, 3> h = no::gelu(no::channel_contract(u, w1) + b1);
    return no::Var<float, 3>(no::channel_contract(h, w2) + b2);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  const index_t hidden = argc > 2 ? std::atoll(argv[2]) : 32;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
  if (steps < 1 || hidden < 1) {
    std::fprintf(stderr, "usage: quickstart [n_steps>=1] [hidden>=1] [seed]\n");
    return 2;
  }
  no::Generator g(seed);
  const index_t s = 64;
  const auto u_train = random_functions(256, s, g), u_test = random_functions(64, s, g);
  const auto y_train = apply_operator(u_train), y_test = apply_operator(u_test);

  // PyTorch's default Conv1d initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  auto init = [&](index_t o, index_t i) {
    const float k = 1.f / std::sqrt(float(i));
    return no::Var<float, 2>(no::Tensor<float, 2>::uniform({o, i}, -k, k, g), true);
  };
  Mlp net{init(hidden, 1), init(1, hidden), init(hidden, 1), init(1, 1)};
  std::vector<no::Var<float, 2>*> params{&net.w1, &net.w2, &net.b1, &net.b2};
  std::vector<no::Tensor<float, 2>> momentum;
  for (auto* p : params) momentum.emplace_back(p->shape());

  const no::Var<float, 3> x(u_train);
  auto report = [&](int step) {
    no::NoGradGuard ng;
    std::printf("step %4d  train rel. L2 %.4f  test rel. L2 %.4f\n", step,
                relative_l2(net(x).value(), y_train), relative_l2(net(no::Var<float, 3>(u_test)).value(), y_test));
  };
  report(0);
  const float lr = 0.05f, beta = 0.9f;
  for (int step = 1; step <= steps; ++step) {
    for (auto* p : params) p->zero_grad();
    auto loss = no::mean(no::square(net(x) - y_train));
    loss.backward();
    no::NoGradGuard ng;  // SGD with momentum, in place
    for (std::size_t i = 0; i < params.size(); ++i) {
      momentum[i].assign(momentum[i] * beta + params[i]->grad());
      params[i]->mutable_value() -= momentum[i] * lr;
    }
    if (step % 100 == 0 || step == steps) report(step);
  }
  return 0;
}
