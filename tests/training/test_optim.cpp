// AdamW and the LR schedulers against neuraloperator 2.0.0 / torch.optim.lr_scheduler
// (tools/reference/make_optim_golden.py): parameters after each AdamW step (real and complex,
// weight decay, correct_bias both ways, a step without a gradient), optimizer state_dicts,
// learning-rate sequences and scheduler state_dicts; checkpoint round trips; bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <filesystem>
#include <numbers>
#include <string>

#include "../helpers.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/nn/module.hpp"
#include "neuralop/optim/optim.hpp"

using namespace neuralop;
using namespace neuralop::optim;
using CF = std::complex<float>;

namespace {

const io::Value& golden() {
  static const io::Value g = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/training/golden/optim.pt");
  return g;
}

// The three parameters of the golden file: real (4, 3), real (5,), complex (2, 3, 2).
struct Params {
  nn::Parameter<float, 2> a;
  nn::Parameter<float, 1> b;
  nn::Parameter<CF, 3> c;
  explicit Params(const io::Value& init)
      : a(init.at(std::size_t{0}).as<Tensor<float, 2>>()),
        b(init.at(std::size_t{1}).as<Tensor<float, 1>>()),
        c(init.at(std::size_t{2}).as<Tensor<CF, 3>>()) {}
  std::vector<nn::ParameterBase*> list() { return {&a, &b, &c}; }
};

template <class T, std::size_t R>
void set_grad(nn::Parameter<T, R>& p, const io::Value& g, bool has) {
  p.zero_grad();
  if (has) p.var.slot().accumulate_grad(g.as<Tensor<T, R>>());
}

void set_grads(Params& p, std::size_t step) {
  const auto g = golden().at("adamw").at("grads").at(step);
  const auto h = golden().at("adamw").at("has_grad").at(step);
  set_grad(p.a, g.at(std::size_t{0}), h.at(std::size_t{0}).as<bool>());
  set_grad(p.b, g.at(std::size_t{1}), h.at(std::size_t{1}).as<bool>());
  set_grad(p.c, g.at(std::size_t{2}), h.at(std::size_t{2}).as<bool>());
}

// max |got - want| / max(|want|, 1): relative for entries of size >= 1, absolute below.
template <class T, std::size_t R>
double err(const Tensor<T, R>& got, const io::RawTensor& want) {
  return test::max_rel_diff(got.to_vector(), want.to_vector<T>(), 1.0);
}
double err(const io::RawTensor& got, const io::RawTensor& want) {
  if (io::is_complex_dtype(want.dtype)) return test::max_rel_diff(got.to_vector<CF>(), want.to_vector<CF>(), 1.0);
  return test::max_rel_diff(got.to_vector<float>(), want.to_vector<float>(), 1.0);
}

AdamWOptions adamw_options(const io::Value& o) {
  AdamWOptions a;
  if (o.contains("lr")) a.lr = o.at("lr").to<double>();
  if (o.contains("betas")) a.betas = {o.at("betas").at(std::size_t{0}).to<double>(), o.at("betas").at(std::size_t{1}).to<double>()};
  if (o.contains("eps")) a.eps = o.at("eps").to<double>();
  if (o.contains("weight_decay")) a.weight_decay = o.at("weight_decay").to<double>();
  if (o.contains("correct_bias")) a.correct_bias = o.at("correct_bias").as<bool>();
  return a;
}

double params_err(Params& p, const io::Value& want) {
  return std::max({err(p.a.var.value(), want.at(std::size_t{0}).tensor()), err(p.b.var.value(), want.at(std::size_t{1}).tensor()),
                   err(p.c.var.value(), want.at(std::size_t{2}).tensor())});
}

// Every entry of `want` (a torch state_dict) is in `got` with an equal value (numbers to rel
// 1e-12, tensors to 1e-6); got may have no other keys.
void check_same_tree(const io::Value& got, const io::Value& want, double tensor_tol = 1e-6) {
  INFO(want.where());
  using K = io::Value::Kind;
  if (want.is_dict()) {
    REQUIRE(got.is_dict());
    CHECK(got.size() == want.size());
    for (const auto& kv : want.items()) {
      const io::Value& k = kv.first;
      const io::Value& v = kv.second;
      const auto* g = got.find(k);
      REQUIRE_MESSAGE(g != nullptr, "missing key " << k.repr());
      check_same_tree(*g, io::Value(v).set_where(want.where() + "[" + k.repr() + "]"), tensor_tol);
    }
  } else if (want.is_list() || want.is_tuple()) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) check_same_tree(got.at(i), want.at(i), tensor_tol);
  } else if (want.is_tensor()) {
    REQUIRE(got.is_tensor());
    CHECK(got.tensor().shape == want.tensor().shape);
    CHECK(got.tensor().dtype == want.tensor().dtype);
    CHECK(err(got.tensor(), want.tensor()) <= tensor_tol);
  } else if (want.kind() == K::integer || want.kind() == K::real) {
    const double w = want.to<double>(), g = got.to<double>();
    if (std::isinf(w)) CHECK(g == w);
    else CHECK(std::abs(g - w) <= 1e-12 * std::max(1.0, std::abs(w)));
  } else {
    CHECK(got.equals(want));
  }
}

}  // namespace

TEST_CASE("AdamW matches neuraloperator's AdamW: parameters after 5 steps, real and complex, and its state_dict") {
  const auto& g = golden().at("adamw");
  int n = 0;
  for (const auto& entry : g.at("configs").items()) {
    const io::Value& name = entry.first;
    const io::Value& cfg = entry.second;
    INFO("config " << name.as<std::string>());
    Params p(g.at("init"));
    AdamW opt(p.list(), adamw_options(cfg.at("options")));
    double worst = 0;
    for (std::size_t s = 0; s < 5; ++s) {
      set_grads(p, s);
      opt.step();
      const double e = params_err(p, cfg.at("params").at(s));
      worst = std::max(worst, e);
      CHECK(e <= 1e-6);
    }
    MESSAGE(name.as<std::string>() << ": max error of the parameters over 5 steps " << worst);
    check_same_tree(opt.state_dict(), cfg.at("state_dict"));
    // the second parameter had no gradient at step 3: one step fewer
    CHECK(opt.state_dict().at("state").find(io::Value(1))->at("step").as<int>() == 4);
    ++n;
  }
  CHECK(n == 4);
}

TEST_CASE("AdamW state_dict: a checkpoint (through a .pt file) resumes to the same parameters; torch's state loads") {
  const auto& g = golden().at("adamw");
  const auto cfg = g.at("configs").at("weight_decay");
  Params p(g.at("init"));
  AdamW opt(p.list(), adamw_options(cfg.at("options")));
  for (std::size_t s = 0; s < 3; ++s) {
    set_grads(p, s);
    opt.step();
  }
  const auto path = (std::filesystem::temp_directory_path() / "neuralop_test_adamw_state.pt").string();
  io::save_pt(path, opt.state_dict());
  const auto sd = io::load_pt(path);
  std::filesystem::remove(path);
  // a new optimizer, default options: everything comes from the file
  AdamW resumed(p.list());
  resumed.load_state_dict(sd);
  CHECK(resumed.options().weight_decay == 0.1);
  for (std::size_t s = 3; s < 5; ++s) {
    set_grads(p, s);
    resumed.step();
  }
  CHECK(params_err(p, cfg.at("params").at(4)) <= 1e-6);
  // NeuralOperator's own state_dict, loaded, is given back unchanged
  AdamW from_torch(p.list());
  from_torch.load_state_dict(cfg.at("state_dict"));
  check_same_tree(from_torch.state_dict(), cfg.at("state_dict"), 0.0);
}

TEST_CASE("LR schedulers match torch.optim.lr_scheduler over 40 steps, and their state_dicts") {
  const auto& g = golden().at("schedulers");
  nn::Parameter<float, 1> w(Tensor<float, 1>({1}));
  auto run = [&](const std::string& name, auto make, auto stepper) {
    INFO("scheduler " << name);
    const auto c = g.at(name);
    const auto want = c.at("lrs").tensor().to_vector<double>();
    AdamW opt({&w}, {.lr = 0.1});
    auto s = make(opt);
    double worst = 0;
    std::vector<double> got{s->get_last_lr()[0]};
    for (std::size_t i = 0; i + 1 < want.size(); ++i) {
      stepper(*s, i);
      got.push_back(s->get_last_lr()[0]);
      CHECK(opt.lr() == got.back());
    }
    for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]) / (want[i] == 0 ? 1.0 : want[i]));
    CHECK(worst <= 1e-12);
    MESSAGE(name << ": 41 learning rates, max relative difference " << worst);
    check_same_tree(s->state_dict(), c.at("state_dict"));
    // a fresh scheduler loading torch's state_dict continues identically
    AdamW opt2({&w}, {.lr = 0.1});
    auto s2 = make(opt2);
    s2->load_state_dict(c.at("state_dict"));
    check_same_tree(s2->state_dict(), c.at("state_dict"));
  };
  auto plain = [](auto& s, std::size_t) { s.step(); };
  run("step_lr", [](Optimizer& o) { return std::make_unique<StepLR>(o, StepLROptions{.step_size = 7, .gamma = 0.5}); }, plain);
  run("cosine", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, CosineAnnealingLROptions{.T_max = 10, .eta_min = 1e-3}); },
      plain);
  run("cosine_zero_min", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, CosineAnnealingLROptions{.T_max = 7}); },
      plain);
  for (const char* name : {"plateau_min_rel", "plateau_max_abs", "plateau_default_eps"}) {
    const auto c = g.at(name);
    const auto metrics = c.at("metrics").tensor().to_vector<double>();
    const auto o = c.at("options");
    const ReduceLROnPlateauOptions po{.mode = o.at("mode").as<std::string>(),
                                      .factor = o.at("factor").to<double>(),
                                      .patience = o.at("patience").as<std::int64_t>(),
                                      .threshold = o.at("threshold").to<double>(),
                                      .threshold_mode = o.at("threshold_mode").as<std::string>(),
                                      .cooldown = o.at("cooldown").as<std::int64_t>(),
                                      .min_lr = o.at("min_lr").to<double>(),
                                      .eps = o.at("eps").to<double>()};
    run(name, [&](Optimizer& opt) { return std::make_unique<ReduceLROnPlateau>(opt, po); },
        [&](auto& s, std::size_t i) { s.step(metrics[i]); });
  }
}

TEST_CASE("StepLR / CosineAnnealingLR: step(epoch) uses the closed form; initial_lr is the base") {
  nn::Parameter<float, 1> w(Tensor<float, 1>({1}));
  AdamW opt({&w}, {.lr = 0.2});
  StepLR s(opt, {.step_size = 3, .gamma = 0.5});
  CHECK(opt.initial_lr == 0.2);
  s.step(7);
  CHECK(s.get_last_lr()[0] == doctest::Approx(0.2 * 0.25));
  CHECK(opt.state_dict().at("param_groups").at(std::size_t{0}).at("initial_lr").to<double>() == 0.2);
  AdamW opt2({&w}, {.lr = 0.2});
  CosineAnnealingLR c(opt2, {.T_max = 8, .eta_min = 0.01});
  for (int e = 1; e <= 8; ++e) {
    c.step();
    const double closed = 0.01 + (0.2 - 0.01) * (1 + std::cos(std::numbers::pi * e / 8)) / 2;
    CHECK(c.get_last_lr()[0] == doctest::Approx(closed).epsilon(1e-12));
  }
  c.step(3);
  CHECK(c.get_last_lr()[0] == doctest::Approx(0.01 + 0.19 * (1 + std::cos(std::numbers::pi * 3 / 8)) / 2).epsilon(1e-12));
}

TEST_CASE("AdamW / schedulers: bad input throws, naming the argument and values") {
  nn::Parameter<float, 2> a(Tensor<float, 2>({2, 3}));
  nn::Parameter<CF, 1> c(Tensor<CF, 1>({4}));
  auto msg = test::error_message<value_error>([&] { AdamW o({&a}, {.lr = -1.0}); });
  CHECK(msg.find("lr") != std::string::npos);
  msg = test::error_message<value_error>([&] { AdamW o({&a}, {.betas = {0.9, 1.0}}); });
  CHECK(msg.find("betas[1]") != std::string::npos);
  CHECK_THROWS_AS(AdamW({&a}, {.eps = -1e-6}), value_error);
  CHECK_THROWS_AS(AdamW({&a, nullptr}), value_error);
  msg = test::error_message<value_error>([&] { AdamW o({&a, &c, &a}); });
  CHECK(msg.find("params[2]") != std::string::npos);
  // a state_dict for other parameters
  AdamW opt({&a, &c});
  a.var.slot().accumulate_grad(Tensor<float, 2>({2, 3}, 1.0f));
  c.var.slot().accumulate_grad(Tensor<CF, 1>({4}, CF(1, 2)));
  opt.step();
  auto sd = opt.state_dict();
  AdamW one({&a});
  msg = test::error_message<value_error>([&] { one.load_state_dict(sd); });
  CHECK(msg.find("2 parameters") != std::string::npos);
  nn::Parameter<float, 2> other(Tensor<float, 2>({3, 3}));
  AdamW wrong({&other, &c});
  msg = test::error_message<shape_error>([&] { wrong.load_state_dict(sd); });
  CHECK(msg.find("[3, 3]") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  // schedulers
  msg = test::error_message<value_error>([&] { StepLR s(opt, {.step_size = 0}); });
  CHECK(msg.find("step_size") != std::string::npos);
  CHECK_THROWS_AS(CosineAnnealingLR(opt, {}), value_error);
  msg = test::error_message<value_error>([&] { ReduceLROnPlateau s(opt, {.factor = 1.0}); });
  CHECK(msg.find("factor") != std::string::npos);
  CHECK_THROWS_AS(ReduceLROnPlateau(opt, {.mode = "avg"}), value_error);
  CHECK_THROWS_AS(ReduceLROnPlateau(opt, {.threshold_mode = "relative"}), value_error);
}
