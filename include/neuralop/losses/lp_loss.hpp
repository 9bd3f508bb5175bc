// LpLoss<D>: the (relative or absolute) L^p distance of two functions sampled on the last D
// axes of [batch, channels, spatial...] tensors, as NeuralOperator's neuralop.losses.LpLoss.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/losses/loss_common.hpp"

namespace neuralop::losses {

struct LpLossOptions {
  double p = 2;                       // the order of the norm (NeuralOperator: an int)
  std::vector<double> measure = {1.0};  // the domain's size: one value for every axis, or one per axis
  std::string reduction = "sum";      // over batch and channels: "sum" (the default) or "mean"
  double eps = 1e-8;                  // added to ||y|| in rel()
};

// rel(x, y) per leading index = ||x - y||_p / (||y||_p + eps)   (operator() is rel, as __call__)
//   with ||u||_p = (sum |u|^p)^(1/p) over the last D axes; quadrature cancels and is not used.
// abs(x, y) = (prod_j h_j * sum |x - y|^p)^(1/p), h_j = measure_j / N_j (the L^p norm of the
//   sampled function as a Riemann sum). p = 1 takes no root in either.
// Then the per-(batch, channel) values are summed (reduction "sum") or averaged ("mean").
template <std::size_t D>
class LpLoss {
  static_assert(D >= 1, "neuralop: LpLoss needs at least one spatial dimension");

 public:
  explicit LpLoss(LpLossOptions o = {})
      : o_(std::move(o)),
        measure_(detail::per_axis<D>(o_.measure, "LpLoss", "measure")),
        use_sum_(detail::reduction_is_sum(o_.reduction, "LpLoss")) {
    if (!(o_.p > 0)) throw_error<value_error>("LpLoss: p must be positive, got ", o_.p);
  }

  const LpLossOptions& options() const { return o_; }
  // NeuralOperator's name: "L2_2Dloss".
  std::string name() const { return "L" + format_p() + "_" + std::to_string(D) + "Dloss"; }

  template <TensorScalar T, std::size_t R, class B>
  Var<T, 0, B> operator()(const Var<T, R, B>& y_pred, const Var<T, R, B>& y) const {
    return rel(y_pred, y);
  }

  template <TensorScalar T, std::size_t R, class B>
  Var<T, 0, B> rel(const Var<T, R, B>& x, const Var<T, R, B>& y, bool take_root = true) const {
    check<T, R>(x, y, "LpLoss.rel");
    const auto [dn, yn] = powered_sums(x, y);
    Var<T, R - D, B> r;
    if (take_root && o_.p != 1) {
      const T e = T(1.0 / o_.p);
      r = pow(dn, e) / (pow(yn, e) + T(o_.eps));
    } else {
      r = dn / (yn + T(o_.eps));
    }
    return detail::reduce_all(r, use_sum_);
  }

  // quadrature: the caller's h_j (one value for all axes, or one per axis); default measure_j / N_j.
  template <TensorScalar T, std::size_t R, class B>
  Var<T, 0, B> abs(const Var<T, R, B>& x, const Var<T, R, B>& y,
                   const std::optional<std::vector<double>>& quadrature = std::nullopt, bool take_root = true) const {
    check<T, R>(x, y, "LpLoss.abs");
    const auto q = detail::quadrature<D>(measure_, x.shape(), quadrature, "LpLoss.abs");
    double c = 1.0;  // math.prod(quadrature), in double as Python
    for (double h : q) c *= h;
    const auto dn = powered_sum(x, y);
    Var<T, R - D, B> r;
    if (take_root && o_.p != 1) r = pow(T(c) * dn, T(1.0 / o_.p));
    else r = T(c) * dn;
    return detail::reduce_all(r, use_sum_);
  }

 private:
  LpLossOptions o_;
  std::array<double, D> measure_;
  bool use_sum_;

  std::string format_p() const {
    if (o_.p == std::floor(o_.p)) return std::to_string(static_cast<long long>(o_.p));
    std::string s = std::to_string(o_.p);
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s;
  }

  template <class T, std::size_t R, class B>
  void check(const Var<T, R, B>& x, const Var<T, R, B>& y, const char* where) const {
    static_assert(!is_complex_v<T>, "neuralop: LpLoss is defined for real tensors");
    static_assert(R > D, "neuralop: LpLoss<D> needs inputs [batch, (channels,) spatial...] with at least one leading axis");
    detail::check_pair(x, y, where);
  }

  // sum over the last D axes of |u|^p in NeuralOperator's three branches: p = 1: |u|;
  // even p: u^p (no abs); otherwise |u|^p.
  template <class T, std::size_t R, class B, class E>
  Var<T, R - D, B> powered(const E& u) const {
    constexpr detail::SpatialAxes<D, R> ax{};
    if (o_.p == 1) return sum(neuralop::abs(u), ax.v);
    if (std::fmod(o_.p, 2.0) == 0) return sum(pow(u, T(o_.p)), ax.v);
    return sum(pow(neuralop::abs(u), T(o_.p)), ax.v);
  }
  template <class T, std::size_t R, class B>
  Var<T, R - D, B> powered_sum(const Var<T, R, B>& x, const Var<T, R, B>& y) const {
    return powered<T, R, B>(x - y);
  }
  template <class T, std::size_t R, class B>
  std::pair<Var<T, R - D, B>, Var<T, R - D, B>> powered_sums(const Var<T, R, B>& x, const Var<T, R, B>& y) const {
    return {powered<T, R, B>(x - y), powered<T, R, B>(y)};
  }
};

}  // namespace neuralop::losses
