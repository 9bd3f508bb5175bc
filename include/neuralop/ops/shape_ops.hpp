// Layout ops with reverse rules: reshape (shares storage), and slice, pad, concat, permute
// (new contiguous tensors, built by strided elementwise copies).
#pragma once

#include <array>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "neuralop/autograd/function.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

// ---------------------------------------------------------------- reshape
template <std::size_t R2, TensorScalar T, std::size_t R, class B>
Tensor<T, R2, B> reshape(const Tensor<T, R, B>& x, const Shape<R2>& shape) {
  return x.template reshape<R2>(shape);
}
template <std::size_t R2, TensorScalar T, std::size_t R, class B>
Var<T, R2, B> reshape(const Var<T, R, B>& x, const Shape<R2>& shape) {
  const Shape<R> in_shape = x.shape();
  return record_op(
      "reshape", x.value().template reshape<R2>(shape),
      [xs = x.slot_ptr(), in_shape](const Tensor<T, R2, B>& g) { xs->accumulate_grad(g.template reshape<R>(in_shape)); },
      x);
}

// ---------------------------------------------------------------- slice
template <TensorScalar T, std::size_t R, class B>
Tensor<T, R, B> slice(const Tensor<T, R, B>& x, int axis, index_t begin, index_t end) {
  return Tensor<T, R, B>(x.slice(axis, begin, end));
}
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> slice(const Var<T, R, B>& x, int axis, index_t begin, index_t end) {
  const Shape<R> in_shape = x.shape();
  return record_op(
      "slice", slice(x.value(), axis, begin, end),
      [xs = x.slot_ptr(), in_shape, axis, begin, end](const Tensor<T, R, B>& g) {
        Tensor<T, R, B> gi(in_shape);
        gi.slice(axis, begin, end).assign(g);
        xs->accumulate_grad(gi);
      },
      x);
}

// ---------------------------------------------------------------- pad
// pads[d] = {before, after} elements of `value` added along axis d (torch.nn.functional.pad
// with mode "constant", written per axis in natural order).
template <std::size_t R>
using Pads = std::array<std::pair<index_t, index_t>, R>;

namespace detail {
template <class T, std::size_t R, class B>
Shape<R> padded_shape(const Tensor<T, R, B>& x, const Pads<R>& pads) {
  if (!x.defined()) throw_error<value_error>("pad: the input tensor is null");
  Shape<R> s = x.shape();
  for (std::size_t d = 0; d != R; ++d) {
    if (pads[d].first < 0 || pads[d].second < 0)
      throw_error<value_error>("pad: negative padding (", pads[d].first, ", ", pads[d].second, ") on axis ", d,
                               " of shape ", format_shape(x.shape()), "; use slice to crop");
    s[d] += pads[d].first + pads[d].second;
  }
  return s;
}
// The view of the interior (the original data) within a padded tensor.
template <class TT, std::size_t R>
auto interior(TT&& padded, const Pads<R>& pads, const Shape<R>& inner) {
  const auto v = padded.view();
  auto* p = v.data();
  for (std::size_t d = 0; d != R; ++d) p += pads[d].first * v.strides()[d];
  return std::remove_const_t<decltype(v)>(v.storage(), p, inner, v.strides());
}
}  // namespace detail

template <TensorScalar T, std::size_t R, class B>
Tensor<T, R, B> pad(const Tensor<T, R, B>& x, const Pads<R>& pads, T value = T(0)) {
  Tensor<T, R, B> out(detail::padded_shape(x, pads), value);
  detail::interior(out, pads, x.shape()).assign(x);
  return out;
}
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> pad(const Var<T, R, B>& x, const Pads<R>& pads, T value = T(0)) {
  const Shape<R> in_shape = x.shape();
  return record_op(
      "pad", pad(x.value(), pads, value),
      [xs = x.slot_ptr(), pads, in_shape](const Tensor<T, R, B>& g) {
        xs->accumulate_grad(Tensor<T, R, B>(detail::interior(g, pads, in_shape)));
      },
      x);
}

// ---------------------------------------------------------------- concat
template <TensorScalar T, std::size_t R, class B>
Tensor<T, R, B> concat(std::span<const Tensor<T, R, B>> xs, int axis) {
  if (xs.empty()) throw_error<value_error>("concat: no tensors given");
  const std::size_t a = normalize_axis(axis, R, "concat");
  Shape<R> s = xs[0].shape();
  s[a] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].defined()) throw_error<value_error>("concat: tensor ", i, " is null");
    for (std::size_t d = 0; d != R; ++d)
      if (d != a && xs[i].shape()[d] != xs[0].shape()[d])
        throw_error<shape_error>("concat along axis ", a, ": tensor ", i, " has shape ", format_shape(xs[i].shape()),
                                 " but tensor 0 has shape ", format_shape(xs[0].shape()));
    s[a] += xs[i].shape()[a];
  }
  auto out = Tensor<T, R, B>::empty(s);
  index_t off = 0;
  for (const auto& x : xs) {
    out.slice(static_cast<int>(a), off, off + x.shape()[a]).assign(x);
    off += x.shape()[a];
  }
  return out;
}
template <TensorScalar T, std::size_t R, class B>
Tensor<T, R, B> concat(std::initializer_list<Tensor<T, R, B>> xs, int axis) {
  return concat(std::span<const Tensor<T, R, B>>(xs.begin(), xs.size()), axis);
}
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> concat(std::span<const Var<T, R, B>> xs, int axis) {
  std::vector<Tensor<T, R, B>> values;
  std::vector<GradSlot<T, R, B>> slots;
  std::vector<index_t> sizes;
  for (const auto& x : xs) {
    values.push_back(x.value());
    slots.push_back(x.slot_ptr());
    sizes.push_back(x.defined() ? x.shape()[normalize_axis(axis, R, "concat")] : 0);
  }
  auto out = concat(std::span<const Tensor<T, R, B>>(values), axis);
  return record_op(
      "concat", out,
      [slots, sizes, axis](const Tensor<T, R, B>& g) {
        index_t off = 0;
        for (std::size_t i = 0; i < slots.size(); ++i) {
          if (slots[i]->requires_grad) slots[i]->accumulate_grad(slice(g, axis, off, off + sizes[i]));
          off += sizes[i];
        }
      },
      xs);
}
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> concat(std::initializer_list<Var<T, R, B>> xs, int axis) {
  return concat(std::span<const Var<T, R, B>>(xs.begin(), xs.size()), axis);
}

// ---------------------------------------------------------------- permute
// out axis d = input axis perm[d] (torch.permute).
namespace detail {
template <std::size_t R>
std::array<int, R> check_perm(const int (&perm)[R], const char* op) {
  std::array<int, R> p{};
  std::array<bool, (R > 0 ? R : 1)> seen{};
  for (std::size_t d = 0; d != R; ++d) {
    const std::size_t a = normalize_axis(perm[d], R, op);
    if (seen[a]) throw_error<shape_error>(op, ": axis ", perm[d], " appears twice in the permutation");
    seen[a] = true;
    p[d] = static_cast<int>(a);
  }
  return p;
}
template <class T, std::size_t R, class B>
Tensor<T, R, B> permute_impl(const Tensor<T, R, B>& x, const std::array<int, R>& p) {
  if (!x.defined()) throw_error<value_error>("permute: the input tensor is null");
  Shape<R> s{};
  Strides<R> st{};
  const auto xs = x.strides();
  for (std::size_t d = 0; d != R; ++d) {
    s[d] = x.shape()[p[d]];
    st[d] = xs[p[d]];
  }
  return Tensor<T, R, B>(TensorView<const T, R, B>(x.storage(), x.data(), s, st));
}
}  // namespace detail

template <TensorScalar T, std::size_t R, class B>
Tensor<T, R, B> permute(const Tensor<T, R, B>& x, const int (&perm)[R]) {
  return detail::permute_impl(x, detail::check_perm(perm, "permute"));
}
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> permute(const Var<T, R, B>& x, const int (&perm)[R]) {
  const auto p = detail::check_perm(perm, "permute");
  std::array<int, R> inv{};
  for (std::size_t d = 0; d != R; ++d) inv[p[d]] = static_cast<int>(d);
  return record_op(
      "permute", detail::permute_impl(x.value(), p),
      [xs = x.slot_ptr(), inv](const Tensor<T, R, B>& g) { xs->accumulate_grad(detail::permute_impl(g, inv)); }, x);
}

}  // namespace neuralop
