// Printing tensors the way PyTorch does: values nested by axis, long axes summarised with
// "...", preceded by the dtype, shape and backend.
#pragma once

#include <complex>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <vector>

#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

namespace detail {

template <class T>
void print_value(std::ostream& os, const T& v) {
  if constexpr (is_complex_v<T>) {
    os << v.real() << (v.imag() < 0 ? "-" : "+") << std::abs(v.imag()) << "j";
  } else {
    os << v;
  }
}

template <class T, std::size_t R>
void print_rec(std::ostream& os, const std::vector<T>& v, const Shape<R>& s, std::size_t axis, index_t offset,
               bool summarise, int indent) {
  constexpr index_t edge = 3;
  const index_t n = s[axis];
  const index_t stride = contiguous_strides(s)[axis];
  os << '[';
  for (index_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * edge && i == edge) {
      os << (axis + 1 == R ? "..., " : "...,\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
      i = n - edge;
    }
    if (axis + 1 == R) print_value(os, v[static_cast<std::size_t>(offset + i)]);
    else print_rec(os, v, s, axis + 1, offset + i * stride, summarise, indent + 1);
    if (i + 1 < n) os << (axis + 1 == R ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
  }
  os << ']';
}

}  // namespace detail

template <TensorScalar T, std::size_t R, class B>
std::ostream& operator<<(std::ostream& os, const Tensor<T, R, B>& t) {
  if (!t.defined()) return os << "Tensor(null)";
  os << "Tensor(" << dtype_name<T>() << ", shape " << format_shape(t.shape()) << ", " << B::name << ")\n";
  const auto v = t.to_vector();
  std::ostringstream body;
  body.precision(os.precision() > 6 ? os.precision() : 6);
  if constexpr (R == 0) {
    detail::print_value(body, v[0]);
  } else {
    detail::print_rec(body, v, t.shape(), 0, 0, t.numel() > 1000, 0);
  }
  return os << body.str();
}

}  // namespace neuralop
