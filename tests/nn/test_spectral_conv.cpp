// SpectralConv against neuraloperator 2.0.0 (tools/reference/make_spectral_conv_golden.py): the
// same state_dict and input give the same output (relative L2 <= 1e-5, float32) and the same
// input and parameter gradients of L = sum(y * r) (<= 1e-4); plus names, shapes and errors.
#include <doctest/doctest.h>

#include <cmath>

#include "../golden_helpers.hpp"
#include "../helpers.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/base.hpp"
#include "neuralop/nn/spectral_conv.hpp"

using namespace neuralop;

namespace {

const io::Value& golden() {
  static const io::Value v = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/nn/golden/spectral_conv.pt");
  return v;
}

template <class T, std::size_t R>
double rel_l2(const Tensor<T, R>& got, const io::Value& want) {
  const auto w = want.as<Tensor<T, R>>();
  REQUIRE(got.shape() == w.shape());
  return test::rel_l2(got.to_vector(), w.to_vector());
}

using test::ints;

nn::SpectralConvOptions options(const io::Value& o) {
  nn::SpectralConvOptions opt;
  opt.in_channels = o.at("in_channels").as<int>();
  opt.out_channels = o.at("out_channels").as<int>();
  opt.n_modes = ints(o.at("n_modes"));
  if (o.contains("max_n_modes")) opt.max_n_modes = ints(o.at("max_n_modes"));
  if (o.contains("bias")) opt.bias = o.at("bias").as<bool>();
  if (o.contains("fft_norm")) opt.fft_norm = o.at("fft_norm").as<std::string>();
  if (o.contains("resolution_scaling_factor")) {
    const auto r = o.at("resolution_scaling_factor");
    std::vector<double> f;
    if (r.is_list()) for (const auto& x : r.elements()) f.push_back(x.to<double>());
    else f.push_back(r.to<double>());
    opt.resolution_scaling_factor = f;
  }
  return opt;
}

template <std::size_t D>
void check_case(const std::string& name, const io::Value& c) {
  CAPTURE(name);
  const auto opts = c.at("options");
  nn::SpectralConv<D> conv(options(opts));
  conv.load_state_dict(io::state_dict_from_value(c.at("state_dict")));
  Var<float, D + 2> x(c.at("x").as<Tensor<float, D + 2>>(), true);
  std::optional<Shape<D>> out_shape;
  if (opts.contains("output_shape")) {
    Shape<D> s{};
    const auto v = ints(opts.at("output_shape"));
    for (std::size_t i = 0; i < D; ++i) s[i] = v[i];
    out_shape = s;
  }
  auto y = conv(x, out_shape);
  CHECK(rel_l2(y.value(), c.at("y")) <= 1e-5);
  y.backward(c.at("r").as<Tensor<float, D + 2>>());
  CHECK(rel_l2(x.grad(), c.at("grad_x")) <= 1e-4);
  CHECK(rel_l2(conv.weight().var.grad(), c.at("grad.weight.tensor")) <= 1e-4);
  if (c.contains("grad.bias")) CHECK(rel_l2(conv.bias().var.grad(), c.at("grad.bias")) <= 1e-4);
}

}  // namespace

TEST_CASE("SpectralConv matches neuraloperator: outputs, input and parameter gradients") {
  int n = 0;
  for (const auto& [k, c] : golden().items()) {
    const std::string name = k.as<std::string>();
    switch (c.at("x").tensor().rank()) {
      case 3: check_case<1>(name, c); break;
      case 4: check_case<2>(name, c); break;
      case 5: check_case<3>(name, c); break;
      default: FAIL("unexpected rank");
    }
    ++n;
  }
  CHECK(n >= 12);
}

TEST_CASE("SpectralConv parameter names, shapes and counts are NeuralOperator's") {
  nn::SpectralConv<2> conv({.in_channels = 3, .out_channels = 4, .n_modes = {16, 16}});
  const auto named = conv.named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "bias");
  CHECK(named[0].second->shape() == std::vector<index_t>{4, 1, 1});
  CHECK(named[1].first == "weight.tensor");
  CHECK(named[1].second->shape() == std::vector<index_t>{3, 4, 16, 9});  // last axis halved
  CHECK(conv.n_parameters() == 4 + 3 * 4 * 16 * 9);
  nn::SpectralConv<2> big({.in_channels = 2, .out_channels = 2, .n_modes = {8, 8}, .max_n_modes = std::vector<int>{8, 8}});
  CHECK(big.weight().shape() == std::vector<index_t>{2, 2, 8, 8});  // a given max_n_modes is not halved
}

TEST_CASE("SpectralConv bad input names the layer and the shapes") {
  nn::SpectralConv<2> conv({.in_channels = 3, .out_channels = 4, .n_modes = {4, 4}});
  Var<float, 4> x(Tensor<float, 4>({2, 5, 8, 8}));
  auto msg = test::error_message<shape_error>([&] { (void)conv(x); });
  CHECK(msg.find("[2, 5, 8, 8]") != std::string::npos);
  CHECK(msg.find("takes 3") != std::string::npos);
  CHECK_THROWS_AS(nn::SpectralConv<2>({.in_channels = 3, .out_channels = 4, .n_modes = {4}}), value_error);
  CHECK_THROWS_AS(nn::SpectralConv<1>({.in_channels = 3, .out_channels = 4, .n_modes = {4}, .fft_norm = "none"}), value_error);
  io::StateDict sd;
  sd.set("bias", io::RawTensor::from_tensor(Tensor<float, 3>({4, 1, 1})));
  msg = test::error_message<value_error>([&] { conv.load_state_dict(sd); });
  CHECK(msg.find("missing keys (1): 'weight.tensor'") != std::string::npos);
  sd.set("weight.tensor", io::RawTensor::from_tensor(Tensor<std::complex<float>, 4>({3, 4, 4, 4})));
  msg = test::error_message<shape_error>([&] { conv.load_state_dict(sd); });
  CHECK(msg.find("'weight.tensor' has shape [3, 4, 4, 4] in the file, the model's is [3, 4, 4, 3]") != std::string::npos);
  sd.set("extra", io::RawTensor::from_tensor(Tensor<float, 1>({1})));
  msg = test::error_message<value_error>([&] { conv.load_state_dict(sd); });
  CHECK(msg.find("unexpected keys (1): 'extra'") != std::string::npos);
}

TEST_CASE("SpectralConv initialisation follows NeuralOperator's distributions") {
  Generator gen(11);
  nn::SpectralConv<2> conv({.in_channels = 16, .out_channels = 16, .n_modes = {16, 16}}, gen);
  const double sigma = std::sqrt(2.0 / 32.0);
  const auto w = conv.weight().var.value().to_vector();
  double re2 = 0, im2 = 0;
  for (auto z : w) {
    re2 += double(z.real()) * z.real();
    im2 += double(z.imag()) * z.imag();
  }
  const double n = double(w.size());
  // E|z|^2 = sigma^2, split evenly between the parts; 36864 samples: 2% tolerance is > 5 sigma.
  CHECK(std::abs((re2 + im2) / n / (sigma * sigma) - 1) < 0.02);
  CHECK(std::abs(re2 / im2 - 1) < 0.04);
}
