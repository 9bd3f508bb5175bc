// sum, mean and max along axes (all axes when none are given), for tensors and Vars, with
// keepdim. max has torch.amax semantics: the gradient is shared equally among tied maxima.
#pragma once

#include <array>
#include <cstddef>

#include "neuralop/autograd/function.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

struct KeepDim {};
inline constexpr KeepDim keepdim{};

namespace detail {

template <std::size_t R, std::size_t K>
std::array<bool, (R > 0 ? R : 1)> axes_mask(const int (&axes)[K], const char* op) {
  std::array<bool, (R > 0 ? R : 1)> mask{};
  for (std::size_t i = 0; i < K; ++i) {
    const std::size_t a = normalize_axis(axes[i], R, op);
    if (mask[a]) throw_error<shape_error>(op, ": axis ", axes[i], " is given twice");
    mask[a] = true;
  }
  return mask;
}
template <std::size_t R>
std::array<bool, (R > 0 ? R : 1)> all_axes_mask() {
  std::array<bool, (R > 0 ? R : 1)> mask{};
  mask.fill(true);
  return mask;
}

template <std::size_t R, class M>
Shape<R> keepdim_shape(const Shape<R>& s, const M& mask) {
  Shape<R> o = s;
  for (std::size_t d = 0; d != R; ++d)
    if (mask[d]) o[d] = 1;
  return o;
}
template <std::size_t R2, std::size_t R, class M>
Shape<R2> dropped_shape(const Shape<R>& s, const M& mask) {
  Shape<R2> o{};
  std::size_t j = 0;
  for (std::size_t d = 0; d != R; ++d)
    if (!mask[d]) o[j++] = s[d];
  return o;
}
template <std::size_t R, class M>
index_t reduced_count(const Shape<R>& s, const M& mask) {
  index_t n = 1;
  for (std::size_t d = 0; d != R; ++d)
    if (mask[d]) n *= s[d];
  return n;
}

// The reduction with keepdim shape.
template <class T, std::size_t R, class B, class M>
Tensor<T, R, B> reduce_keep(const Tensor<T, R, B>& x, const M& mask, ReduceOp op, const char* name) {
  if (!x.defined()) throw_error<value_error>(name, ": the input tensor is null");
  auto out = Tensor<T, R, B>::empty(keepdim_shape(x.shape(), mask));
  B::template reduce<T>(op, x.data(), x.shape().data(), mask.data(), static_cast<int>(R), out.data());
  return out;
}

enum class Reduction { sum, mean, max };

template <Reduction Kind, class T, std::size_t R, class B, class M>
Tensor<T, R, B> reduce_value(const Tensor<T, R, B>& x, const M& mask, const char* name) {
  if constexpr (Kind == Reduction::max) {
    static_assert(!is_complex_v<T>, "neuralop: max is not defined for complex tensors");
    return reduce_keep(x, mask, ReduceOp::max, name);
  } else {
    auto s = reduce_keep(x, mask, ReduceOp::sum, name);
    if constexpr (Kind == Reduction::mean) s *= T(real_t<T>(1) / static_cast<real_t<T>>(reduced_count(x.shape(), mask)));
    return s;
  }
}

// dL/dx of sum and mean, from the keepdim-shaped gradient g: g broadcast (and scaled).
template <Reduction Kind, class T, std::size_t R, class B, class M>
Tensor<T, R, B> reduce_grad(const Tensor<T, R, B>& g, const Shape<R>& in_shape, const M& mask) {
  auto gi = Tensor<T, R, B>::empty(in_shape);
  if constexpr (Kind == Reduction::sum) gi.assign(g);
  else gi.assign(g * T(real_t<T>(1) / static_cast<real_t<T>>(reduced_count(in_shape, mask))));
  return gi;
}
// dL/dx of max: g shared equally among the elements equal to the maximum.
template <Reduction Kind, class T, std::size_t R, class B, class M>
Tensor<T, R, B> reduce_grad(const Tensor<T, R, B>& g, const Tensor<T, R, B>& x, const Tensor<T, R, B>& y,
                            const M& mask) {
  auto gi = Tensor<T, R, B>::empty(x.shape());
  gi.assign(detail::make_binary<fn::EqMask>(x, y));
  const auto count = reduce_keep(gi, mask, ReduceOp::sum, "max backward");
  gi.assign(gi * (g / count));
  return gi;
}

template <Reduction Kind, std::size_t R2, class T, std::size_t R, class B, class M>
auto reduce_tensor(const Tensor<T, R, B>& x, const M& mask, bool keep, const char* name) {
  auto y = reduce_value<Kind>(x, mask, name);
  if constexpr (R2 == R) {
    (void)keep;
    return y;
  } else {
    return y.template reshape<R2>(dropped_shape<R2>(x.shape(), mask));
  }
}

template <Reduction Kind, std::size_t R2, class T, std::size_t R, class B, class M>
Var<T, R2, B> reduce_var(const Var<T, R, B>& x, const M& mask, const char* name) {
  const Tensor<T, R, B> y = reduce_value<Kind>(x.value(), mask, name);
  Tensor<T, R2, B> out;
  if constexpr (R2 == R) out = y;
  else out = y.template reshape<R2>(dropped_shape<R2>(x.shape(), mask));
  const Shape<R> keep_shape = y.shape();
  if constexpr (Kind == Reduction::max) {
    return record_op(
        name, out,
        [xs = x.slot_ptr(), mask, keep_shape, sx = Saved<T, R, B>(x), sy = Saved<T, R, B>(y, x.requires_grad()),
         name](const Tensor<T, R2, B>& g) {
          accumulate_grad(xs, reduce_grad<Kind>(g.template reshape<R>(keep_shape), sx.get(name), sy.get(name), mask));
        },
        x);
  } else {
    return record_op(
        name, out,
        [xs = x.slot_ptr(), mask, in_shape = x.shape(), keep_shape](const Tensor<T, R2, B>& g) {
          accumulate_grad(xs, reduce_grad<Kind>(g.template reshape<R>(keep_shape), in_shape, mask));
        },
        x);
  }
}

}  // namespace detail

#define NEURALOP_REDUCTION(fname, Kind)                                                                          \
  template <TensorScalar T, std::size_t R, class B>                                                             \
  Tensor<T, 0, B> fname(const Tensor<T, R, B>& x) {                                                             \
    return detail::reduce_tensor<detail::Reduction::Kind, 0>(x, detail::all_axes_mask<R>(), false, #fname);      \
  }                                                                                                              \
  template <TensorScalar T, std::size_t R, class B, std::size_t K>                                              \
    requires(K <= R)                                                                                             \
  Tensor<T, R - K, B> fname(const Tensor<T, R, B>& x, const int (&axes)[K]) {                                   \
    return detail::reduce_tensor<detail::Reduction::Kind, R - K>(x, detail::axes_mask<R>(axes, #fname), false, #fname); \
  }                                                                                                              \
  template <TensorScalar T, std::size_t R, class B, std::size_t K>                                              \
    requires(K <= R)                                                                                             \
  Tensor<T, R, B> fname(const Tensor<T, R, B>& x, const int (&axes)[K], KeepDim) {                              \
    return detail::reduce_tensor<detail::Reduction::Kind, R>(x, detail::axes_mask<R>(axes, #fname), true, #fname); \
  }                                                                                                              \
  template <TensorScalar T, std::size_t R, class B>                                                             \
  Var<T, 0, B> fname(const Var<T, R, B>& x) {                                                                   \
    return detail::reduce_var<detail::Reduction::Kind, 0>(x, detail::all_axes_mask<R>(), #fname);               \
  }                                                                                                              \
  template <TensorScalar T, std::size_t R, class B, std::size_t K>                                              \
    requires(K <= R)                                                                                             \
  Var<T, R - K, B> fname(const Var<T, R, B>& x, const int (&axes)[K]) {                                         \
    return detail::reduce_var<detail::Reduction::Kind, R - K>(x, detail::axes_mask<R>(axes, #fname), #fname);   \
  }                                                                                                              \
  template <TensorScalar T, std::size_t R, class B, std::size_t K>                                              \
    requires(K <= R)                                                                                             \
  Var<T, R, B> fname(const Var<T, R, B>& x, const int (&axes)[K], KeepDim) {                                    \
    return detail::reduce_var<detail::Reduction::Kind, R>(x, detail::axes_mask<R>(axes, #fname), #fname);       \
  }                                                                                                              \
  template <Expression E>                                                                                        \
    requires(!std::is_same_v<std::remove_cvref_t<decltype(eval(std::declval<const E&>()))>, std::remove_cvref_t<E>>) \
  auto fname(const E& e) {                                                                                       \
    return fname(eval(e));                                                                                       \
  }                                                                                                              \
  template <Expression E, std::size_t K>                                                                         \
    requires(!std::is_same_v<std::remove_cvref_t<decltype(eval(std::declval<const E&>()))>, std::remove_cvref_t<E>>) \
  auto fname(const E& e, const int (&axes)[K]) {                                                                 \
    return fname(eval(e), axes);                                                                                 \
  }                                                                                                              \
  template <Expression E, std::size_t K>                                                                         \
    requires(!std::is_same_v<std::remove_cvref_t<decltype(eval(std::declval<const E&>()))>, std::remove_cvref_t<E>>) \
  auto fname(const E& e, const int (&axes)[K], KeepDim) {                                                        \
    return fname(eval(e), axes, keepdim);                                                                        \
  }

NEURALOP_REDUCTION(sum, sum)
NEURALOP_REDUCTION(mean, mean)
NEURALOP_REDUCTION(max, max)
#undef NEURALOP_REDUCTION

}  // namespace neuralop
