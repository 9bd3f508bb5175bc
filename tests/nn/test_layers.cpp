// FNO building blocks against neuraloperator 2.0.0 / torch (tools/reference/make_layers_golden.py):
// normalization layers (InstanceNorm, GroupNorm, BatchNorm train/eval with running statistics,
// AdaIN), resample (linear, bicubic, spectral), LinearChannelMLP, GridEmbedding2D,
// SinusoidalEmbedding; DomainPadding, dropout and ScalingFactor rules; bad-input errors; the
// parameters' and buffers' backend-memory copies (what NCCL data-parallel training moves).
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstddef>
#include <string>
#include <vector>

#include "../helpers.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/nn/embeddings.hpp"
#include "neuralop/nn/fno_block.hpp"
#include "neuralop/nn/normalization.hpp"
#include "neuralop/nn/padding.hpp"
#include "neuralop/ops/resample.hpp"

using namespace neuralop;

namespace {

io::Value golden() {
  static const io::Value g = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/nn/golden/layers.pt");
  return g;
}

template <class T, std::size_t R>
double rel_l2(const Tensor<T, R>& got, const io::RawTensor& want) {
  return test::rel_l2(got.to_vector(), want.to_vector<T>());
}

// y against the golden y, then L = sum(y * r): x's gradient and every parameter's.
// ||got - want|| relative to max(||want||, floor). The floor is 1 (the scale of these gradients),
// or the largest parameter gradient norm of the case for gradients that are zero up to rounding:
// a bias followed by an instance norm gets 8e-5 in torch, noise against gradients of 100, where
// only the noise level relative to that scale means something.
template <class U>
double grad_error(const io::RawTensor& got, const io::RawTensor& want, double floor = 1.0) {
  const auto a = got.to_vector<U>(), b = want.to_vector<U>();
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += std::norm(std::complex<double>(a[i]) - std::complex<double>(b[i]));
    den += std::norm(std::complex<double>(b[i]));
  }
  return std::sqrt(num) / std::max(std::sqrt(den), floor);
}
double norm_of(const io::RawTensor& t) {
  double s = 0;
  if (io::is_complex_dtype(t.dtype))
    for (auto v : t.to_vector<std::complex<float>>()) s += std::norm(std::complex<double>(v));
  else
    for (auto v : t.to_vector<float>()) s += double(v) * double(v);
  return std::sqrt(s);
}

template <std::size_t R>
void check_forward_backward(const io::Value& c, const nn::Module* m, const Var<float, R>& x, Var<float, R> y) {
  CHECK(rel_l2(y.value(), c.at("y").tensor()) <= 1e-5);
  y.backward(c.at("r").as<Tensor<float, R>>());
  CHECK(rel_l2(x.grad(), c.at("grad_x").tensor()) <= 1e-4);
  if (!m) return;
  double scale = 1;
  for (const auto& entry : m->named_parameters()) scale = std::max(scale, norm_of(c.at("grad." + entry.first).tensor()));
  for (const auto& entry : m->named_parameters()) {
    const std::string& pname = entry.first;
    CAPTURE(pname);
    const auto got = entry.second->grad_raw();
    REQUIRE(got.has_value());
    const auto want = c.at("grad." + pname).tensor();
    REQUIRE(got->shape == want.shape);
    const double floor = norm_of(want) < 1e-5 * scale ? scale : 1.0;  // zero up to rounding
    if (io::is_complex_dtype(want.dtype))
      CHECK(grad_error<std::complex<float>>(*got, want, floor) <= 1e-4);
    else
      CHECK(grad_error<float>(*got, want, floor) <= 1e-4);
  }
}

template <std::size_t R>
Var<float, R> input(const io::Value& c) {
  return Var<float, R>(c.at("x").as<Tensor<float, R>>(), true);
}

}  // namespace

TEST_CASE("InstanceNorm and GroupNorm match torch: outputs and gradients") {
  const auto g = golden();
  {
    const auto c = g.at("group_norm_2d");
    nn::GroupNorm<float> gn(2, 4);
    const auto sd = io::state_dict_from_value(c.at("state_dict"));
    CHECK(gn.state_dict().names() == sd.names());
    gn.load_state_dict(sd);
    auto x = input<4>(c);
    check_forward_backward(c, &gn, x, gn(x));
  }
  {
    const auto c = g.at("instance_norm_1d");
    nn::InstanceNorm<float> in;
    auto x = input<3>(c);
    check_forward_backward(c, &in, x, in(x));
  }
  {
    const auto c = g.at("instance_norm_3d");
    nn::InstanceNorm<float> in;
    auto x = input<5>(c);
    check_forward_backward(c, &in, x, in(x));
  }
}

template <std::size_t R>
void check_batch_norm(const io::Value& g, int n_dim) {
  CAPTURE(n_dim);
  nn::BatchNorm<float> bn(4);
  const auto c = g.at("batch_norm_" + std::to_string(n_dim) + "d_train");
  const auto sd = io::state_dict_from_value(c.at("state_dict"));
  CHECK(bn.state_dict().names() == sd.names());  // weight, bias, running_mean, running_var, num_batches_tracked
  bn.load_state_dict(sd);
  auto x = input<R>(c);
  check_forward_backward(c, &bn, x, bn(x));
  // Running statistics after one training step.
  const auto after = io::state_dict_from_value(c.at("state_after"));
  CHECK(rel_l2(bn.running_mean(), after.at("norm.running_mean")) <= 1e-6);
  CHECK(rel_l2(bn.running_var(), after.at("norm.running_var")) <= 1e-6);
  CHECK(bn.num_batches_tracked() == 1);
  CHECK(bn.state_dict().at("norm.num_batches_tracked").to_vector<std::int64_t>()[0] == 1);
  // Eval mode uses them.
  bn.eval();
  bn.zero_grad();
  const auto e = g.at("batch_norm_" + std::to_string(n_dim) + "d_eval");
  auto xe = input<R>(e);
  check_forward_backward(e, &bn, xe, bn(xe));
  CHECK(bn.num_batches_tracked() == 1);
}

TEST_CASE("BatchNorm matches torch in training mode (batch statistics, running stats update) and eval mode") {
  const auto g = golden();
  check_batch_norm<3>(g, 1);
  check_batch_norm<4>(g, 2);
  check_batch_norm<5>(g, 3);
}

TEST_CASE("AdaIN matches neuralop: outputs, gradients of x, the embedding and the MLP") {
  const auto c = golden().at("ada_in_2d");
  nn::AdaIN<float> ada(3, 4);
  const auto sd = io::state_dict_from_value(c.at("state_dict"));
  CHECK(ada.state_dict().names() == sd.names());
  ada.load_state_dict(sd);
  Var<float, 1> e(c.at("embedding").as<Tensor<float, 1>>(), true);
  ada.set_embedding(e);
  auto x = input<4>(c);
  check_forward_backward(c, &ada, x, ada(x));
  CHECK(rel_l2(e.grad(), c.at("grad_embedding").tensor()) <= 1e-4);
}

template <std::size_t R>
void check_resample(const std::string& name) {
  CAPTURE(name);
  const auto c = golden().at(name);
  std::array<index_t, R - 2> size{};
  const auto os = c.at("output_shape").elements();
  for (std::size_t i = 0; i < R - 2; ++i) size[i] = os[i].as<int>();
  auto x = input<R>(c);
  check_forward_backward<R>(c, nullptr, x, resample(x, size));
}

TEST_CASE("resample matches neuralop: 1-D linear, 2-D bicubic (align_corners), 3-D spectral") {
  check_resample<3>("resample_1d_up");
  check_resample<3>("resample_1d_down");
  check_resample<4>("resample_2d_mixed");
  check_resample<4>("resample_2d_same");
  check_resample<5>("resample_3d_mixed");
  check_resample<5>("resample_3d_odd");
  // Equal size: linear and bicubic are exact identities.
  Var<float, 4> x(Tensor<float, 4>::normal({1, 2, 5, 6}));
  CHECK(resample(x, std::array<index_t, 2>{5, 6}).value().to_vector() == x.value().to_vector());
  CHECK_THROWS_AS(resample(x, std::array<index_t, 2>{0, 6}), shape_error);
}

TEST_CASE("LinearChannelMLP, GridEmbedding2D and SinusoidalEmbedding match neuralop") {
  const auto g = golden();
  {
    const auto c = g.at("linear_channel_mlp");
    nn::LinearChannelMLP<float> mlp({3, 5, 2});
    const auto sd = io::state_dict_from_value(c.at("state_dict"));
    CHECK(mlp.state_dict().names() == sd.names());
    mlp.load_state_dict(sd);
    auto x = input<3>(c);
    check_forward_backward(c, &mlp, x, mlp(x));
    CHECK_THROWS_AS(nn::LinearChannelMLP<float>({3}), value_error);
    CHECK(test::error_message<shape_error>([&] { (void)mlp(Var<float, 2>(Tensor<float, 2>({4, 2}))); }).find("fcs.0") !=
          std::string::npos);
  }
  {
    nn::GridEmbedding2D<float> ge({{{0.0, 2.0}, {-1.0, 1.0}}});
    const auto c = g.at("grid_embedding_2d");
    CHECK(rel_l2(ge(Var<float, 4>(c.at("x").as<Tensor<float, 4>>())).value(), c.at("y").tensor()) <= 1e-6);
    const auto u = g.at("grid_embedding_2d_unbatched");
    CHECK(rel_l2(ge(Var<float, 3>(u.at("x").as<Tensor<float, 3>>())).value(), u.at("y").tensor()) <= 1e-6);
  }
  {
    const auto c = g.at("sinusoidal_nerf");
    nn::SinusoidalEmbedding<float> se(2, 3, "nerf");
    CHECK(se.out_channels() == 12);
    auto x = input<2>(c);
    check_forward_backward<2>(c, nullptr, x, se(x));
    const auto t = g.at("sinusoidal_transformer");
    nn::SinusoidalEmbedding<float> st(2, 4, "transformer", 100);
    auto xt = input<3>(t);
    check_forward_backward<3>(t, nullptr, xt, st(xt));
    CHECK_THROWS_AS(nn::SinusoidalEmbedding<float>(2, 3, "bogus"), value_error);
    CHECK_THROWS_AS(st(Var<float, 2>(Tensor<float, 2>({5, 3}))), shape_error);
  }
}

TEST_CASE("DomainPadding: round-half-even padding on both sides, unpad with the scaling rule") {
  nn::DomainPadding<2> p({0.2});
  Var<float, 4> x(Tensor<float, 4>::normal({1, 2, 10, 10}), true);
  auto y = p.pad(x);
  CHECK(y.shape() == Shape<4>{1, 2, 14, 14});  // NeuralOperator's test: 10x10 -> 14x14 and back
  auto z = p.unpad(y);
  CHECK(z.value().to_vector() == x.value().to_vector());
  nn::DomainPadding<2> q({0.25, 0.25});
  CHECK(q.pad(Var<float, 4>(Tensor<float, 4>({1, 1, 10, 12}))).shape() == Shape<4>{1, 1, 14, 18});  // 2.5 -> 2, 3
  // With a scaling factor, unpad removes round(p r) of an output of size round(r (N + 2p)).
  nn::DomainPadding<1, float> s({0.25}, 2.0);
  auto ps = s.pad(Var<float, 3>(Tensor<float, 3>({1, 1, 8})));  // p = 2 -> 12
  CHECK(ps.shape()[2] == 12);
  CHECK(s.unpad(Var<float, 3>(Tensor<float, 3>({1, 1, 24}))).shape()[2] == 16);
  auto msg = test::error_message<shape_error>([&] { (void)s.unpad(Var<float, 3>(Tensor<float, 3>({1, 1, 12}))); });
  CHECK(msg.find("[24]") != std::string::npos);
  CHECK_THROWS_AS(nn::DomainPadding<2>({0.1, 0.2, 0.3}), value_error);
  CHECK_THROWS_AS(nn::DomainPadding<2>({-0.1}), value_error);
  CHECK_THROWS_AS(nn::DomainPadding<2>({0.1}, nn::ScalingFactor{{1.0, 2.0}, {1.0, 1.0}}), value_error);
}

TEST_CASE("ScalingFactor: NeuralOperator's validate_scaling_factor readings") {
  using SF = nn::ScalingFactor;
  CHECK(SF().per_layer(2, 3, "t").empty());
  CHECK(SF(2.0).per_layer(2, 2, "t") == std::vector<std::vector<double>>{{2, 2}, {2, 2}});
  CHECK(SF{1.0, 0.5}.per_layer(3, 2, "t") == std::vector<std::vector<double>>{{1, 1, 1}, {0.5, 0.5, 0.5}});
  CHECK(SF{{1.0, 2.0}, {0.5, 1.0}}.per_layer(2, 2, "t") == std::vector<std::vector<double>>{{1, 2}, {0.5, 1}});
  CHECK_THROWS_AS((SF{1.0, 0.5}).per_layer(2, 3, "t"), value_error);
  CHECK_THROWS_AS((SF{{1.0, 2.0, 3.0}}).per_layer(2, 1, "t"), value_error);
  CHECK_THROWS_AS(SF(-1.0).per_layer(2, 1, "t"), value_error);
  CHECK(SF().per_axis(2, "t") == std::vector<double>{1, 1});
  CHECK(SF{2.0, 3.0}.per_axis(2, "t") == std::vector<double>{2, 3});
}

TEST_CASE("dropout: mask statistics in training mode, identity in eval mode") {
  manual_seed(3);
  Var<float, 3> x(Tensor<float, 3>::ones({4, 8, 1000}), true);
  auto y = nn::dropout(x, 0.3);
  const auto v = y.value().to_vector();
  std::size_t zeros = 0;
  for (float a : v) {
    if (a == 0) ++zeros;
    else CHECK(std::abs(a - 1 / 0.7f) < 1e-6);
  }
  const double frac = double(zeros) / double(v.size());
  CHECK(std::abs(frac - 0.3) < 0.01);  // 32000 draws: sd 0.0026
  y.backward(Tensor<float, 3>::ones(y.shape()));
  CHECK(x.grad().to_vector() == v);  // d/dx = mask
  // ChannelMLP with dropout: after every layer in training mode, nothing in eval mode.
  nn::ChannelMLP<float> mlp({.in_channels = 4, .out_channels = 4, .hidden_channels = 6, .n_layers = 2, .dropout = 0.5});
  Var<float, 3> z(Tensor<float, 3>::normal({2, 4, 50}));
  mlp.eval();
  auto e1 = mlp(z), e2 = mlp(z);
  CHECK(e1.value().to_vector() == e2.value().to_vector());
  mlp.train();
  auto t1 = mlp(z);
  std::size_t tz = 0;
  for (float a : t1.value().to_vector()) tz += a == 0;
  CHECK(tz > 100);  // about half of 400 outputs dropped after the last layer
  CHECK_THROWS_AS(nn::ChannelMLP<float>({.in_channels = 4, .dropout = 1.5}), value_error);
  CHECK_THROWS_AS(nn::dropout(x, -0.1), value_error);
}

TEST_CASE("Normalization layers: bad input and options name the layer and the values") {
  nn::GroupNorm<float> gn(2, 4);
  auto msg = test::error_message<shape_error>([&] { (void)gn(Var<float, 4>(Tensor<float, 4>({1, 3, 4, 4}))); });
  CHECK(msg.find("GroupNorm") != std::string::npos);
  CHECK(msg.find("[1, 3, 4, 4]") != std::string::npos);
  CHECK_THROWS_AS(nn::GroupNorm<float>(3, 4), value_error);
  nn::BatchNorm<float> bn(3);
  CHECK_THROWS_AS(bn(Var<float, 3>(Tensor<float, 3>({2, 4, 5}))), shape_error);
  msg = test::error_message<value_error>([&] { (void)bn(Var<float, 3>(Tensor<float, 3>({1, 3, 1}))); });
  CHECK(msg.find("more than 1 value per channel") != std::string::npos);
  nn::AdaIN<float> ada(3, 2);
  CHECK(test::error_message<value_error>([&] { (void)ada(Var<float, 4>(Tensor<float, 4>({1, 2, 4, 4}))); }).find("set_embedding") !=
        std::string::npos);
  CHECK_THROWS_AS(ada.set_embedding(Var<float, 1>(Tensor<float, 1>({4}))), shape_error);
  CHECK_THROWS_AS(nn::AdaIN<float>(0, 2), value_error);
  // BatchNorm's num_batches_tracked must load as an int64 scalar.
  auto sd = bn.state_dict();
  CHECK(sd.at("norm.num_batches_tracked").dtype == io::DType::int64);
  sd.set("norm.num_batches_tracked", io::RawTensor::from_tensor(Tensor<float, 1>({1})));
  CHECK_THROWS_AS(bn.load_state_dict(sd), shape_error);
}

TEST_CASE("FNOBlocks with AdaIN matches neuralop (embedding set for every norm)") {
  const auto c = golden().at("fno_blocks_ada_in");
  nn::FNOBlocks<2> blocks({.in_channels = 3,
                           .out_channels = 3,
                           .n_modes = {4, 4},
                           .n_layers = 2,
                           .norm = "ada_in",
                           .ada_in_features = 2});
  const auto sd = io::state_dict_from_value(c.at("state_dict"));
  CHECK(blocks.state_dict().names() == sd.names());
  blocks.load_state_dict(sd);
  Var<float, 1> e(c.at("embedding").as<Tensor<float, 1>>(), true);
  blocks.set_ada_in_embeddings({e});
  auto x = input<4>(c);
  auto y = blocks(blocks(x, 0), 1);
  check_forward_backward(c, &blocks, x, y);
  CHECK(rel_l2(e.grad(), c.at("grad_embedding").tensor()) <= 1e-4);
  CHECK_THROWS_AS(nn::FNOBlocks<2>({.in_channels = 3, .out_channels = 3, .n_modes = {4, 4}, .norm = "ada_in"}), value_error);
  CHECK_THROWS_AS(blocks.set_ada_in_embeddings({e, e, e}), value_error);
}

TEST_CASE("Gradients of the new layers against finite differences (double)") {
  Generator gen(5);
  Var<double, 3> x1(Tensor<double, 3>::normal({2, 2, 7}, 0, 1, gen), true);
  GRADCHECK([](auto& v) { return resample(v, std::array<index_t, 1>{11}); }, x1);
  Var<double, 4> x2(Tensor<double, 4>::normal({1, 2, 5, 4}, 0, 1, gen), true);
  GRADCHECK([](auto& v) { return resample(v, std::array<index_t, 2>{7, 3}); }, x2);
  Var<double, 5> x3(Tensor<double, 5>::normal({1, 1, 4, 5, 6}, 0, 1, gen), true);
  GRADCHECK([](auto& v) { return resample(v, std::array<index_t, 3>{6, 3, 5}); }, x3);
  nn::SinusoidalEmbedding<double> se(2, 3, "nerf");
  Var<double, 2> p(Tensor<double, 2>::uniform({4, 2}, 0, 1, gen), true);
  GRADCHECK([&](auto& v) { return se(v); }, p);
  nn::BatchNorm<double> bn(2);
  GRADCHECK([&](auto& v) { return bn(v); }, x2);
  nn::GroupNorm<double> gn(1, 2);
  GRADCHECK([&](auto& v) { return gn(v); }, x2);
  nn::DomainPadding<2, double> pad({0.25});
  GRADCHECK([&](auto& v) { return pad.unpad(pad.pad(v)); }, x2);
}

TEST_CASE("ParameterBase's backend-memory copies: on cpu they move the host bytes; gradients are replaced, not aliased") {
  using C = std::complex<float>;
  nn::Parameter<C, 2> p(Tensor<C, 2>::from_data({2, 2}, {C(1, 2), C(3, 4), C(5, 6), C(7, 8)}));
  nn::ParameterBase& b = p;
  CHECK(std::string(b.backend_name()) == "cpu");
  REQUIRE(b.host_nbytes() == 4 * sizeof(C));
  std::vector<C> v(4);
  b.value_to_backend(v.data());
  CHECK(v == p.var.value().to_vector());
  const std::vector<C> w = {C(-1, 0), C(0, -2), C(9, 9), C(0.5f, 0.25f)};
  b.value_from_backend(w.data());
  CHECK(p.var.value().to_vector() == w);
  // No gradient yet: nothing to copy out.
  CHECK_FALSE(b.has_grad());
  CHECK_THROWS_AS(b.grad_to_backend(v.data()), autograd_error);
  b.grad_from_backend(w.data());
  REQUIRE(b.has_grad());
  CHECK(p.var.grad().to_vector() == w);
  // The copy is the parameter's own: changing the source afterwards changes nothing.
  std::vector<C> g = {C(2, 0), C(0, 2), C(-2, 0), C(0, -2)};
  b.grad_from_backend(g.data());
  g[0] = C(100, 100);
  std::vector<C> out(4);
  b.grad_to_backend(out.data());
  CHECK(out[0] == C(2, 0));
  CHECK(out[3] == C(0, -2));
  CHECK(b.grad_raw()->to_vector<C>() == out);

  // Buffers: BatchNorm's running statistics (a tensor Buffer) and its step counter (host int64).
  nn::BatchNorm<float> bn(3);
  const auto buffers = bn.named_buffers();
  REQUIRE(buffers.size() == 3);
  for (const auto& entry : buffers) {
    CAPTURE(entry.first);
    nn::ParameterBase* e = entry.second;
    CHECK(std::string(e->backend_name()) == "cpu");
    std::vector<std::byte> in(e->host_nbytes()), back(e->host_nbytes()), host(e->host_nbytes());
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = std::byte(i % 7 == 3 ? 0x3f : 0x01);
    e->value_from_backend(in.data());
    e->value_to_backend(back.data());
    e->value_to_host(host.data());
    CHECK(back == in);
    CHECK(host == in);
  }
}
