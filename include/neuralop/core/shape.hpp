// Shapes and strides: compile-time rank, row-major (PyTorch) order, broadcasting rules.
#pragma once

#include <array>
#include <cstddef>
#include <ostream>
#include <span>
#include <sstream>
#include <string>

#include "neuralop/core/config.hpp"
#include "neuralop/core/error.hpp"

namespace neuralop {

template <std::size_t Rank>
using Shape = std::array<index_t, Rank>;

template <std::size_t Rank>
using Strides = std::array<index_t, Rank>;

// "[2, 3, 4]" (and "[]" for rank 0), the form every error message uses.
inline std::string format_shape(std::span<const index_t> s) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}
template <std::size_t R>
std::string format_shape(const Shape<R>& s) {
  return format_shape(std::span<const index_t>(s.data(), R));
}

template <std::size_t R>
constexpr index_t numel(const Shape<R>& s) {
  index_t n = 1;
  for (auto v : s) n *= v;
  return n;
}

// Row-major strides of a contiguous tensor: the last axis varies fastest.
template <std::size_t R>
constexpr Strides<R> contiguous_strides(const Shape<R>& s) {
  Strides<R> st{};
  index_t acc = 1;
  for (std::size_t i = R; i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

// Sizes must be positive: a zero or negative extent is always a caller's mistake here.
template <std::size_t R>
void check_shape(const Shape<R>& s, const char* where) {
  for (std::size_t i = 0; i != R; ++i)
    if (s[i] <= 0)
      throw_error<value_error>(where, ": size ", s[i], " at axis ", i, " of shape ", format_shape(s),
                               "; sizes must be positive");
}

// Normalise a possibly negative axis (Python style, -1 = last) or throw naming the op.
inline std::size_t normalize_axis(int axis, std::size_t rank, const char* where) {
  const int r = static_cast<int>(rank);
  if (axis < -r || axis >= r)
    throw_error<shape_error>(where, ": axis ", axis, " is out of range for a tensor of rank ", rank);
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// Numpy/PyTorch broadcasting of a rank-r operand into an output of rank R >= r: operand
// axes align to the right; a size-1 operand axis stretches. Throws with both shapes.
template <std::size_t R, std::size_t r>
void broadcast_into(Shape<R>& out, const Shape<r>& in, const char* where, bool& first) {
  static_assert(r <= R);
  constexpr std::size_t off = R - r;
  if (first) {
    out.fill(1);
    first = false;
  }
  for (std::size_t i = 0; i != r; ++i) {
    index_t& o = out[off + i];
    const index_t v = in[i];
    if (o == v || v == 1) continue;
    if (o == 1) {
      o = v;
      continue;
    }
    throw_error<shape_error>(where, ": shapes ", format_shape(out), " and ", format_shape(in),
                             " are not broadcastable (axis ", off + i, ": ", o, " vs ", v, ")");
  }
}

// Strides for reading a rank-r contiguous operand as if it had the broadcast shape `out`:
// stretched and missing axes get stride 0.
template <std::size_t R, std::size_t r>
Strides<R> broadcast_strides(const Shape<R>& out, const Shape<r>& in, const Strides<r>& in_strides) {
  Strides<R> st{};
  constexpr std::size_t off = R - r;
  for (std::size_t i = 0; i != r; ++i) st[off + i] = (in[i] == 1 && out[off + i] != 1) ? 0 : in_strides[i];
  return st;
}

// A reshape target with at most one -1 entry, resolved against the source element count.
template <std::size_t R, std::size_t R2>
Shape<R2> resolve_reshape(const Shape<R>& from, Shape<R2> to) {
  const index_t n = numel(from);
  index_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i != R2; ++i) {
    if (to[i] == -1 && infer < 0) {
      infer = static_cast<int>(i);
    } else if (to[i] <= 0) {
      throw_error<shape_error>("reshape: invalid target shape ", format_shape(to), " for a tensor of shape ",
                               format_shape(from), " (sizes must be positive, one may be -1)");
    } else {
      known *= to[i];
    }
  }
  if (infer >= 0 && known > 0 && n % known == 0) to[infer] = n / known;
  if (numel(to) != n || (infer >= 0 && to[infer] <= 0))
    throw_error<shape_error>("reshape: cannot reshape a tensor of shape ", format_shape(from), " (", n,
                             " elements) into ", format_shape(to));
  return to;
}

template <std::size_t R>
std::ostream& operator<<(std::ostream& os, const Shape<R>& s) {
  return os << format_shape(s);
}

}  // namespace neuralop
