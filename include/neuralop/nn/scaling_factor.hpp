// ScalingFactor: NeuralOperator's `resolution_scaling_factor` argument, which is None, a number,
// a list of numbers or a list of lists, and validate_scaling_factor's readings of it.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "neuralop/core/error.hpp"

namespace neuralop::nn {

class ScalingFactor {
 public:
  enum class Kind { none, number, list, nested };

  ScalingFactor() = default;
  ScalingFactor(double r) : kind_(Kind::number), list_{r} {}                                 // NOLINT
  ScalingFactor(std::vector<double> l) : kind_(Kind::list), list_(std::move(l)) {}            // NOLINT
  ScalingFactor(std::initializer_list<double> l) : kind_(Kind::list), list_(l) {}             // NOLINT
  ScalingFactor(std::vector<std::vector<double>> n) : kind_(Kind::nested), nested_(std::move(n)) {}  // NOLINT
  ScalingFactor(std::initializer_list<std::vector<double>> n) : kind_(Kind::nested), nested_(n) {}  // NOLINT

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::none; }
  double number() const { return list_.at(0); }
  const std::vector<double>& list() const { return list_; }
  const std::vector<std::vector<double>>& nested() const { return nested_; }

  // validate_scaling_factor(r, n_dim, n_layers): one per-axis list per layer ({} for None). A
  // number is every layer's and axis's factor; a list of numbers has one (isotropic) factor per
  // layer; a list of lists one per-axis list per layer.
  std::vector<std::vector<double>> per_layer(std::size_t n_dim, int n_layers, const std::string& where) const {
    std::vector<std::vector<double>> out;
    switch (kind_) {
      case Kind::none: break;
      case Kind::number: out.assign(std::size_t(n_layers), std::vector<double>(n_dim, number())); break;
      case Kind::list:
        if (list_.size() != std::size_t(n_layers))
          throw_error<value_error>(where, ": resolution_scaling_factor lists one factor per layer: got ", list_.size(), " for ",
                                   n_layers, " layers (use a list of per-axis lists for per-axis factors)");
        for (double r : list_) out.emplace_back(n_dim, r);
        break;
      case Kind::nested:
        if (nested_.size() != std::size_t(n_layers))
          throw_error<value_error>(where, ": resolution_scaling_factor has ", nested_.size(), " per-layer lists for ", n_layers, " layers");
        for (const auto& l : nested_) {
          if (l.size() != n_dim)
            throw_error<value_error>(where, ": a per-layer resolution_scaling_factor list has ", l.size(), " entries for ", n_dim,
                                     " spatial axes");
          out.push_back(l);
        }
        break;
    }
    for (const auto& l : out)
      for (double r : l)
        if (!(r > 0)) throw_error<value_error>(where, ": resolution_scaling_factor ", r, " must be positive");
    return out;
  }

  // validate_scaling_factor(r, n_dim) (no layers), as DomainPadding reads FNO's raw argument: None
  // is 1, a number is every axis's factor, a list is zipped with the axes (NeuralOperator does not
  // check that it means axes: a per-layer list of n_dim numbers is read per axis).
  std::vector<double> per_axis(std::size_t n_dim, const std::string& where) const {
    switch (kind_) {
      case Kind::none: return std::vector<double>(n_dim, 1.0);
      case Kind::number: return std::vector<double>(n_dim, number());
      case Kind::list:
        if (list_.size() == n_dim) return list_;
        break;
      case Kind::nested: break;
    }
    throw_error<value_error>(where, ": resolution_scaling_factor must be a number or one factor per axis (", n_dim,
                             ") here; NeuralOperator's DomainPadding cannot combine with per-layer scaling lists");
  }

 private:
  Kind kind_ = Kind::none;
  std::vector<double> list_;
  std::vector<std::vector<double>> nested_;
};

}  // namespace neuralop::nn
