// Embeddings of neuralop.layers.embeddings: GridEmbeddingND / GridEmbedding2D append D coordinate
// channels to the input, channel j holding linspace(a_j, b_j, N_j + 1)[:-1] along spatial axis j
// ('ij' meshgrid); SinusoidalEmbedding maps coordinates to sin/cos features.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
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
  static constexpr int out_channels(int in_channels) { return in_channels + int(D); }
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

// GridEmbedding2D(grid_boundaries): GridEmbeddingND<2>, plus NeuralOperator's unbatched form
// (a [C, H, W] input gives [C + 2, H, W]).
template <class T = float, class B = cpu>
class GridEmbedding2D : public GridEmbeddingND<2, T, B> {
 public:
  explicit GridEmbedding2D(std::array<std::pair<double, double>, 2> boundaries = GridEmbeddingND<2, T, B>::unit())
      : GridEmbeddingND<2, T, B>(boundaries) {}
  using GridEmbeddingND<2, T, B>::operator();
  Var<T, 3, B> operator()(const Var<T, 3, B>& x) const {
    const auto& s = x.shape();
    const auto y = (*this)(reshape(x, Shape<4>{1, s[0], s[1], s[2]}));
    return reshape(y, Shape<3>{s[0] + 2, s[1], s[2]});
  }
};

// SinusoidalEmbedding(in_channels, num_frequencies, embedding_type, max_positions): input
// [n, C] or [batch, n, C]; output [..., n, 2 L C] with feature c 2L + 2k = sin(w_k p_c) and
// c 2L + 2k + 1 = cos(w_k p_c), k < L; "nerf": w_k = 2^k pi, "transformer": w_k =
// (1 / max_positions)^(2k / L).
template <class T = float, class B = cpu>
class SinusoidalEmbedding {
 public:
  SinusoidalEmbedding(int in_channels, int num_frequencies, std::string embedding_type = "transformer", int max_positions = 10000)
      : in_(in_channels) {
    if (in_channels <= 0 || num_frequencies <= 0)
      throw_error<value_error>("SinusoidalEmbedding: in_channels ", in_channels, " and num_frequencies ", num_frequencies,
                               " must be positive");
    if (embedding_type != "nerf" && embedding_type != "transformer")
      throw_error<value_error>("SinusoidalEmbedding: embedding_type '", embedding_type, "' is not \"nerf\" or \"transformer\"");
    if (embedding_type == "transformer" && max_positions <= 0)
      throw_error<value_error>("SinusoidalEmbedding: max_positions ", max_positions, " must be positive");
    for (int k = 0; k < num_frequencies; ++k) {
      // float32 as torch: (k / L) * 2 as the exponent.
      const float e = float(k) / float(num_frequencies) * 2.0f;
      freqs_.push_back(embedding_type == "nerf" ? T(double(std::int64_t(1) << k) * 3.14159265358979323846)
                                                : T(std::pow(1.0 / double(max_positions), double(e))));
    }
  }
  int out_channels() const { return 2 * int(freqs_.size()) * in_; }

  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    static_assert(R == 2 || R == 3, "SinusoidalEmbedding: input [n, C] or [batch, n, C]");
    if (x.shape()[R - 1] != in_)
      throw_error<shape_error>("SinusoidalEmbedding: input ", format_shape(x.shape()), " has ", x.shape()[R - 1],
                               " channels on its last axis, the embedding takes ", in_);
    const std::size_t L = freqs_.size();
    const auto xv = x.value().to_vector();
    std::vector<T> out(xv.size() * 2 * L);
    for (std::size_t i = 0; i < xv.size(); ++i)
      for (std::size_t k = 0; k < L; ++k) {
        const T a = freqs_[k] * xv[i];
        out[(i * L + k) * 2] = std::sin(a);
        out[(i * L + k) * 2 + 1] = std::cos(a);
      }
    Shape<R> os = x.shape();
    os[R - 1] *= index_t(2 * L);
    auto value = Tensor<T, R, cpu>::from_data(os, std::span<const T>(out)).template to<B>();
    // d/dp_c: sum_k w_k (g_sin cos(w_k p_c) - g_cos sin(w_k p_c)).
    return record_op(
        "sinusoidal_embedding", std::move(value),
        [xs = x.slot_ptr(), xv, freqs = freqs_, in_shape = x.shape()](const Tensor<T, R, B>& g) {
          const auto gv = g.to_vector();
          const std::size_t n = freqs.size();
          std::vector<T> gx(xv.size());
          for (std::size_t i = 0; i < xv.size(); ++i) {
            T acc = 0;
            for (std::size_t k = 0; k < n; ++k) {
              const T a = freqs[k] * xv[i];
              acc += freqs[k] * (gv[(i * n + k) * 2] * std::cos(a) - gv[(i * n + k) * 2 + 1] * std::sin(a));
            }
            gx[i] = acc;
          }
          accumulate_grad(xs, Tensor<T, R, cpu>::from_data(in_shape, std::span<const T>(gx)).template to<B>());
        },
        x);
  }

 private:
  int in_;
  std::vector<T> freqs_;
};

}  // namespace neuralop::nn
