// TensorView: a strided window into a tensor's storage (slices along any axis). Reading a view
// in an expression costs nothing extra; assigning to it writes through to the tensor.
#pragma once

#include <memory>
#include <type_traits>

#include "neuralop/core/error.hpp"
#include "neuralop/core/shape.hpp"
#include "neuralop/tensor/evaluate.hpp"
#include "neuralop/tensor/expr.hpp"
#include "neuralop/tensor/fwd.hpp"
#include "neuralop/tensor/storage.hpp"

namespace neuralop {

template <class T, std::size_t R, class B>
class TensorView {
 public:
  using value_type = std::remove_const_t<T>;
  using backend_type = B;
  static constexpr std::size_t rank = R;
  static constexpr bool writable = !std::is_const_v<T>;

  TensorView(std::shared_ptr<Storage<value_type, B>> storage, T* data, const Shape<R>& shape, const Strides<R>& strides)
      : storage_(std::move(storage)), data_(data), shape_(shape), strides_(strides) {}
  // A read-only view from a writable one.
  TensorView(const TensorView<value_type, R, B>& o)
    requires(!writable)
      : storage_(o.storage()), data_(o.data()), shape_(o.shape()), strides_(o.strides()) {}
  TensorView(const TensorView&) = default;

  const Shape<R>& shape() const { return shape_; }
  const Strides<R>& strides() const { return strides_; }
  index_t numel() const { return neuralop::numel(shape_); }
  T* data() const { return data_; }
  const std::shared_ptr<Storage<value_type, B>>& storage() const { return storage_; }
  bool is_contiguous() const { return strides_ == contiguous_strides(shape_); }

  TensorView slice(int axis, index_t begin, index_t end) const {
    const std::size_t a = normalize_axis(axis, R, "slice");
    if (begin < 0 || end > shape_[a] || begin >= end)
      throw_error<shape_error>("slice: range [", begin, ", ", end, ") is empty or outside axis ", a, " of size ",
                               shape_[a], " (shape ", format_shape(shape_), ")");
    TensorView v = *this;
    v.data_ += begin * strides_[a];
    v.shape_[a] = end - begin;
    return v;
  }

  // Write an expression (or a scalar) into the viewed elements, broadcasting it to the view.
  template <class E>
    requires(writable && (Expression<E> || ScalarLike<E>))
  const TensorView& assign(const E& e) const {
    if constexpr (ScalarLike<E>) {
      return assign(ScalarLeaf<value_type>{detail::scalar_as<value_type>(e)});
    } else {
      using X = expr_t<E>;
      static_assert(!X::has_var, "neuralop: cannot write a Var expression into a tensor; use .value() of a Var");
      static_assert(std::is_same_v<typename X::value_type, value_type>, "neuralop: expression dtype differs from the destination's");
      static_assert(X::rank <= R, "neuralop: expression rank exceeds the destination's");
      const X x = to_expr(e);
      Shape<R> s = shape_;
      bool first = false;
      x.broadcast_shape(s, first, "assign");
      if (s != shape_)
        throw_error<shape_error>("assign: expression of shape ", format_shape(expr_shape(x, "assign")),
                                 " does not broadcast to the destination shape ", format_shape(shape_));
      if (detail::assignment_aliases(x, storage_.get(), data_, shape_, strides_)) {
        const Tensor<value_type, R, B> tmp = Tensor<value_type, R, B>::empty(shape_);
        detail::launch_assign<B>(const_cast<value_type*>(tmp.data()), shape_, tmp.strides(), x);
        detail::launch_assign<B>(data_, shape_, strides_, to_expr(tmp));
      } else {
        detail::launch_assign<B>(data_, shape_, strides_, x);
      }
    }
    storage_->bump_version();
    return *this;
  }
  // view = expr writes through (like an Eigen block); view = view copies elements.
  template <class E>
    requires(writable && (Expression<E> || ScalarLike<E>) && !std::is_same_v<std::remove_cvref_t<E>, TensorView>)
  const TensorView& operator=(const E& e) const {
    return assign(e);
  }
  const TensorView& operator=(const TensorView& o) const
    requires writable
  {
    return assign(o);
  }

 private:
  std::shared_ptr<Storage<value_type, B>> storage_;
  T* data_;
  Shape<R> shape_;
  Strides<R> strides_;
};

template <class T, std::size_t R, class B>
struct expr_traits<TensorView<T, R, B>> {
  static constexpr bool value = true;
  using V = std::remove_const_t<T>;
  static TensorLeaf<V, R, B> make(const TensorView<T, R, B>& v) { return {v.storage(), v.data(), v.shape(), v.strides()}; }
};

}  // namespace neuralop
