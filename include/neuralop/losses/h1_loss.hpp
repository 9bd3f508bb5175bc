// H1Loss<D>: the (relative or absolute) H^1 Sobolev distance of two functions sampled on the
// last D axes, with finite-difference derivatives, as NeuralOperator's neuralop.losses.H1Loss.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "neuralop/losses/finite_diff.hpp"
#include "neuralop/losses/loss_common.hpp"

namespace neuralop::losses {

struct H1LossOptions {
  std::vector<double> measure = {1.0};  // the domain's size: one value for every axis, or one per axis
  std::string reduction = "sum";        // over batch and channels: "sum" (the default) or "mean"
  double eps = 1e-8;                    // added to ||y|| in rel()
  // Central differences wrap around (torch.roll) unless false: then one-sided boundary stencils.
  // x is axis -D, y axis -D+1, z axis -D+2 (in 2-D "x" = axis -2).
  bool periodic_in_x = true;
  bool periodic_in_y = true;
  bool periodic_in_z = true;
};

// With S(u) = sum u^2 + sum_j sum (d_j u)^2 over the last D axes (d_j: FiniteDiff with step h_j):
//   rel(x, y) = sqrt(S(x - y)) / (sqrt(S(y)) + eps)      (operator() is rel, as __call__)
//   abs(x, y) = sqrt(prod_j h_j * S(x - y))
// h_j = measure_j / N_j unless a quadrature is given; in rel it only sets the difference step.
// Derivatives are taken of x and y separately (as NeuralOperator), then summed per
// (batch, channel) entry and reduced by sum (default) or mean.
template <std::size_t D>
class H1Loss {
  static_assert(D >= 1 && D <= 3, "neuralop: H1Loss is defined for 1, 2 and 3 dimensions");

 public:
  explicit H1Loss(H1LossOptions o = {})
      : o_(std::move(o)),
        measure_(detail::per_axis<D>(o_.measure, "H1Loss", "measure")),
        use_sum_(detail::reduction_is_sum(o_.reduction, "H1Loss")) {}

  const H1LossOptions& options() const { return o_; }
  // NeuralOperator's name: "H1_2DLoss".
  std::string name() const { return "H1_" + std::to_string(D) + "DLoss"; }

  template <TensorScalar T, std::size_t R, class B>
  Var<T, 0, B> operator()(const Var<T, R, B>& y_pred, const Var<T, R, B>& y,
                          const std::optional<std::vector<double>>& quadrature = std::nullopt) const {
    return rel(y_pred, y, quadrature);
  }

  template <TensorScalar T, std::size_t R, class B>
  Var<T, 0, B> rel(const Var<T, R, B>& x, const Var<T, R, B>& y,
                   const std::optional<std::vector<double>>& quadrature = std::nullopt, bool take_root = true) const {
    check<T, R>(x, y, "H1Loss.rel");
    const auto q = detail::quadrature<D>(measure_, x.shape(), quadrature, "H1Loss.rel");
    constexpr detail::SpatialAxes<D, R> ax{};
    Var<T, R - D, B> diff = sum(square(x - y), ax.v);
    Var<T, R - D, B> ynorm = sum(square(y), ax.v);
    for (std::size_t j = 0; j < D; ++j) {
      const auto dx = derivative(x, j, q), dy = derivative(y, j, q);
      diff = diff + sum(square(dx - dy), ax.v);
      ynorm = ynorm + sum(square(dy), ax.v);
    }
    Var<T, R - D, B> r;
    if (take_root) r = sqrt(diff) / (sqrt(ynorm) + T(o_.eps));
    else r = diff / (ynorm + T(o_.eps));
    return detail::reduce_all(r, use_sum_);
  }

  template <TensorScalar T, std::size_t R, class B>
  Var<T, 0, B> abs(const Var<T, R, B>& x, const Var<T, R, B>& y,
                   const std::optional<std::vector<double>>& quadrature = std::nullopt, bool take_root = true) const {
    check<T, R>(x, y, "H1Loss.abs");
    const auto q = detail::quadrature<D>(measure_, x.shape(), quadrature, "H1Loss.abs");
    double cd = 1.0;  // math.prod(quadrature)
    for (double h : q) cd *= h;
    const T c = T(cd);
    constexpr detail::SpatialAxes<D, R> ax{};
    Var<T, R - D, B> diff = c * sum(square(x - y), ax.v);
    for (std::size_t j = 0; j < D; ++j) diff = diff + c * sum(square(derivative(x, j, q) - derivative(y, j, q)), ax.v);
    if (take_root) diff = sqrt(diff);
    return detail::reduce_all(diff, use_sum_);
  }

 private:
  H1LossOptions o_;
  std::array<double, D> measure_;
  bool use_sum_;

  bool periodic(std::size_t j) const { return j == 0 ? o_.periodic_in_x : j == 1 ? o_.periodic_in_y : o_.periodic_in_z; }

  template <class T, std::size_t R, class B>
  Var<T, R, B> derivative(const Var<T, R, B>& u, std::size_t j, const std::array<double, D>& q) const {
    return finite_diff(u, static_cast<int>(R - D + j), q[j], 1, periodic(j));
  }

  template <class T, std::size_t R, class B>
  void check(const Var<T, R, B>& x, const Var<T, R, B>& y, const char* where) const {
    static_assert(!is_complex_v<T>, "neuralop: H1Loss is defined for real tensors");
    static_assert(R > D, "neuralop: H1Loss<D> needs inputs [batch, (channels,) spatial...] with at least one leading axis");
    detail::check_pair(x, y, where);
  }
};

}  // namespace neuralop::losses
