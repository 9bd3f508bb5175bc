// Tensor<T, Rank, Backend>: a reference-counted handle to a contiguous row-major array in
// PyTorch's axis order (batch, channels, spatial...). Copies share storage (like torch.Tensor);
// clone() copies data. `t = expr` rebinds t to a fresh result, `t.assign(expr)` writes in place.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "neuralop/backend/cpu.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/core/rng.hpp"
#include "neuralop/core/scalar.hpp"
#include "neuralop/core/shape.hpp"
#include "neuralop/tensor/evaluate.hpp"
#include "neuralop/tensor/expr.hpp"
#include "neuralop/tensor/storage.hpp"
#include "neuralop/tensor/view.hpp"

namespace neuralop {

inline constexpr std::size_t max_rank = 8;

namespace detail {
template <class X>
Tensor<typename X::value_type, X::rank, typename X::backend> materialize(const X& x, const char* where);
}  // namespace detail

template <TensorScalar T, std::size_t R, class B>
class Tensor {
  static_assert(R <= max_rank, "neuralop: tensors have rank 8 at most");

 public:
  using value_type = T;
  using backend_type = B;
  static constexpr std::size_t rank = R;

  // A null tensor (defined() == false); most operations on it throw.
  Tensor() = default;
  // Zero-filled.
  explicit Tensor(const Shape<R>& shape) : Tensor(empty(shape)) { fill(T(0)); }
  Tensor(const Shape<R>& shape, T value) : Tensor(empty(shape)) { fill(value); }

  // Materialise an expression: Tensor y = gelu(a * x + b);
  template <Expression E>
    requires(!std::is_same_v<std::remove_cvref_t<E>, Tensor>)
  Tensor(const E& e) {  // NOLINT(google-explicit-constructor): expression results convert like values
    using X = expr_t<E>;
    static_assert(!X::has_var, "neuralop: this expression involves Vars; materialise it as a Var (autograd)");
    static_assert(std::is_same_v<typename X::value_type, T>, "neuralop: expression dtype differs from the tensor's");
    static_assert(X::rank == R, "neuralop: expression rank differs from the tensor's");
    static_assert(std::is_same_v<typename X::backend, B>, "neuralop: expression backend differs from the tensor's");
    *this = detail::materialize(to_expr(e), "Tensor");
  }
  template <Expression E>
    requires(!std::is_same_v<std::remove_cvref_t<E>, Tensor>)
  Tensor& operator=(const E& e) {
    return *this = Tensor(e);
  }

  static Tensor empty(const Shape<R>& shape) {
    check_shape(shape, "Tensor");
    Tensor t;
    t.storage_ = std::make_shared<Storage<T, B>>(static_cast<std::size_t>(neuralop::numel(shape)));
    t.data_ = t.storage_->data();
    t.shape_ = shape;
    return t;
  }
  static Tensor zeros(const Shape<R>& shape) { return Tensor(shape); }
  static Tensor ones(const Shape<R>& shape) { return Tensor(shape, T(1)); }
  static Tensor full(const Shape<R>& shape, T value) { return Tensor(shape, value); }
  // Copy host values (row-major) into a new tensor; the count must match the shape.
  static Tensor from_data(const Shape<R>& shape, std::span<const T> values) {
    Tensor t = empty(shape);
    if (static_cast<index_t>(values.size()) != t.numel())
      throw_error<shape_error>("Tensor::from_data: ", values.size(), " values given for shape ", format_shape(shape),
                               " (", t.numel(), " elements)");
    B::template copy_from_host<T>(t.data_, values.data(), values.size());
    return t;
  }
  static Tensor from_data(const Shape<R>& shape, std::initializer_list<T> values) {
    return from_data(shape, std::span<const T>(values.begin(), values.size()));
  }
  // U(low, high) and N(mean, std) from a seeded counter-based stream: the same numbers for any
  // thread count. Complex: real and imaginary parts each N(mean, std^2 / 2), as torch.
  static Tensor uniform(const Shape<R>& shape, real_t<T> low = 0, real_t<T> high = 1,
                        Generator& gen = default_generator()) {
    Tensor t = empty(shape);
    t.fill_uniform(low, high, gen);
    return t;
  }
  static Tensor normal(const Shape<R>& shape, real_t<T> mean = 0, real_t<T> std = 1,
                       Generator& gen = default_generator()) {
    Tensor t = empty(shape);
    t.fill_normal(mean, std, gen);
    return t;
  }

  // ---- properties
  bool defined() const { return storage_ != nullptr; }
  const Shape<R>& shape() const { return shape_; }
  index_t size(int axis) const { return shape_[normalize_axis(axis, R, "Tensor::size")]; }
  index_t numel() const { return defined() ? neuralop::numel(shape_) : 0; }
  Strides<R> strides() const { return contiguous_strides(shape_); }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::uint64_t version() const { return storage_ ? storage_->version() : 0; }
  const std::shared_ptr<Storage<T, B>>& storage() const { return storage_; }

  // ---- in-place writes (bump the version so autograd can detect stale saved values)
  Tensor& fill(T value) {
    require_defined("fill");
    B::template fill<T>(data_, static_cast<std::size_t>(numel()), value);
    storage_->bump_version();
    return *this;
  }
  Tensor& fill_uniform(real_t<T> low, real_t<T> high, Generator& gen = default_generator()) {
    return fill_random<Distribution::uniform>(low, high, gen);
  }
  Tensor& fill_normal(real_t<T> mean, real_t<T> std, Generator& gen = default_generator()) {
    if constexpr (is_complex_v<T>) return fill_random<Distribution::normal>(mean, std / std::sqrt(real_t<T>(2)), gen);
    else return fill_random<Distribution::normal>(mean, std, gen);
  }
  // Write an expression into this tensor's storage (broadcast to its shape).
  template <class E>
    requires Expression<E> || ScalarLike<E>
  Tensor& assign(const E& e) {
    view().assign(e);
    return *this;
  }
  template <class E> Tensor& operator+=(const E& e) { return assign(*this + e); }
  template <class E> Tensor& operator-=(const E& e) { return assign(*this - e); }
  template <class E> Tensor& operator*=(const E& e) { return assign(*this * e); }
  template <class E> Tensor& operator/=(const E& e) { return assign(*this / e); }

  // ---- views sharing storage
  TensorView<T, R, B> view() {
    require_defined("view");
    return TensorView<T, R, B>(storage_, data_, shape_, strides());
  }
  TensorView<const T, R, B> view() const {
    require_defined("view");
    return TensorView<const T, R, B>(storage_, data_, shape_, strides());
  }
  // Elements [begin, end) along `axis` (negative axes count from the end).
  TensorView<T, R, B> slice(int axis, index_t begin, index_t end) { return view().slice(axis, begin, end); }
  TensorView<const T, R, B> slice(int axis, index_t begin, index_t end) const { return view().slice(axis, begin, end); }

  // Same data, new shape (one entry may be -1); shares storage.
  template <std::size_t R2>
  Tensor<T, R2, B> reshape(Shape<R2> shape) const {
    require_defined("reshape");
    shape = resolve_reshape(shape_, shape);
    Tensor<T, R2, B> t;
    t.storage_ = storage_;
    t.data_ = data_;
    t.shape_ = shape;
    return t;
  }
  template <class... I>
    requires(sizeof...(I) > 0 && (std::is_integral_v<I> && ...))
  Tensor<T, sizeof...(I), B> reshape(I... sizes) const {
    return reshape(Shape<sizeof...(I)>{static_cast<index_t>(sizes)...});
  }
  // Entry i along axis 0, sharing storage: t[3] of a [N, C, H] tensor is [C, H].
  Tensor<T, (R > 0 ? R - 1 : 0), B> operator[](index_t i) const
    requires(R > 0)
  {
    require_defined("operator[]");
    if (i < 0 || i >= shape_[0])
      throw_error<shape_error>("Tensor[]: index ", i, " out of range for axis 0 of shape ", format_shape(shape_));
    Tensor<T, R - 1, B> t;
    t.storage_ = storage_;
    t.data_ = data_ + i * (numel() / shape_[0]);
    std::copy(shape_.begin() + 1, shape_.end(), t.shape_.begin());
    return t;
  }

  Tensor clone() const {
    require_defined("clone");
    Tensor t = empty(shape_);
    B::template copy<T>(t.data_, data_, static_cast<std::size_t>(numel()));
    return t;
  }

  // ---- host access
  std::vector<T> to_vector() const {
    require_defined("to_vector");
    std::vector<T> v(static_cast<std::size_t>(numel()));
    B::template copy_to_host<T>(v.data(), data_, v.size());
    return v;
  }
  // Element access with bounds checks (host-accessible backends only).
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...) && B::host_accessible)
  T& at(I... idx) {
    return data_[checked_offset({static_cast<index_t>(idx)...})];
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...) && B::host_accessible)
  const T& at(I... idx) const {
    return data_[checked_offset({static_cast<index_t>(idx)...})];
  }
  T item() const {
    if (numel() != 1) throw_error<shape_error>("Tensor::item: tensor of shape ", format_shape(shape_), " is not a single value");
    T v;
    B::template copy_to_host<T>(&v, data_, 1);
    return v;
  }

  // Zero-copy Eigen view (cpu): evaluate Eigen Tensor expressions on our data.
  auto eigen()
    requires std::is_same_v<B, cpu>
  {
    require_defined("eigen");
    return Eigen::TensorMap<Eigen::Tensor<T, static_cast<int>(R), Eigen::RowMajor, index_t>>(data_, shape_);
  }
  auto eigen() const
    requires std::is_same_v<B, cpu>
  {
    require_defined("eigen");
    return Eigen::TensorMap<const Eigen::Tensor<T, static_cast<int>(R), Eigen::RowMajor, index_t>>(data_, shape_);
  }

  template <class B2>
  Tensor<T, R, B2> to() const {
    require_defined("to");
    if constexpr (std::is_same_v<B, B2>) {
      return *this;
    } else {
      // One copy through the policies when either side is host memory (no staging vector);
      // between two device backends, through the host.
      auto t = Tensor<T, R, B2>::empty(shape_);
      const auto n = static_cast<std::size_t>(numel());
      if constexpr (B::host_accessible) {
        B2::template copy_from_host<T>(t.data_, data_, n);
      } else if constexpr (B2::host_accessible) {
        B::template copy_to_host<T>(t.data_, data_, n);
      } else {
        const auto host = to_vector();
        B2::template copy_from_host<T>(t.data_, host.data(), n);
      }
      return t;
    }
  }

 private:
  template <TensorScalar, std::size_t, class>
  friend class Tensor;

  void require_defined(const char* op) const {
    if (!storage_) throw_error<value_error>("Tensor::", op, ": the tensor is null (default-constructed)");
  }
  index_t checked_offset(const Shape<R>& idx) const {
    require_defined("at");
    index_t off = 0;
    for (std::size_t d = 0; d != R; ++d) {
      if (idx[d] < 0 || idx[d] >= shape_[d])
        throw_error<shape_error>("Tensor::at: index ", format_shape(idx), " out of range for shape ", format_shape(shape_));
      off = off * shape_[d] + idx[d];
    }
    return off;
  }
  template <Distribution D>
  Tensor& fill_random(real_t<T> a, real_t<T> b, Generator& gen) {
    require_defined("fill_random");
    using Rt = real_t<T>;
    const index_t n = numel() * (is_complex_v<T> ? 2 : 1);
    const index_t n_ctr = (n + values_per_counter<Rt> - 1) / values_per_counter<Rt>;
    const std::uint64_t seed = gen.seed(), offset = gen.reserve(static_cast<std::uint64_t>(n_ctr));
    B::template fill_random<D, Rt>(reinterpret_cast<Rt*>(data_), n, seed, offset, a, b);
    storage_->bump_version();
    return *this;
  }

  std::shared_ptr<Storage<T, B>> storage_;
  T* data_ = nullptr;
  Shape<R> shape_{};
};

template <TensorScalar T, std::size_t R, class B>
struct expr_traits<Tensor<T, R, B>> {
  static constexpr bool value = true;
  static TensorLeaf<T, R, B> make(const Tensor<T, R, B>& t) {
    if (!t.defined()) throw_error<value_error>("expression: a null (default-constructed) tensor was used as an operand");
    return {t.storage(), t.data(), t.shape(), t.strides()};
  }
};

namespace detail {
// Evaluate any expression tree into a new contiguous tensor (Var leaves are read as values).
template <class X>
Tensor<typename X::value_type, X::rank, typename X::backend> materialize(const X& x, const char* where) {
  using Out = Tensor<typename X::value_type, X::rank, typename X::backend>;
  Out out = Out::empty(expr_shape(x, where));
  launch_assign<typename X::backend>(out.data(), out.shape(), out.strides(), x);
  return out;
}
}  // namespace detail

// The materialised value of an expression: eval(a + b) is a Tensor (or a Var with autograd).
template <Expression E>
  requires(!expr_t<E>::has_var)
auto eval(const E& e) {
  using X = expr_t<E>;
  return Tensor<typename X::value_type, X::rank, typename X::backend>(e);
}

}  // namespace neuralop
