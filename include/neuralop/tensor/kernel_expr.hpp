// Kernel-side expression trees: plain structs of raw pointers and strides that any backend
// evaluates element by element (or packet by packet on the cpu). Each node computes its value
// forward and, given an adjoint, pushes derivatives to its children: the fused backward.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "neuralop/backend/math.hpp"
#include "neuralop/core/config.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace neuralop::kexpr {

// The value type a node handles in vector (packet) or scalar mode.
template <bool Vec, class T>
using V = std::conditional_t<Vec, math::packet_t<T>, T>;

// Index of the innermost launch dim; the clamp only tells the compiler nd <= NS.
template <std::size_t NS>
NEURALOP_HD inline int last_dim(int nd) {
  return nd - 1 < static_cast<int>(NS) ? nd - 1 : static_cast<int>(NS) - 1;
}

// A tensor operand: value pointer + strides in the launch's (coalesced) dims, and optionally a
// gradient sink laid out like the launch's output (contiguous), written in backward.
template <class T, std::size_t N>
struct Leaf {
  using value_type = T;
  static constexpr int n_leaves = 1;
  static constexpr bool vectorizable = math::packet_support<T>::any;
  static constexpr std::size_t NS = N > 0 ? N : 1;

  const T* base = nullptr;
  index_t st[NS] = {};
  T* sink = nullptr;
  index_t sst[NS] = {};
  bool accumulate = false;  // sink += contribution (else sink = contribution)
  // Row state, set per row by set_row.
  const T* cur = nullptr;
  T* scur = nullptr;
  index_t inner = 0, sinner = 0;

  template <class F>
  NEURALOP_HD void for_each_leaf(F& f) {
    f(*this);
  }
  NEURALOP_HD void set_row(const index_t* coords, int nd) {
    index_t off = 0, soff = 0;
    for (int d = 0; d < nd - 1; ++d) {
      off += coords[d] * st[d];
      soff += coords[d] * sst[d];
    }
    cur = base + off;
    scur = sink ? sink + soff : nullptr;
    inner = st[last_dim<NS>(nd)];
    sinner = sst[last_dim<NS>(nd)];
  }
  NEURALOP_HD bool vector_ok() const { return (inner == 0 || inner == 1) && (!sink || sinner == 1); }

  template <bool Vec>
  NEURALOP_HD V<Vec, T> eval(index_t j) const {
    if constexpr (Vec) {
      using P = V<Vec, T>;
      return inner == 0 ? math::set1<P>(*cur) : math::load<P>(cur + j);
    } else {
      return cur[j * inner];
    }
  }
  template <bool Vec>
  struct Cache {
    V<Vec, T> y;
  };
  template <bool Vec>
  NEURALOP_HD Cache<Vec> fwd(index_t j) const {
    return {eval<Vec>(j)};
  }
  template <bool Vec>
  NEURALOP_HD void bwd(index_t j, const Cache<Vec>&, const V<Vec, T>& g) const {
    if (!scur) return;
    if constexpr (Vec) {
      using P = V<Vec, T>;
      math::store(scur + j, accumulate ? math::add(math::load<P>(scur + j), g) : g);
    } else {
      T& s = scur[j * sinner];
      s = accumulate ? s + g : g;
    }
  }
};

// A constant (x * 2): no strides, no gradient.
template <class T>
struct Scalar {
  using value_type = T;
  static constexpr int n_leaves = 0;
  static constexpr bool vectorizable = true;
  T value;

  template <class F>
  NEURALOP_HD void for_each_leaf(F&) {}
  NEURALOP_HD void set_row(const index_t*, int) {}
  NEURALOP_HD bool vector_ok() const { return true; }
  template <bool Vec>
  NEURALOP_HD V<Vec, T> eval(index_t) const {
    return math::set1<V<Vec, T>>(value);
  }
  template <bool Vec>
  struct Cache {
    V<Vec, T> y;
  };
  template <bool Vec>
  NEURALOP_HD Cache<Vec> fwd(index_t j) const {
    return {eval<Vec>(j)};
  }
  template <bool Vec, class G>
  NEURALOP_HD void bwd(index_t, const Cache<Vec>&, const G&) const {}
};

template <class Op, class A>
struct Unary {
  using in_type = typename A::value_type;
  using value_type = typename Op::template result<in_type>;
  static constexpr int n_leaves = A::n_leaves;
  static constexpr bool vectorizable =
      A::vectorizable && std::is_same_v<in_type, value_type> && Op::template vectorizable<in_type>;
  Op op;
  A a;

  template <class F>
  NEURALOP_HD void for_each_leaf(F& f) {
    a.for_each_leaf(f);
  }
  NEURALOP_HD void set_row(const index_t* c, int nd) { a.set_row(c, nd); }
  NEURALOP_HD bool vector_ok() const { return a.vector_ok(); }
  template <bool Vec>
  NEURALOP_HD V<Vec, value_type> eval(index_t j) const {
    return op.f(a.template eval<Vec>(j));
  }
  template <bool Vec>
  struct Cache {
    V<Vec, value_type> y;
    typename A::template Cache<Vec> ca;
  };
  template <bool Vec>
  NEURALOP_HD Cache<Vec> fwd(index_t j) const {
    auto ca = a.template fwd<Vec>(j);
    return {op.f(ca.y), ca};
  }
  template <bool Vec>
  NEURALOP_HD void bwd(index_t j, const Cache<Vec>& c, const V<Vec, value_type>& g) const {
    if constexpr (A::n_leaves > 0) a.template bwd<Vec>(j, c.ca, op.grad(g, c.ca.y, c.y));
  }
};

template <class Op, class A, class B>
struct Binary {
  using value_type = typename A::value_type;
  static_assert(std::is_same_v<value_type, typename B::value_type>);
  static constexpr int n_leaves = A::n_leaves + B::n_leaves;
  static constexpr bool vectorizable = A::vectorizable && B::vectorizable && Op::template vectorizable<value_type>;
  Op op;
  A a;
  B b;

  template <class F>
  NEURALOP_HD void for_each_leaf(F& f) {
    a.for_each_leaf(f);
    b.for_each_leaf(f);
  }
  NEURALOP_HD void set_row(const index_t* c, int nd) {
    a.set_row(c, nd);
    b.set_row(c, nd);
  }
  NEURALOP_HD bool vector_ok() const { return a.vector_ok() && b.vector_ok(); }
  template <bool Vec>
  NEURALOP_HD V<Vec, value_type> eval(index_t j) const {
    return op.f(a.template eval<Vec>(j), b.template eval<Vec>(j));
  }
  template <bool Vec>
  struct Cache {
    V<Vec, value_type> y;
    typename A::template Cache<Vec> ca;
    typename B::template Cache<Vec> cb;
  };
  template <bool Vec>
  NEURALOP_HD Cache<Vec> fwd(index_t j) const {
    auto ca = a.template fwd<Vec>(j);
    auto cb = b.template fwd<Vec>(j);
    return {op.f(ca.y, cb.y), ca, cb};
  }
  template <bool Vec>
  NEURALOP_HD void bwd(index_t j, const Cache<Vec>& c, const V<Vec, value_type>& g) const {
    if constexpr (A::n_leaves > 0) a.template bwd<Vec>(j, c.ca, op.grad_a(g, c.ca.y, c.cb.y, c.y));
    if constexpr (B::n_leaves > 0) b.template bwd<Vec>(j, c.cb, op.grad_b(g, c.ca.y, c.cb.y, c.y));
  }
};

// Output of a forward launch (may be a strided view).
template <class T, std::size_t N>
struct Dst {
  static constexpr std::size_t NS = N > 0 ? N : 1;
  T* base = nullptr;
  index_t st[NS] = {};
  T* cur = nullptr;
  index_t inner = 0;
  NEURALOP_HD void set_row(const index_t* coords, int nd) {
    index_t off = 0;
    for (int d = 0; d < nd - 1; ++d) off += coords[d] * st[d];
    cur = base + off;
    inner = st[last_dim<NS>(nd)];
  }
};

// dst = expr, one pass.
template <class T, std::size_t N, class E>
struct AssignKernel {
  static constexpr int packet_width = E::vectorizable ? math::packet_of<T>::size : 1;
  Dst<T, N> dst;
  E e;
  int nd = 1;
  NEURALOP_HD void set_row(const index_t* c) {
    dst.set_row(c, nd);
    e.set_row(c, nd);
  }
  NEURALOP_HD bool vector_ok() const { return dst.inner == 1 && e.vector_ok(); }
  template <bool Vec>
  NEURALOP_HD void step(index_t j) {
    if constexpr (Vec) math::store(dst.cur + j, e.template eval<true>(j));
    else dst.cur[j * dst.inner] = e.template eval<false>(j);
  }
};

// Fused backward: recompute the forward values of the tree, then push the adjoint `adj` of
// the output down to every leaf sink, in one pass.
template <class T, std::size_t N, class E>
struct BackwardKernel {
  static constexpr int packet_width = E::vectorizable ? math::packet_of<T>::size : 1;
  Leaf<T, N> adj;
  E e;
  int nd = 1;
  NEURALOP_HD void set_row(const index_t* c) {
    adj.set_row(c, nd);
    e.set_row(c, nd);
  }
  NEURALOP_HD bool vector_ok() const { return adj.vector_ok() && e.vector_ok(); }
  template <bool Vec>
  NEURALOP_HD void step(index_t j) {
    const auto c = e.template fwd<Vec>(j);
    e.template bwd<Vec>(j, c, adj.template eval<Vec>(j));
  }
};

}  // namespace neuralop::kexpr

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
