// FNO<D> against neuraloperator 2.0.0 (tools/reference/make_fno_golden.py): NeuralOperator's
// state_dict keys and shapes, parameter counts, outputs (relative L2 <= 1e-5, float32) and the
// gradients of x and of every parameter (<= 1e-4) for L = sum(y * r).
#include <doctest/doctest.h>

#include <cmath>

#include "../helpers.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/neuralop.hpp"

using namespace neuralop;

namespace {

template <class T, std::size_t R>
double rel_l2(const Tensor<T, R>& got, const io::RawTensor& want) {
  return test::rel_l2(got.to_vector(), want.to_vector<T>());
}

std::vector<int> ints(const io::Value& v) {
  std::vector<int> out;
  for (const auto& x : v.elements()) out.push_back(x.as<int>());
  return out;
}

FNOOptions options(const io::Value& o) {
  FNOOptions f;
  f.n_modes = ints(o.at("n_modes"));
  f.in_channels = o.at("in_channels").as<int>();
  f.out_channels = o.at("out_channels").as<int>();
  f.hidden_channels = o.at("hidden_channels").as<int>();
  if (o.contains("n_layers")) f.n_layers = o.at("n_layers").as<int>();
  if (o.contains("fno_skip")) f.fno_skip = o.at("fno_skip").as<std::string>();
  if (o.contains("channel_mlp_skip")) f.channel_mlp_skip = o.at("channel_mlp_skip").as<std::string>();
  if (o.contains("use_channel_mlp")) f.use_channel_mlp = o.at("use_channel_mlp").as<bool>();
  if (o.contains("positional_embedding")) f.positional_embedding = o.at("positional_embedding").as<std::string>();
  if (o.contains("lifting_channel_ratio")) f.lifting_channel_ratio = o.at("lifting_channel_ratio").to<double>();
  if (o.contains("projection_channel_ratio")) f.projection_channel_ratio = o.at("projection_channel_ratio").to<double>();
  if (o.contains("max_n_modes")) f.max_n_modes = ints(o.at("max_n_modes"));
  return f;
}

template <std::size_t D>
void check_case(const std::string& name, const io::Value& c) {
  CAPTURE(name);
  FNO<D> model(options(c.at("options")));
  const auto sd = io::state_dict_from_value(c.at("state_dict"));
  CHECK(model.state_dict().names() == sd.names());  // same keys, same order
  CHECK(model.n_parameters() == c.at("n_parameters").as<index_t>());
  model.load_state_dict(sd);
  Var<float, D + 2> x(c.at("x").as<Tensor<float, D + 2>>(), true);
  auto y = model(x);
  CHECK(rel_l2(y.value(), c.at("y").tensor()) <= 1e-5);
  y.backward(c.at("r").as<Tensor<float, D + 2>>());
  CHECK(rel_l2(x.grad(), c.at("grad_x").tensor()) <= 1e-4);
  for (const auto& entry : model.named_parameters()) {
    const std::string& pname = entry.first;  // not a structured binding: CAPTURE is a lambda
    CAPTURE(pname);
    const std::optional<io::RawTensor> got = entry.second->grad_raw();
    REQUIRE(got.has_value());
    const auto want = c.at("grad." + pname).tensor();
    REQUIRE(got->shape == want.shape);
    if (io::is_complex_dtype(want.dtype))
      CHECK(test::rel_l2(got->to_vector<std::complex<float>>(), want.to_vector<std::complex<float>>()) <= 1e-4);
    else
      CHECK(test::rel_l2(got->to_vector<float>(), want.to_vector<float>()) <= 1e-4);
  }
}

}  // namespace

TEST_CASE("FNO 1D, 2D, 3D and option variants match neuraloperator: keys, counts, outputs, gradients") {
  const auto golden = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/models/golden/fno.pt");
  int n = 0;
  for (const auto& [k, c] : golden.items()) {
    switch (c.at("x").tensor().rank()) {
      case 3: check_case<1>(k.as<std::string>(), c); break;
      case 4: check_case<2>(k.as<std::string>(), c); break;
      case 5: check_case<3>(k.as<std::string>(), c); break;
      default: FAIL("unexpected rank");
    }
    ++n;
  }
  CHECK(n >= 7);
}

TEST_CASE("FNO: the Darcy recipe model has NeuralOperator's parameter count") {
  // spec: n_modes (16, 16), hidden 24, 4 layers, in = out = 1: 339,337 tensor elements.
  FNO<2> model({.n_modes = {16, 16}, .in_channels = 1, .out_channels = 1, .hidden_channels = 24});
  CHECK(model.n_parameters() == 339337);
  FNO<2> small({.n_modes = {8, 8}, .in_channels = 1, .out_channels = 1, .hidden_channels = 24});
  index_t twice_complex = 0;  // the spec's 191,881 counts complex entries twice
  for (auto& [name, p] : small.named_parameters()) twice_complex += p->numel() * (io::is_complex_dtype(p->dtype()) ? 2 : 1);
  CHECK(twice_complex == 191881);
}

TEST_CASE("FNO bad input: channels, options, state_dict keys") {
  FNO<2> model({.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 4, .n_layers = 1});
  auto msg = test::error_message<shape_error>([&] { (void)model(Var<float, 4>(Tensor<float, 4>({2, 3, 8, 8}))); });
  CHECK(msg.find("[2, 3, 8, 8]") != std::string::npos);
  CHECK_THROWS_AS(FNO<2>({.n_modes = {4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 4}), value_error);
  CHECK_THROWS_AS(FNO<2>({.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 4, .fno_skip = "bogus"}),
                  value_error);
  auto sd = model.state_dict();
  sd.set("fno_blocks.convs.0.weight.tensor", io::RawTensor::from_tensor(Tensor<std::complex<float>, 4>({4, 4, 4, 4})));
  msg = test::error_message<shape_error>([&] { model.load_state_dict(sd); });
  CHECK(msg.find("'fno_blocks.convs.0.weight.tensor' has shape [4, 4, 4, 4] in the file, the model's is [4, 4, 4, 3]") !=
        std::string::npos);
}
