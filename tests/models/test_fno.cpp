// FNO<D> against neuraloperator 2.0.0 (tools/reference/make_fno_golden.py): NeuralOperator's
// state_dict keys and shapes, parameter counts, outputs (relative L2 <= 1e-5, float32) and the
// gradients of x and of every parameter (<= 1e-4) for L = sum(y * r); options: domain padding,
// norms (BatchNorm's running statistics too), pre-activation, tanh stabilizer, resolution
// scaling, output_shape, factorized weights (TFNO).
#include <doctest/doctest.h>

#include <cmath>

#include "../golden_helpers.hpp"
#include "fno_golden.hpp"
#include "../helpers.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/base.hpp"

using namespace neuralop;

namespace {

template <class T, std::size_t R>
double rel_l2(const Tensor<T, R>& got, const io::RawTensor& want) {
  return test::rel_l2(got.to_vector(), want.to_vector<T>());
}

using test::ints;
using test::shape_of;

template <class Options = FNOOptions>
Options options(const io::Value& o) {
  return test::fno_options<Options>(o);
}

// The gradients, flattened and concatenated in named_parameters() order, real and complex apart.
std::vector<float> flat_grads_real(const nn::Module& m) {
  std::vector<float> out;
  for (const auto& entry : m.named_parameters())
    if (!io::is_complex_dtype(entry.second->dtype())) {
      const auto g = entry.second->grad_raw();
      REQUIRE(g.has_value());
      const auto v = g->to_vector<float>();
      out.insert(out.end(), v.begin(), v.end());
    }
  return out;
}
std::vector<std::complex<float>> flat_grads_complex(const nn::Module& m) {
  std::vector<std::complex<float>> out;
  for (const auto& entry : m.named_parameters())
    if (io::is_complex_dtype(entry.second->dtype())) {
      const auto g = entry.second->grad_raw();
      REQUIRE(g.has_value());
      const auto v = g->to_vector<std::complex<float>>();
      out.insert(out.end(), v.begin(), v.end());
    }
  return out;
}

// T = std::complex<float>: complex_data=True.
template <std::size_t D, class T = float>
void check_case(const std::string& name, const io::Value& c) {
  CAPTURE(name);
  const bool tfno = c.contains("model") && c.at("model").as<std::string>() == "tfno";
  std::unique_ptr<FNO<D, T>> made = tfno ? std::make_unique<TFNO<D, T>>(options<TFNOOptions>(c.at("options")))
                                         : std::make_unique<FNO<D, T>>(options(c.at("options")));
  FNO<D, T>& model = *made;
  if (tfno) CHECK(model.options().factorization == "tucker");
  const auto sd = io::state_dict_from_value(c.at("state_dict"));
  CHECK(model.state_dict().names() == sd.names());  // same keys, same order
  CHECK(model.n_parameters() == c.at("n_parameters").as<index_t>());
  model.load_state_dict(sd);
  if (c.contains("mode") && c.at("mode").as<std::string>() == "eval") model.eval();
  Var<T, D + 2> x(c.at("x").as<Tensor<T, D + 2>>(), true);
  Var<T, D + 2> y;
  if (!c.contains("output_shape")) {
    y = model(x);
  } else if (!c.at("output_shape_per_layer").as<bool>()) {
    y = model(x, shape_of<D>(c.at("output_shape")));
  } else {
    std::vector<std::optional<Shape<D>>> shapes;
    for (const auto& s : c.at("output_shape").elements()) shapes.emplace_back(shape_of<D>(s));
    y = model.forward(x, shapes);
  }
  REQUIRE(y.shape() == c.at("y").as<Tensor<T, D + 2>>().shape());
  CHECK(rel_l2(y.value(), c.at("y").tensor()) <= 1e-5);
  y.backward(c.at("r").as<Tensor<T, D + 2>>());  // dL/dy = r for L = Re sum(y * conj(r))
  CHECK(rel_l2(x.grad(), c.at("grad_x").tensor()) <= 1e-4);
  if (c.contains("grads_real")) CHECK(test::rel_l2(flat_grads_real(model), c.at("grads_real").tensor().to_vector<float>()) <= 1e-4);
  if (c.contains("grads_complex"))
    CHECK(test::rel_l2(flat_grads_complex(model), c.at("grads_complex").tensor().to_vector<std::complex<float>>()) <= 1e-4);
  if (c.contains("state_after")) {  // BatchNorm's running statistics after the forward
    const auto after = io::state_dict_from_value(c.at("state_after"));
    const auto got = model.state_dict();
    for (const auto& entry : model.named_buffers()) {
      const std::string& bname = entry.first;
      CAPTURE(bname);
      if (after.at(bname).dtype == io::DType::int64)
        CHECK(got.at(bname).template to_vector<std::int64_t>() == after.at(bname).template to_vector<std::int64_t>());
      else
        CHECK(test::rel_l2(got.at(bname).template to_vector<float>(), after.at(bname).template to_vector<float>()) <= 1e-5);
    }
  }
}

}  // namespace

TEST_CASE("FNO 1D, 2D, 3D, option variants, TFNO and complex data match neuraloperator: keys, counts, outputs, gradients") {
  const auto golden = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/models/golden/fno.pt");
  int n = 0;
  for (const auto& [k, c] : golden.items()) {
    const bool cplx = c.contains("complex");
    switch (c.at("x").tensor().rank() + (cplx ? 10 : 0)) {
      case 3: check_case<1>(k.as<std::string>(), c); break;
      case 4: check_case<2>(k.as<std::string>(), c); break;
      case 5: check_case<3>(k.as<std::string>(), c); break;
      case 13: check_case<1, std::complex<float>>(k.as<std::string>(), c); break;
      case 14: check_case<2, std::complex<float>>(k.as<std::string>(), c); break;
      default: FAIL("unexpected rank");
    }
    ++n;
  }
  CHECK(n >= 28);
}

TEST_CASE("FNO: the Darcy recipe model has NeuralOperator's parameter count") {
  // spec: n_modes (16, 16), hidden 24, 4 layers, in = out = 1: 339,337 tensor elements.
  FNO<2> model({.n_modes = {16, 16}, .in_channels = 1, .out_channels = 1, .hidden_channels = 24});
  CHECK(model.n_parameters() == 339337);
  FNO<2> small({.n_modes = {8, 8}, .in_channels = 1, .out_channels = 1, .hidden_channels = 24});
  index_t twice_complex = 0;  // the spec's 191,881 counts complex entries twice
  for (auto& [name, p] : small.named_parameters()) twice_complex += p->numel() * (io::is_complex_dtype(p->dtype()) ? 2 : 1);
  CHECK(twice_complex == 191881);
  CHECK(small.count_model_params() == 191881);
  CHECK(model.count_model_params() == 671113);  // spec: FNO_Small2d, complex counted twice
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

TEST_CASE("TFNO: Tucker rank 0.1 by default; the Darcy model has NeuralOperator's parameter count") {
  // spec 1.2: hidden 24, n_modes (16, 16): core (13, 13, 9, 5), factors (24, 13) (24, 13) (16, 9)
  // (9, 5) per layer; 41,233 tensor elements (74,905 counting complex entries twice).
  TFNO<2> model({.n_modes = {16, 16}, .in_channels = 1, .out_channels = 1, .hidden_channels = 24});
  CHECK(model.options().factorization == "tucker");
  CHECK(model.options().rank == 0.1);
  const auto sd = model.state_dict();
  REQUIRE(sd.contains("fno_blocks.convs.0.weight.core"));
  CHECK(sd.at("fno_blocks.convs.0.weight.core").shape == std::vector<index_t>{13, 13, 9, 5});
  CHECK(model.n_parameters() == 41233);
  index_t twice_complex = 0;
  for (auto& [name, p] : model.named_parameters()) twice_complex += p->numel() * (io::is_complex_dtype(p->dtype()) ? 2 : 1);
  CHECK(twice_complex == 74905);
}

TEST_CASE("FNO options: bad values and combinations throw, naming the option and the values") {
  auto make = [](FNOOptions o) { return FNO<2>(std::move(o)); };
  FNOOptions base{.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 4, .n_layers = 2};
  auto with = [&](auto f) {
    FNOOptions o = base;
    f(o);
    return o;
  };
  auto msg = test::error_message<value_error>([&] { make(with([](FNOOptions& o) { o.norm = "layer_norm"; })); });
  CHECK(msg.find("layer_norm") != std::string::npos);
  msg = test::error_message<value_error>([&] { make(with([](FNOOptions& o) { o.stabilizer = "sigmoid"; })); });
  CHECK(msg.find("sigmoid") != std::string::npos);
  msg = test::error_message<value_error>([&] { make(with([](FNOOptions& o) { o.domain_padding = {0.1, 0.1, 0.1}; })); });
  CHECK(msg.find("domain_padding has 3 entries") != std::string::npos);
  msg = test::error_message<value_error>([&] { make(with([](FNOOptions& o) { o.resolution_scaling_factor = {1.0, 2.0, 0.5}; })); });
  CHECK(msg.find("got 3 for 2 layers") != std::string::npos);
  msg = test::error_message<value_error>([&] { make(with([](FNOOptions& o) { o.resolution_scaling_factor = std::vector<std::vector<double>>{{1.0}, {1.0}}; })); });
  CHECK(msg.find("1 entries for 2 spatial axes") != std::string::npos);
  msg = test::error_message<value_error>([&] {
    make(with([](FNOOptions& o) {
      o.domain_padding = {0.1};
      o.resolution_scaling_factor = {{1.0, 1.0}, {1.0, 1.0}};
    }));
  });
  CHECK(msg.find("DomainPadding") != std::string::npos);
  CHECK_THROWS_AS(make(with([](FNOOptions& o) { o.conv_bias_kernel = 3; })), value_error);
  CHECK_THROWS_AS(make(with([](FNOOptions& o) { o.fno_block_precision = "half"; })), value_error);
  CHECK_THROWS_AS(make(with([](FNOOptions& o) { o.norm = "ada_in"; })), value_error);
  CHECK_THROWS_AS(make(with([](FNOOptions& o) { o.channel_mlp_dropout = 2; })), value_error);
  CHECK_THROWS_AS(make(with([](FNOOptions& o) { o.norm = "group_norm"; o.norm_groups = 3; })), value_error);
  // output_shape: one per layer.
  FNO<2> model(base);
  Var<float, 4> x(Tensor<float, 4>({1, 1, 8, 8}));
  msg = test::error_message<value_error>([&] { (void)model.forward(x, std::vector<std::optional<Shape<2>>>(3)); });
  CHECK(msg.find("3 shapes for 2 layers") != std::string::npos);
  CHECK(model(x, Shape<2>{6, 10}).shape() == Shape<4>{1, 1, 6, 10});
  // Domain padding with a number scaling factor over several layers: the unpad size does not
  // match (NeuralOperator raises a KeyError there).
  FNO<2> padded(with([](FNOOptions& o) {
    o.domain_padding = {0.25};
    o.resolution_scaling_factor = 2.0;
  }));
  msg = test::error_message<shape_error>([&] { (void)padded(x); });
  CHECK(msg.find("DomainPadding") != std::string::npos);
}

TEST_CASE("FNO: channel_mlp_dropout acts in training mode only; eval() makes the forward deterministic") {
  manual_seed(11);
  FNO<1> model({.n_modes = {4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 4, .n_layers = 2, .channel_mlp_dropout = 0.5});
  Var<float, 3> x(Tensor<float, 3>::normal({2, 1, 16}));
  const auto a = model(x).value().to_vector(), b = model(x).value().to_vector();
  CHECK(a != b);
  model.eval();
  CHECK(model(x).value().to_vector() == model(x).value().to_vector());
}

TEST_CASE("Complex-data FNO: unsupported combinations throw") {
  using cf = std::complex<float>;
  FNO<2, cf> scaled({.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 3, .n_layers = 1,
                     .resolution_scaling_factor = 2.0});
  auto msg = test::error_message<value_error>([&] { (void)scaled(Var<cf, 4>(Tensor<cf, 4>({1, 1, 8, 8}))); });
  CHECK(msg.find("complex data") != std::string::npos);
  msg = test::error_message<value_error>([] {
    nn::FNOBlocks<2, cf>({.in_channels = 3, .out_channels = 3, .n_modes = {4, 4}, .norm = "ada_in", .ada_in_features = 2});
  });
  CHECK(msg.find("ada_in") != std::string::npos);
  FNO<2, cf> model({.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 3, .n_layers = 1});
  CHECK(model.state_dict().contains("lifting.fr.fcs.0.weight"));
  CHECK(model(Var<cf, 4>(Tensor<cf, 4>({1, 1, 8, 8}))).shape() == Shape<4>{1, 1, 8, 8});
}
