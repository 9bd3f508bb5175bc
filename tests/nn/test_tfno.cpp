// Factorized (TFNO) spectral weights, separable and complex-data SpectralConv against
// neuraloperator 2.0.0 / tltorch 0.5.0 / tensorly (tools/reference/make_factorized_golden.py):
// state_dict keys in torch's order, outputs (relative L2 <= 1e-5, float32), the gradients of x
// and of every factor (<= 1e-4) for L = Re sum(y * conj(r)); tensorly's rank rules; tltorch's
// initialisation statistics; ComplexValued, CGELU, ctanh; errors.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "../golden_helpers.hpp"
#include "../helpers.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/base.hpp"
#include "neuralop/nn/channel_mlp.hpp"
#include "neuralop/nn/complex.hpp"
#include "neuralop/nn/spectral_conv.hpp"

using namespace neuralop;
using cf = std::complex<float>;

namespace {

const io::Value& golden() {
  static const io::Value v = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/nn/golden/factorized.pt");
  return v;
}

using test::ints;
std::vector<index_t> indices(const io::Value& v) { return test::list_of<index_t>(v); }

nn::SpectralConvOptions options(const io::Value& o) {
  nn::SpectralConvOptions opt;
  opt.in_channels = o.at("in_channels").as<int>();
  opt.out_channels = o.at("out_channels").as<int>();
  opt.n_modes = ints(o.at("n_modes"));
  if (o.contains("max_n_modes")) opt.max_n_modes = ints(o.at("max_n_modes"));
  if (o.contains("resolution_scaling_factor")) opt.resolution_scaling_factor = std::vector<double>{o.at("resolution_scaling_factor").to<double>()};
  if (o.contains("factorization")) opt.factorization = o.at("factorization").as<std::string>();
  if (o.contains("rank")) opt.rank = o.at("rank").to<double>();
  if (o.contains("rank_int")) opt.rank_int = o.at("rank_int").as<int>();
  if (o.contains("implementation")) opt.implementation = o.at("implementation").as<std::string>();
  if (o.contains("fixed_rank_modes")) opt.fixed_rank_modes = o.at("fixed_rank_modes").as<bool>();
  if (o.contains("separable")) opt.separable = o.at("separable").as<bool>();
  return opt;
}

template <class T>
double rel_l2_raw(const io::RawTensor& got, const io::RawTensor& want) {
  REQUIRE(got.shape == want.shape);
  return test::rel_l2(got.to_vector<T>(), want.to_vector<T>());
}

template <std::size_t D, class T>
void check_case(const std::string& name, const io::Value& c) {
  CAPTURE(name);
  constexpr std::size_t R = D + 2;
  nn::SpectralConv<D, T> conv(options(c.at("options")));
  const auto sd = io::state_dict_from_value(c.at("state_dict"));
  std::vector<std::string> want_names;
  for (const auto& v : c.at("param_names").elements()) want_names.push_back(v.as<std::string>());
  CHECK(conv.state_dict().names() == sd.names());  // same keys, same order (torch's state_dict)
  CHECK(sd.names() == want_names);                 // = named_parameters() order in torch
  conv.load_state_dict(sd);
  Var<T, R> x(c.at("x").as<Tensor<T, R>>(), true);
  auto y = conv(x);
  const auto yw = c.at("y").as<Tensor<T, R>>();
  REQUIRE(y.shape() == yw.shape());
  CHECK(test::rel_l2(y.value().to_vector(), yw.to_vector()) <= 1e-5);
  y.backward(c.at("r").as<Tensor<T, R>>());  // dL/dy = r for L = Re sum(y * conj(r))
  CHECK(test::rel_l2(x.grad().to_vector(), c.at("grad_x").as<Tensor<T, R>>().to_vector()) <= 1e-4);
  for (const auto& entry : conv.named_parameters()) {
    const std::string& pname = entry.first;
    CAPTURE(pname);
    const std::optional<io::RawTensor> got = entry.second->grad_raw();
    REQUIRE(got.has_value());
    const auto want = c.at("grad." + pname).tensor();
    if (io::is_complex_dtype(want.dtype)) CHECK(rel_l2_raw<cf>(*got, want) <= 1e-4);
    else CHECK(rel_l2_raw<float>(*got, want) <= 1e-4);
  }
}

double mean_sq(const std::vector<cf>& v) {
  double s = 0;
  for (auto z : v) s += std::norm(std::complex<double>(z));
  return s / double(v.size());
}

}  // namespace

TEST_CASE("Factorized, separable and complex SpectralConv match neuraloperator: keys, outputs, gradients") {
  int n = 0;
  for (const auto& [k, c] : golden().at("cases").items()) {
    const std::string name = k.as<std::string>();
    const bool cplx = io::is_complex_dtype(c.at("x").tensor().dtype);
    switch (c.at("x").tensor().rank() * 2 + (cplx ? 1 : 0)) {
      case 6: check_case<1, float>(name, c); break;
      case 7: check_case<1, cf>(name, c); break;
      case 8: check_case<2, float>(name, c); break;
      case 9: check_case<2, cf>(name, c); break;
      case 10: check_case<3, float>(name, c); break;
      case 11: check_case<3, cf>(name, c); break;
      default: FAIL("unexpected rank");
    }
    ++n;
  }
  CHECK(n >= 26);
}

TEST_CASE("Tucker, CP and TT ranks follow tensorly's rules") {
  using nn::RankSpec;
  // The spec's verified examples.
  CHECK(nn::tucker_rank({24, 24, 16, 9}, RankSpec{0.1}) == std::vector<index_t>{13, 13, 9, 5});
  CHECK(nn::cp_rank({24, 24, 16, 9}, RankSpec{0.1}) == 114);
  CHECK(nn::tt_rank({24, 24, 16, 9}, RankSpec{0.1}) == std::vector<index_t>{1, 17, 14, 9, 1});
  CHECK(nn::tucker_rank({64, 64, 16, 9}, RankSpec{0.1}) == std::vector<index_t>{35, 35, 9, 5});
  CHECK(nn::tucker_rank({64, 64, 16, 9}, RankSpec{0.5}) == std::vector<index_t>{53, 53, 13, 8});
  CHECK(nn::tucker_rank({64, 64, 16, 9}, RankSpec{1.0}) == std::vector<index_t>{64, 64, 16, 9});
  CHECK(nn::tucker_rank({64, 64, 12, 7}, RankSpec{0.1}) == std::vector<index_t>{35, 35, 7, 4});
  // tensorly's answers for more shapes, fractions, integer ranks and fixed modes.
  int n = 0;
  for (const auto& e : golden().at("ranks").elements()) {
    const std::string f = e.at("factorization").as<std::string>();
    const auto shape = indices(e.at("shape"));
    RankSpec rank;
    if (e.contains("rank")) rank.fraction = e.at("rank").to<double>();
    if (e.contains("rank_int")) rank.explicit_rank = e.at("rank_int").as<int>();
    const bool fixed = e.at("fixed_rank_modes").as<bool>();
    const auto want = indices(e.at("result"));
    CAPTURE(f);
    CAPTURE(format_shape(shape));
    CAPTURE(rank.fraction);
    if (f == "tucker") CHECK(nn::tucker_rank(shape, rank, fixed ? std::vector<std::size_t>{0} : std::vector<std::size_t>{}) == want);
    else if (f == "cp") CHECK(std::vector<index_t>{nn::cp_rank(shape, rank)} == want);
    else CHECK(nn::tt_rank(shape, rank) == want);
    ++n;
  }
  CHECK(n >= 20);
}

TEST_CASE("TFNO weight: tltorch's keys and shapes for NeuralOperator's example") {
  // hidden 24, n_modes (16, 16), Tucker 0.1 -> core (13, 13, 9, 5) (spec 1.2).
  nn::SpectralConv<2> conv({.in_channels = 24, .out_channels = 24, .n_modes = {16, 16}, .factorization = "Tucker", .rank = 0.1});
  const auto named = conv.named_parameters();
  REQUIRE(named.size() == 6);
  CHECK(named[0].first == "bias");
  CHECK(named[1].first == "weight.core");
  CHECK(named[1].second->shape() == std::vector<index_t>{13, 13, 9, 5});
  CHECK(named[1].second->dtype() == io::DType::complex64);
  CHECK(named[2].first == "weight.factors.factor_0");
  CHECK(named[2].second->shape() == std::vector<index_t>{24, 13});
  CHECK(named[3].second->shape() == std::vector<index_t>{24, 13});
  CHECK(named[4].second->shape() == std::vector<index_t>{16, 9});
  CHECK(named[5].first == "weight.factors.factor_3");
  CHECK(named[5].second->shape() == std::vector<index_t>{9, 5});
  CHECK(conv.n_parameters() == 24 + 13 * 13 * 9 * 5 + 2 * 24 * 13 + 16 * 9 + 9 * 5);
  nn::SpectralConv<1> cp({.in_channels = 4, .out_channels = 4, .n_modes = {8}, .bias = false, .factorization = "cp", .rank_int = 3});
  CHECK(cp.state_dict().names() == std::vector<std::string>{"weight.weights", "weight.factors.factor_0", "weight.factors.factor_1",
                                                           "weight.factors.factor_2"});
  nn::SpectralConv<1> tt({.in_channels = 4, .out_channels = 4, .n_modes = {8}, .factorization = "TT", .rank_int = 2, .separable = true});
  CHECK(tt.state_dict().names() == std::vector<std::string>{"bias", "weight.factors.factor_0", "weight.factors.factor_1"});
  CHECK(tt.separable_weight().rank() == std::vector<index_t>{1, 2, 1});
  nn::SpectralConv<2> sep({.in_channels = 3, .out_channels = 3, .n_modes = {4, 4}, .separable = true});
  CHECK(sep.separable_weight().tensor().shape() == std::vector<index_t>{3, 4, 3});
}

TEST_CASE("Factorized weights are initialised with tltorch's per-factor standard deviations") {
  Generator gen(5);
  const double sigma = std::sqrt(2.0 / 64.0);  // in = out = 32
  // Pooled over all factors (each has the same std); tolerances are > 5 standard errors.
  {
    nn::SpectralConv<2> conv({.in_channels = 32, .out_channels = 32, .n_modes = {16, 16}, .factorization = "tucker", .rank = 0.5}, gen);
    auto& w = conv.factorized_weight();
    double root = 1;
    for (auto r : w.rank()) root *= std::sqrt(double(r));
    const double sf2 = std::pow(std::pow(sigma / root, 1.0 / 5.0), 2);
    std::vector<cf> all = w.tensor().var.value().to_vector();
    for (std::size_t k = 0; k < 4; ++k) {
      const auto f = w.factor(k).var.value().to_vector();
      all.insert(all.end(), f.begin(), f.end());
    }
    CHECK(std::abs(mean_sq(all) / sf2 - 1) < 5 * std::sqrt(2.0 / double(all.size())) + 0.01);
  }
  {
    nn::SpectralConv<2> conv({.in_channels = 32, .out_channels = 32, .n_modes = {16, 16}, .factorization = "cp", .rank = 0.5}, gen);
    auto& w = conv.factorized_weight();
    const double R = double(w.rank()[0]);
    const double sf2 = std::pow(std::pow(sigma / std::sqrt(R), 1.0 / 4.0), 2);
    for (auto z : w.weights().var.value().to_vector()) CHECK(z == cf(1));
    std::vector<cf> all;
    for (std::size_t k = 0; k < 4; ++k) {
      const auto f = w.factor(k).var.value().to_vector();
      all.insert(all.end(), f.begin(), f.end());
    }
    CHECK(std::abs(mean_sq(all) / sf2 - 1) < 5 * std::sqrt(2.0 / double(all.size())) + 0.01);
  }
  {
    nn::SpectralConv<2> conv({.in_channels = 32, .out_channels = 32, .n_modes = {16, 16}, .factorization = "tt", .rank = 0.5}, gen);
    auto& w = conv.factorized_weight();
    double prod = 1;
    for (auto r : w.rank()) prod *= double(r);
    const double sf2 = std::pow(std::pow(sigma / prod, 1.0 / 4.0), 2);
    std::vector<cf> all;
    for (std::size_t k = 0; k < 4; ++k) {
      const auto f = w.tt_factor(k).var.value().to_vector();
      all.insert(all.end(), f.begin(), f.end());
    }
    CHECK(std::abs(mean_sq(all) / sf2 - 1) < 5 * std::sqrt(2.0 / double(all.size())) + 0.01);
    double re2 = 0, im2 = 0;
    for (auto z : all) {
      re2 += double(z.real()) * z.real();
      im2 += double(z.imag()) * z.imag();
    }
    CHECK(std::abs(re2 / im2 - 1) < 0.1);  // complex normal: the variance split between the parts
  }
}

TEST_CASE("Reconstructed and factorized implementations agree, and equal the dense weight they rebuild") {
  for (const std::string f : {"tucker", "cp", "tt"}) {
    CAPTURE(f);
    Generator g1(9), g2(9);
    nn::SpectralConvOptions o{.in_channels = 3, .out_channels = 2, .n_modes = {6, 5}, .max_n_modes = std::vector<int>{8, 4},
                              .factorization = f, .rank = 0.6};
    nn::SpectralConv<2> rec(o, g1);
    o.implementation = "factorized";
    nn::SpectralConv<2> fac(o, g2);
    nn::SpectralConv<2> dense({.in_channels = 3, .out_channels = 2, .n_modes = {6, 5}, .max_n_modes = std::vector<int>{8, 4}});
    io::StateDict sd;
    sd.set("bias", rec.bias().to_raw());
    {
      NoGradGuard ng;
      sd.set("weight.tensor", io::RawTensor::from_tensor(rec.factorized_weight().to_tensor().value()));
    }
    dense.load_state_dict(sd);
    Generator gx(3);
    const Var<float, 4> x(Tensor<float, 4>::normal({2, 3, 12, 9}, 0, 1, gx));
    const auto a = rec(x).value().to_vector(), b = fac(x).value().to_vector(), c = dense(x).value().to_vector();
    CHECK(test::rel_l2(a, b) < 1e-5);
    CHECK(test::rel_l2(a, c) < 1e-5);
  }
}

TEST_CASE("Complex SpectralConv: 2.0.0's last-axis frequency shift, and the centred variant") {
  // One input frequency (f0, f1) = (1, -1) through a 1 -> 1 layer whose kept weights are all 1.
  const index_t N0 = 8, N1 = 8;
  Tensor<cf, 4> x({1, 1, N0, N1});
  for (index_t i = 0; i < N0; ++i)
    for (index_t j = 0; j < N1; ++j) {
      const double ph = 2 * std::numbers::pi * (1.0 * double(i) / double(N0) - 1.0 * double(j) / double(N1));
      x.data()[i * N1 + j] = cf(float(std::cos(ph)), float(std::sin(ph)));
    }
  auto run = [&](bool centred, int shift_last) {
    nn::SpectralConv<2, cf> conv({.in_channels = 1, .out_channels = 1, .n_modes = {4, 4}, .bias = false,
                                  .complex_center_last_axis = centred});
    {
      NoGradGuard ng;
      conv.weight().var.mutable_value().fill(cf(1));
    }
    const auto y = conv(Var<cf, 4>(x)).value().to_vector();
    // Expected: the same wave, its last-axis frequency moved by shift_last.
    double err = 0;
    for (index_t i = 0; i < N0; ++i)
      for (index_t j = 0; j < N1; ++j) {
        const double ph = 2 * std::numbers::pi * (double(i) / double(N0) + double(-1 + shift_last) * double(j) / double(N1));
        err = std::max(err, std::abs(std::complex<double>(y[std::size_t(i * N1 + j)]) - std::polar(1.0, ph)));
      }
    return err;
  };
  // neuraloperator 2.0.0: the last axis keeps frequencies -4..-1 and comes out moved by N/2.
  CHECK(run(false, int(N1 / 2)) < 1e-5);
  // Centred: -2..1 kept on both axes, frequency preserved.
  CHECK(run(true, 0) < 1e-5);
}

TEST_CASE("ComplexValued: two modules with identical weights, apply_complex, .fr./.fi. keys") {
  Generator gen(4);
  nn::ComplexValued<nn::Conv1x1<float>> m(3, 2, true, gen);
  const auto names = m.state_dict().names();
  CHECK(names == std::vector<std::string>{"fr.weight", "fr.bias", "fi.weight", "fi.bias"});
  CHECK(m.fr().state_dict().at("weight").to_vector<float>() == m.fi().state_dict().at("weight").to_vector<float>());
  CHECK(m.fr().state_dict().at("bias").to_vector<float>() == m.fi().state_dict().at("bias").to_vector<float>());
  // Make the branches differ, then compare with the formula on the parts.
  {
    auto& p = *m.fi().named_parameters()[0].second;
    auto t = Tensor<float, 3>::normal({2, 3, 1}, 0, 1, gen);
    p.load(io::RawTensor::from_tensor(t), "fi.weight");
  }
  Generator gx(8);
  Var<cf, 3> z(Tensor<cf, 3>::normal({2, 3, 5}, 0, 1, gx), true);
  const auto y = m(z);
  const Var<float, 3> re(real(z)), im(imag(z));
  const auto want_re = Var<float, 3>(m.fr()(re) - m.fi()(im)).value().to_vector();
  const auto want_im = Var<float, 3>(m.fr()(im) + m.fi()(re)).value().to_vector();
  const auto got = y.value().to_vector();
  double err = 0;
  for (std::size_t i = 0; i < got.size(); ++i) err = std::max(err, double(std::abs(got[i] - cf(want_re[i], want_im[i]))));
  CHECK(err < 1e-6);
  y.backward(Tensor<cf, 3>::ones(y.shape()));
  CHECK(m.fr().named_parameters()[0].second->grad_raw().has_value());
  CHECK(z.has_grad());
}

TEST_CASE("CGELU, ctanh and complex_activate act on the real and imaginary parts; gradients") {
  Generator gen(2);
  Var<std::complex<double>, 2> z(Tensor<std::complex<double>, 2>::normal({3, 4}, 0, 1.5, gen), true);
  const auto g = nn::cgelu(z).value().to_vector(), t = nn::ctanh(z).value().to_vector();
  const auto v = z.value().to_vector();
  const auto gelu1 = [](double a) { return 0.5 * a * (1 + std::erf(a / std::sqrt(2.0))); };
  double eg = 0, et = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    eg = std::max(eg, std::abs(g[i] - std::complex<double>(gelu1(v[i].real()), gelu1(v[i].imag()))));
    et = std::max(et, std::abs(t[i] - std::complex<double>(std::tanh(v[i].real()), std::tanh(v[i].imag()))));
  }
  CHECK(eg < 1e-12);
  CHECK(et < 1e-12);
  GRADCHECK([](auto& a) { return nn::cgelu(a); }, z);
  GRADCHECK([](auto& a) { return nn::ctanh(a); }, z);
  GRADCHECK([](auto& a) { return nn::complex_activate(nn::Activation::gelu, a); }, z);
}

TEST_CASE("Factorized / separable / complex SpectralConv errors name the layer and the values") {
  auto msg = test::error_message<value_error>([] { nn::SpectralConv<2>({.in_channels = 2, .out_channels = 2, .n_modes = {4, 4}, .factorization = "tensor-ring"}); });
  CHECK(msg.find("SpectralConv") != std::string::npos);
  CHECK(msg.find("'tensor-ring'") != std::string::npos);
  msg = test::error_message<value_error>([] { nn::SpectralConv<2>({.in_channels = 2, .out_channels = 2, .n_modes = {4, 4}, .factorization = "tucker", .implementation = "fast"}); });
  CHECK(msg.find("implementation 'fast'") != std::string::npos);
  msg = test::error_message<value_error>([] { nn::SpectralConv<2>({.in_channels = 2, .out_channels = 3, .n_modes = {4, 4}, .separable = true}); });
  CHECK(msg.find("in_channels=2 and out_channels=3") != std::string::npos);
  msg = test::error_message<value_error>([] { nn::SpectralConv<1>({.in_channels = 2, .out_channels = 2, .n_modes = {4}, .factorization = "cp", .rank = 0.01}); });
  CHECK(msg.find("CP rank of 0") != std::string::npos);
  CHECK(msg.find("[2, 2, 3]") != std::string::npos);
  msg = test::error_message<value_error>([] { nn::SpectralConv<1>({.in_channels = 2, .out_channels = 2, .n_modes = {4}, .factorization = "tucker", .rank = -0.5}); });
  CHECK(msg.find("rank -0.5") != std::string::npos);
  msg = test::error_message<value_error>([] { nn::SpectralConv<1>({.in_channels = 2, .out_channels = 2, .n_modes = {4}, .factorization = "tt", .rank_int = 0}); });
  CHECK(msg.find("rank 0 must be positive") != std::string::npos);
  msg = test::error_message<value_error>([] { nn::SpectralConv<1>({.in_channels = 2, .out_channels = 2, .n_modes = {4}, .complex_center_last_axis = true}); });
  CHECK(msg.find("complex data only") != std::string::npos);
  nn::SpectralConv<2> tucker({.in_channels = 3, .out_channels = 4, .n_modes = {4, 4}, .factorization = "tucker", .implementation = "factorized"});
  msg = test::error_message<value_error>([&] { (void)tucker.weight(); });
  CHECK(msg.find("Tucker") != std::string::npos);
  CHECK_THROWS_AS((void)tucker.separable_weight(), value_error);
  msg = test::error_message<shape_error>([&] { (void)tucker(Var<float, 4>(Tensor<float, 4>({1, 2, 8, 8}))); });
  CHECK(msg.find("SpectralConv") != std::string::npos);
  CHECK(msg.find("[1, 2, 8, 8]") != std::string::npos);
  nn::SpectralConv<2, cf> cconv({.in_channels = 3, .out_channels = 4, .n_modes = {4, 4}});
  msg = test::error_message<shape_error>([&] { (void)cconv(Var<cf, 4>(Tensor<cf, 4>({1, 5, 8, 8}))); });
  CHECK(msg.find("takes 3") != std::string::npos);
  // A dense state_dict does not load into a factorized layer.
  nn::SpectralConv<2> dense({.in_channels = 3, .out_channels = 4, .n_modes = {4, 4}});
  msg = test::error_message<value_error>([&] { tucker.load_state_dict(dense.state_dict()); });
  CHECK(msg.find("missing keys (5): 'weight.core'") != std::string::npos);
  CHECK(msg.find("unexpected keys (1): 'weight.tensor'") != std::string::npos);
}
