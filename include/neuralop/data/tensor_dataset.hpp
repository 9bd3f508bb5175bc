// In-memory datasets: a Batch of stacked inputs x and targets y, and TensorDataset (sample i is
// x[i], y[i]), NeuralOperator's TensorDataset with torch's default collate folded in.
#pragma once

#include <span>
#include <string>
#include <utility>

#include "neuralop/core/error.hpp"
#include "neuralop/core/shape.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop::data {

// A batch, as NeuralOperator's dict {"x": ..., "y": ...}: samples stacked along axis 0. x and y
// may differ in rank (Burgers: x [B, 1, S], y [B, 1, T, S]).
template <TensorScalar T, std::size_t RX, std::size_t RY = RX, class B = cpu>
struct Batch {
  using value_type = T;
  using backend_type = B;
  using x_type = Tensor<T, RX, B>;
  using y_type = Tensor<T, RY, B>;
  static constexpr std::size_t x_rank = RX;
  static constexpr std::size_t y_rank = RY;

  x_type x;
  y_type y;

  index_t size() const { return x.shape()[0]; }
};

namespace detail {
// Rows `indices` of t (axis 0) stacked into a new contiguous tensor, in t's backend (a dataset
// may live in device memory: the rows are copied there by the backend's copy).
template <TensorScalar T, std::size_t R, class B>
Tensor<T, R, B> gather_rows(const Tensor<T, R, B>& t, std::span<const index_t> indices, const char* what) {
  const index_t n = t.shape()[0];
  const index_t row = t.numel() / n;
  Shape<R> s = t.shape();
  s[0] = static_cast<index_t>(indices.size());
  auto out = Tensor<T, R, B>::empty(s);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const index_t i = indices[k];
    if (i < 0 || i >= n) throw_error<value_error>(what, ": sample index ", i, " is out of range for ", n, " samples");
    B::template copy<T>(out.data() + static_cast<index_t>(k) * row, t.data() + i * row, static_cast<std::size_t>(row));
  }
  return out;
}
}  // namespace detail

// x: [N, ...], y: [N, ...] with the same N. Tensors share storage with the caller's (no copy).
template <TensorScalar T, std::size_t RX, std::size_t RY = RX, class B = cpu>
class TensorDataset {
  static_assert(RX >= 1 && RY >= 1, "TensorDataset: x and y need a sample axis");

 public:
  using batch_type = Batch<T, RX, RY, B>;

  TensorDataset() = default;
  TensorDataset(Tensor<T, RX, B> x, Tensor<T, RY, B> y) : x_(std::move(x)), y_(std::move(y)) {
    if (!x_.defined() || !y_.defined()) throw_error<value_error>("TensorDataset: x and y must be defined tensors");
    if (x_.shape()[0] != y_.shape()[0])
      throw_error<shape_error>("TensorDataset: x has ", x_.shape()[0], " samples (shape ", format_shape(x_.shape()),
                               ") but y has ", y_.shape()[0], " (shape ", format_shape(y_.shape()), ")");
  }

  index_t size() const { return x_.defined() ? x_.shape()[0] : 0; }
  const Tensor<T, RX, B>& x() const { return x_; }
  const Tensor<T, RY, B>& y() const { return y_; }

  // The samples `indices`, stacked (torch's default collate of dataset[i] for i in indices).
  batch_type get(std::span<const index_t> indices) const {
    return {detail::gather_rows(x_, indices, "TensorDataset x"), detail::gather_rows(y_, indices, "TensorDataset y")};
  }
  // Sample i as a batch of one.
  batch_type get(index_t i) const {
    const index_t idx[1] = {i};
    return get(std::span<const index_t>(idx, 1));
  }

 private:
  Tensor<T, RX, B> x_;
  Tensor<T, RY, B> y_;
};

}  // namespace neuralop::data
