// GridEmbeddingND (neuralop.layers.embeddings): appends D coordinate channels to the input,
// channel j holding linspace(a_j, b_j, N_j + 1)[:-1] along spatial axis j ('ij' meshgrid).
#pragma once

#include <array>
#include <utility>
#include <vector>

#include "neuralop/ops/shape_ops.hpp"

namespace neuralop::nn {

namespace detail {
// torch.linspace(start, stop, steps) in float32 as torch's CPU kernel computes it: the first half
// from the start, the second half back from the stop.
inline std::vector<float> torch_linspace(float start, float stop, index_t steps) {
  std::vector<float> v(static_cast<std::size_t>(steps));
  if (steps == 1) {
    v[0] = start;
    return v;
  }
  const float step = (stop - start) / float(steps - 1);
  const index_t half = steps / 2;
  for (index_t i = 0; i < steps; ++i)
    v[std::size_t(i)] = i < half ? start + step * float(i) : stop - step * float(steps - 1 - i);
  return v;
}
}  // namespace detail

template <std::size_t D, class T = float, class B = cpu>
class GridEmbeddingND {
 public:
  explicit GridEmbeddingND(std::array<std::pair<double, double>, D> boundaries = unit()) : bounds_(boundaries) {}
  static std::array<std::pair<double, double>, D> unit() {
    std::array<std::pair<double, double>, D> b{};
    b.fill({0.0, 1.0});
    return b;
  }

  Var<T, D + 2, B> operator()(const Var<T, D + 2, B>& x) const {
    Shape<D + 2> gs = x.shape();
    gs[1] = 1;
    std::vector<Var<T, D + 2, B>> parts{x};
    for (std::size_t j = 0; j < D; ++j) {
      const index_t n = gs[j + 2];
      const auto line = detail::torch_linspace(float(bounds_[j].first), float(bounds_[j].second), n + 1);
      // Coordinate j varies along axis j + 2 only: fill a [1, 1, .., n, .., 1] line and broadcast.
      Shape<D + 2> ls{};
      ls.fill(1);
      ls[j + 2] = n;
      std::vector<T> vals(line.begin(), line.end() - 1);
      const auto l = Tensor<T, D + 2, B>::from_data(ls, std::span<const T>(vals));
      Tensor<T, D + 2, B> g(gs);
      g.assign(l);
      parts.emplace_back(std::move(g));
    }
    return concat(std::span<const Var<T, D + 2, B>>(parts), 1);
  }

 private:
  std::array<std::pair<double, double>, D> bounds_;
};

}  // namespace neuralop::nn
