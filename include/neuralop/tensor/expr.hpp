// Host-side elementwise expression templates: a + b * 2, gelu(x), ... build a tree that keeps
// its operands alive; nothing is computed until the tree is assigned, then in one pass.
#pragma once

#include <algorithm>
#include <memory>
#include <type_traits>
#include <utility>

#include "neuralop/core/scalar.hpp"
#include "neuralop/core/shape.hpp"
#include "neuralop/tensor/functors.hpp"
#include "neuralop/tensor/kernel_expr.hpp"
#include "neuralop/tensor/storage.hpp"

namespace neuralop {

// Types that take part in expressions specialise expr_traits (Tensor, TensorView, Var and the
// nodes below) with `value = true` and a `static auto make(const X&)` returning the leaf/node.
template <class E>
struct expr_traits {
  static constexpr bool value = false;
};
template <class E>
concept Expression = expr_traits<std::remove_cvref_t<E>>::value;

template <class E>
auto to_expr(const E& e) {
  return expr_traits<std::remove_cvref_t<E>>::make(e);
}
template <class E>
using expr_t = decltype(to_expr(std::declval<const E&>()));

// Backend of a binary node: scalars have `void`, which yields to the other side.
template <class A, class B>
struct common_backend {
  static_assert(std::is_void_v<A> || std::is_void_v<B> || std::is_same_v<A, B>,
                "neuralop: an expression mixes tensors of different backends; move one with .to<>() first");
  using type = std::conditional_t<std::is_void_v<A>, B, A>;
};

// ------------------------------------------------------------------ leaves
template <class T, std::size_t R, class B>
struct TensorLeaf {
  using value_type = T;
  using backend = B;
  static constexpr std::size_t rank = R;
  static constexpr bool has_var = false;
  template <std::size_t N>
  using kernel_type = kexpr::Leaf<T, N>;

  std::shared_ptr<Storage<T, B>> owner;  // keeps the storage alive while the tree lives
  const T* data = nullptr;
  Shape<R> shape{};
  Strides<R> strides{};

  template <std::size_t N>
  void broadcast_shape(Shape<N>& out, bool& first, const char* op) const {
    broadcast_into(out, shape, op, first);
  }
  template <std::size_t N>
  kernel_type<N> kernel(const Shape<N>& out) const {
    kernel_type<N> k;
    k.base = data;
    const auto st = broadcast_strides(out, shape, strides);
    for (std::size_t d = 0; d != N; ++d) k.st[d] = st[d];
    return k;
  }
  template <class F>
  void visit_leaves(F&& f) const {
    f(*this);
  }
  const TensorLeaf& tensor_leaf() const { return *this; }
};

template <class T>
struct ScalarLeaf {
  using value_type = T;
  using backend = void;
  static constexpr std::size_t rank = 0;
  static constexpr bool has_var = false;
  template <std::size_t N>
  using kernel_type = kexpr::Scalar<T>;
  T value;

  template <std::size_t N>
  void broadcast_shape(Shape<N>&, bool&, const char*) const {}
  template <std::size_t N>
  kernel_type<N> kernel(const Shape<N>&) const {
    return {value};
  }
  template <class F>
  void visit_leaves(F&&) const {}
};

// ------------------------------------------------------------------ nodes
template <class Op, class A>
struct UnaryExpr {
  using value_type = typename Op::template result<typename A::value_type>;
  using backend = typename A::backend;
  static constexpr std::size_t rank = A::rank;
  static constexpr bool has_var = A::has_var;
  template <std::size_t N>
  using kernel_type = kexpr::Unary<Op, typename A::template kernel_type<N>>;
  Op op;
  A a;

  template <std::size_t N>
  void broadcast_shape(Shape<N>& out, bool& first, const char* where) const {
    a.broadcast_shape(out, first, where);
  }
  template <std::size_t N>
  kernel_type<N> kernel(const Shape<N>& out) const {
    return {op, a.kernel(out)};
  }
  template <class F>
  void visit_leaves(F&& f) const {
    a.visit_leaves(f);
  }
};

template <class Op, class A, class B>
struct BinaryExpr {
  static_assert(std::is_same_v<typename A::value_type, typename B::value_type>,
                "neuralop: elementwise operands must have the same dtype; use cast<T>(x) to convert");
  using value_type = typename A::value_type;
  using backend = typename common_backend<typename A::backend, typename B::backend>::type;
  static constexpr std::size_t rank = std::max(A::rank, B::rank);
  static constexpr bool has_var = A::has_var || B::has_var;
  template <std::size_t N>
  using kernel_type = kexpr::Binary<Op, typename A::template kernel_type<N>, typename B::template kernel_type<N>>;
  Op op;
  A a;
  B b;

  template <std::size_t N>
  void broadcast_shape(Shape<N>& out, bool& first, const char*) const {
    a.broadcast_shape(out, first, Op::name);
    b.broadcast_shape(out, first, Op::name);
  }
  template <std::size_t N>
  kernel_type<N> kernel(const Shape<N>& out) const {
    return {op, a.kernel(out), b.kernel(out)};
  }
  template <class F>
  void visit_leaves(F&& f) const {
    a.visit_leaves(f);
    b.visit_leaves(f);
  }
};

template <class T>
struct expr_traits<ScalarLeaf<T>> {
  static constexpr bool value = true;
  static ScalarLeaf<T> make(const ScalarLeaf<T>& s) { return s; }
};
template <class Op, class A>
struct expr_traits<UnaryExpr<Op, A>> {
  static constexpr bool value = true;
  static UnaryExpr<Op, A> make(const UnaryExpr<Op, A>& e) { return e; }
};
template <class Op, class A, class B>
struct expr_traits<BinaryExpr<Op, A, B>> {
  static constexpr bool value = true;
  static BinaryExpr<Op, A, B> make(const BinaryExpr<Op, A, B>& e) { return e; }
};

// The broadcast output shape of a tree (throws shape_error naming the op).
template <class E>
Shape<E::rank> expr_shape(const E& e, const char* where) {
  Shape<E::rank> s{};
  s.fill(1);
  bool first = true;
  e.broadcast_shape(s, first, where);
  return s;
}

// ------------------------------------------------------------------ building
namespace detail {

template <class T, class S>
T scalar_as(S s) {
  static_assert(is_complex_v<T> || !is_complex_v<S>,
                "neuralop: a complex scalar cannot combine with a real tensor; cast the tensor to complex first");
  if constexpr (is_complex_v<T> && is_complex_v<S>) return T(static_cast<real_t<T>>(s.real()), static_cast<real_t<T>>(s.imag()));
  else return T(static_cast<real_t<T>>(s));
}

template <class A, class B>
concept BinaryOperands = (Expression<A> && (Expression<B> || ScalarLike<std::remove_cvref_t<B>>)) ||
                         (ScalarLike<std::remove_cvref_t<A>> && Expression<B>);

template <class Op, class A, class B>
auto make_binary(const A& a, const B& b, Op op = {}) {
  if constexpr (!Expression<A>) {
    using T = typename expr_t<B>::value_type;
    return BinaryExpr<Op, ScalarLeaf<T>, expr_t<B>>{op, {scalar_as<T>(a)}, to_expr(b)};
  } else if constexpr (!Expression<B>) {
    using T = typename expr_t<A>::value_type;
    return BinaryExpr<Op, expr_t<A>, ScalarLeaf<T>>{op, to_expr(a), {scalar_as<T>(b)}};
  } else {
    return BinaryExpr<Op, expr_t<A>, expr_t<B>>{op, to_expr(a), to_expr(b)};
  }
}

template <class Op, class E>
auto make_unary(const E& e, Op op = {}) {
  return UnaryExpr<Op, expr_t<E>>{op, to_expr(e)};
}

template <class E>
using value_of = typename expr_t<E>::value_type;

}  // namespace detail

template <class A, class B>
  requires detail::BinaryOperands<A, B>
auto operator+(const A& a, const B& b) {
  return detail::make_binary<fn::Add>(a, b);
}
template <class A, class B>
  requires detail::BinaryOperands<A, B>
auto operator-(const A& a, const B& b) {
  return detail::make_binary<fn::Sub>(a, b);
}
template <class A, class B>
  requires detail::BinaryOperands<A, B>
auto operator*(const A& a, const B& b) {
  return detail::make_binary<fn::Mul>(a, b);
}
template <class A, class B>
  requires detail::BinaryOperands<A, B>
auto operator/(const A& a, const B& b) {
  return detail::make_binary<fn::Div>(a, b);
}
template <Expression E>
auto operator-(const E& e) {
  return detail::make_unary<fn::Neg>(e);
}

// pow(x, 2.5), pow(x, y), pow(2, x)
template <class A, class B>
  requires detail::BinaryOperands<A, B>
auto pow(const A& a, const B& b) {
  if constexpr (Expression<A> && !Expression<B>) {
    using T = detail::value_of<A>;
    return detail::make_unary(a, fn::PowScalar<T>{{}, detail::scalar_as<T>(b)});
  } else {
    return detail::make_binary<fn::Pow>(a, b);
  }
}

#define NEURALOP_UNARY_FN(fname, Op)         \
  template <Expression E>                    \
  auto fname(const E& e) {                   \
    return detail::make_unary<fn::Op>(e);    \
  }
#define NEURALOP_REAL_UNARY_FN(fname, Op)                                                         \
  template <Expression E>                                                                        \
  auto fname(const E& e) {                                                                       \
    static_assert(!is_complex_v<detail::value_of<E>>, "neuralop: " #fname " is defined for real tensors only"); \
    return detail::make_unary<fn::Op>(e);                                                        \
  }

NEURALOP_UNARY_FN(exp, Exp)
NEURALOP_UNARY_FN(log, Log)
NEURALOP_UNARY_FN(sqrt, Sqrt)
NEURALOP_UNARY_FN(square, Square)
NEURALOP_UNARY_FN(conj, Conj)
NEURALOP_UNARY_FN(abs, Abs)
NEURALOP_UNARY_FN(abs2, Abs2)
NEURALOP_UNARY_FN(real, Real)
NEURALOP_REAL_UNARY_FN(tanh, Tanh)
NEURALOP_REAL_UNARY_FN(sigmoid, Sigmoid)
NEURALOP_REAL_UNARY_FN(relu, Relu)
NEURALOP_REAL_UNARY_FN(gelu, Gelu)
NEURALOP_REAL_UNARY_FN(silu, Silu)
#undef NEURALOP_UNARY_FN
#undef NEURALOP_REAL_UNARY_FN

template <Expression E>
auto imag(const E& e) {
  static_assert(is_complex_v<detail::value_of<E>>, "neuralop: imag is defined for complex tensors only");
  return detail::make_unary<fn::Imag>(e);
}

// torch.nn.functional.softplus(x, beta=1, threshold=20)
template <Expression E>
auto softplus(const E& e, double beta = 1.0, double threshold = 20.0) {
  using T = detail::value_of<E>;
  static_assert(!is_complex_v<T>, "neuralop: softplus is defined for real tensors only");
  return detail::make_unary(e, fn::Softplus<T>{{}, T(beta), T(threshold)});
}

// cast<double>(x), cast<std::complex<float>>(x)
template <class To, Expression E>
auto cast(const E& e) {
  static_assert(TensorScalar<To>, "neuralop: cast target must be float, double or std::complex of them");
  static_assert(is_complex_v<To> || !is_complex_v<detail::value_of<E>>,
                "neuralop: cast from complex to real is ambiguous; use real(), imag() or abs()");
  return detail::make_unary<fn::Cast<To>>(e);
}

}  // namespace neuralop
