// What LpLoss and H1Loss share: the measure/quadrature rules, the batch reduction and the
// checks of their inputs, all as in NeuralOperator's data_losses.py.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/autograd/var.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/ops/reduce.hpp"

namespace neuralop::losses::detail {

// A float measure is broadcast to every spatial axis; a list gives one value per axis.
template <std::size_t D>
std::array<double, D> per_axis(const std::vector<double>& v, const char* loss, const char* what) {
  std::array<double, D> out{};
  if (v.size() == 1) out.fill(v[0]);
  else if (v.size() == D) std::copy(v.begin(), v.end(), out.begin());
  else throw_error<value_error>(loss, "<", D, ">: ", what, " must hold 1 value or ", D, " (one per spatial axis), got ", v.size());
  return out;
}

inline bool reduction_is_sum(const std::string& r, const char* loss) {
  if (r == "sum") return true;
  if (r == "mean") return false;
  throw_error<value_error>(loss, ": reduction must be \"sum\" or \"mean\", got \"", r, "\"");
}

// h_j = measure_j / N_j over the last D axes (NeuralOperator's uniform_quadrature), or the
// caller's quadrature (one value broadcast, or one per axis).
template <std::size_t D, std::size_t R>
std::array<double, D> quadrature(const std::array<double, D>& measure, const Shape<R>& s,
                                 const std::optional<std::vector<double>>& given, const char* loss) {
  if (given) return per_axis<D>(*given, loss, "quadrature");
  std::array<double, D> q{};
  for (std::size_t j = 0; j < D; ++j) q[j] = measure[j] / static_cast<double>(s[R - D + j]);
  return q;
}

template <class T, std::size_t R, class B>
void check_pair(const Var<T, R, B>& x, const Var<T, R, B>& y, const char* loss) {
  if (x.shape() != y.shape())
    throw_error<shape_error>(loss, ": y_pred has shape ", format_shape(x.shape()), " but y has shape ", format_shape(y.shape()));
}

// The last D axes, as reduce.hpp takes them.
template <std::size_t D, std::size_t R>
struct SpatialAxes {
  int v[D];
  constexpr SpatialAxes() : v{} {
    for (std::size_t j = 0; j < D; ++j) v[j] = static_cast<int>(R - D + j);
  }
};

// Sum (default) or mean over all leading (batch, channel) entries.
template <class T, std::size_t R, class B>
Var<T, 0, B> reduce_all(const Var<T, R, B>& per_entry, bool use_sum) {
  return use_sum ? sum(per_entry) : mean(per_entry);
}

}  // namespace neuralop::losses::detail
