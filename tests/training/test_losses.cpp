// LpLoss / H1Loss / finite_diff against neuraloperator 2.0.0 (tools/reference/make_losses_golden.py):
// values and the gradients of both inputs, 1-3 spatial dimensions, p = 1..4, measure and
// quadrature variants, both reductions, periodic and one-sided differences.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "../helpers.hpp"
#include "../io/io_test_util.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/losses/losses.hpp"
#include "neuralop/base.hpp"

using namespace neuralop;
using namespace neuralop::losses;

namespace {

std::vector<double> doubles(const io::Value& v) {
  std::vector<double> out;
  if (v.is_list() || v.is_tuple())
    for (const auto& e : v.elements()) out.push_back(e.to<double>());
  else
    out.push_back(v.to<double>());
  return out;
}

// The largest relative error seen, per dtype (values and input gradients), for the summary.
double worst_f32 = 0, worst_f64 = 0;

template <std::size_t D, class T, std::size_t R>
void check_case(const std::string& name, const io::Value& c) {
  INFO("case " << name);
  const auto o = c.at("options");
  const auto call = c.at("call");
  Var<T, R> x(c.at("x").as<Tensor<T, R>>(), true), y(c.at("y").as<Tensor<T, R>>(), true);
  const std::string method = c.at("method").as<std::string>();
  std::optional<std::vector<double>> quad;
  if (call.contains("quadrature")) quad = doubles(call.at("quadrature"));
  const bool take_root = call.contains("take_root") ? call.at("take_root").as<bool>() : true;
  Var<T, 0> v;
  if (c.at("loss").as<std::string>() == "lp") {
    LpLossOptions lo;
    if (o.contains("p")) lo.p = o.at("p").to<double>();
    if (o.contains("measure")) lo.measure = doubles(o.at("measure"));
    if (o.contains("reduction")) lo.reduction = o.at("reduction").as<std::string>();
    LpLoss<D> loss(lo);
    v = method == "call" ? loss(x, y) : method == "rel" ? loss.rel(x, y, take_root) : loss.abs(x, y, quad, take_root);
  } else {
    H1LossOptions ho;
    if (o.contains("measure")) ho.measure = doubles(o.at("measure"));
    if (o.contains("reduction")) ho.reduction = o.at("reduction").as<std::string>();
    if (o.contains("periodic_in_x")) ho.periodic_in_x = o.at("periodic_in_x").as<bool>();
    if (o.contains("periodic_in_y")) ho.periodic_in_y = o.at("periodic_in_y").as<bool>();
    if (o.contains("periodic_in_z")) ho.periodic_in_z = o.at("periodic_in_z").as<bool>();
    H1Loss<D> loss(ho);
    v = method == "call" ? loss(x, y) : method == "rel" ? loss.rel(x, y, quad, take_root) : loss.abs(x, y, quad, take_root);
  }
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  const double want = c.at("value").tensor().to_vector<double>()[0];
  const double ev = std::abs(double(v.value().item()) - want) / std::abs(want);
  CHECK(ev <= tol);
  v.backward();
  const double ex = test::rel_l2(x.grad().to_vector(), c.at("grad_x").tensor().to_vector<T>());
  const double ey = test::rel_l2(y.grad().to_vector(), c.at("grad_y").tensor().to_vector<T>());
  CHECK(ex <= tol);
  CHECK(ey <= tol);
  double& worst = std::is_same_v<T, float> ? worst_f32 : worst_f64;
  worst = std::max({worst, ev, ex, ey});
}

template <class T>
void dispatch(const std::string& name, const io::Value& c) {
  const int d = c.at("d").as<int>();
  const auto r = c.at("x").tensor().rank();
  if (d == 1 && r == 3) check_case<1, T, 3>(name, c);
  else if (d == 2 && r == 3) check_case<2, T, 3>(name, c);
  else if (d == 2 && r == 4) check_case<2, T, 4>(name, c);
  else if (d == 3 && r == 5) check_case<3, T, 5>(name, c);
  else FAIL("unexpected d / rank in " << name);
}

}  // namespace

TEST_CASE("LpLoss and H1Loss match neuraloperator: values and input gradients") {
  const auto golden = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/training/golden/losses.pt");
  int n = 0;
  for (const auto& [k, c] : golden.items()) {
    if (c.at("x").tensor().dtype == io::DType::float32) dispatch<float>(k.as<std::string>(), c);
    else dispatch<double>(k.as<std::string>(), c);
    ++n;
  }
  CHECK(n >= 26);
  MESSAGE(n << " cases; largest relative error (value, rel. L2 of input gradients): float32 " << worst_f32 << ", float64 "
            << worst_f64);
}

TEST_CASE("LpLoss / H1Loss: NeuralOperator's test facts and names") {
  // abs(0, 1) on (10, 1, 4, 4), d = 2: 1.0 per sample -> 1.0 (mean), 10.0 (sum)
  Var<double, 4> zero(Tensor<double, 4>({10, 1, 4, 4})), one(Tensor<double, 4>({10, 1, 4, 4}, 1.0));
  CHECK(LpLoss<2>({.reduction = "mean"}).abs(zero, one).value().item() == doctest::Approx(1.0));
  CHECK(LpLoss<2>().abs(zero, one).value().item() == doctest::Approx(10.0));
  Var<double, 3> z3(Tensor<double, 3>({10, 4, 4})), o3(Tensor<double, 3>({10, 4, 4}, 1.0));
  CHECK(H1Loss<2>({.reduction = "mean"}).abs(z3, o3).value().item() == doctest::Approx(1.0));
  CHECK(LpLoss<2>().name() == "L2_2Dloss");
  CHECK(LpLoss<1>({.p = 1}).name() == "L1_1Dloss");
  CHECK(H1Loss<3>().name() == "H1_3DLoss");
}

TEST_CASE("finite_diff: gradients (its transpose) pass gradcheck, periodic and one-sided, orders 1 and 2") {
  auto u = Tensor<double, 3>::uniform({2, 5, 6}, -1, 1);
  for (int order : {1, 2})
    for (bool periodic : {true, false})
      for (int axis : {-1, -2}) {
        INFO("order " << order << " periodic " << periodic << " axis " << axis);
        Var<double, 3> uv(u, true);
        GRADCHECK([&](const Var<double, 3>& v) { return finite_diff(v, axis, 0.3, order, periodic); }, uv);
      }
  // tiny periodic axes: torch.roll on 1 and 2 points gives zero first derivatives
  auto t = Tensor<double, 2>::uniform({3, 2}, -1, 1);
  for (double e : finite_diff(t, -1, 0.5).to_vector()) CHECK(e == 0.0);
  Var<double, 2> tv(t, true);
  GRADCHECK([](const Var<double, 2>& v) { return finite_diff(v, -1, 0.5, 2); }, tv);
  // FiniteDiff<2>: dx is axis -2, dy axis -1; exact on a linear function inside
  Tensor<double, 2> lin({4, 5});
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 5; ++j) lin.at(i, j) = 3.0 * double(i) + 2.0 * double(j);
  FiniteDiff<2> fd({.h = {1.0}, .periodic_in_x = false, .periodic_in_y = false});
  for (double e : fd.dx(lin).to_vector()) CHECK(e == doctest::Approx(3.0));
  for (double e : fd.dy(lin).to_vector()) CHECK(e == doctest::Approx(2.0));
}

TEST_CASE("LpLoss / H1Loss / finite_diff: bad input throws, naming the argument and shapes") {
  Var<float, 3> a(Tensor<float, 3>({2, 1, 8})), b(Tensor<float, 3>({2, 1, 9}));
  auto msg = test::error_message<shape_error>([&] { (void)LpLoss<1>()(a, b); });
  CHECK(msg.find("[2, 1, 8]") != std::string::npos);
  CHECK(msg.find("[2, 1, 9]") != std::string::npos);
  CHECK_THROWS_AS((void)H1Loss<1>()(a, b), shape_error);
  msg = test::error_message<value_error>([] { LpLoss<2> l({.measure = {1.0, 2.0, 3.0}}); });
  CHECK(msg.find("measure") != std::string::npos);
  msg = test::error_message<value_error>([] { LpLoss<2> l({.reduction = "max"}); });
  CHECK(msg.find("\"max\"") != std::string::npos);
  CHECK_THROWS_AS(H1Loss<2>({.reduction = "none"}), value_error);
  CHECK_THROWS_AS(LpLoss<1>({.p = 0}), value_error);
  msg = test::error_message<value_error>([&] { (void)LpLoss<1>().abs(a, a, std::vector<double>{1.0, 2.0}); });
  CHECK(msg.find("quadrature") != std::string::npos);
  // the one-sided stencils need 4 points
  Var<float, 3> s(Tensor<float, 3>({2, 1, 3}));
  msg = test::error_message<shape_error>([&] { (void)H1Loss<1>({.periodic_in_x = false})(s, s); });
  CHECK(msg.find("[2, 1, 3]") != std::string::npos);
  CHECK_THROWS_AS((void)finite_diff(s, -1, 1.0, 3), value_error);
}

TEST_CASE("LpLoss / H1Loss on the shipped Darcy data: the spec's reference numbers (float32)" *
          doctest::skip(!iotest::have_sample_data())) {
  const std::string path = iotest::data_dir() + "/darcy_test_16.pt";
  // y = the first 4 test samples (4, 1, 16, 16); p = y + 0.1 sin(j), j the column index
  const auto all = io::load_pt(path).at("y").as<Tensor<float, 3>>();
  Tensor<float, 4> y({4, 1, 16, 16}), p({4, 1, 16, 16});
  for (index_t b = 0; b < 4; ++b)
    for (index_t i = 0; i < 16; ++i)
      for (index_t j = 0; j < 16; ++j) {
        y.at(b, 0, i, j) = all.at(b, i, j);
        p.at(b, 0, i, j) = all.at(b, i, j) + 0.1f * std::sin(float(j));
      }
  Var<float, 4> yv(y), pv(p);
  CHECK(LpLoss<2>()(pv, yv).value().item() == doctest::Approx(0.5916391).epsilon(1e-6));
  CHECK(LpLoss<2>().abs(pv, yv).value().item() == doctest::Approx(0.2805359).epsilon(1e-6));
  CHECK(H1Loss<2>()(pv, yv).value().item() == doctest::Approx(1.3561924).epsilon(1e-6));
  CHECK(H1Loss<2>().abs(pv, yv).value().item() == doctest::Approx(3.5508084).epsilon(1e-6));
}
