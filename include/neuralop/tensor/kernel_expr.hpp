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

struct Empty {};

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
  // Gradient sink. Either laid out like the launch output, or a small per-block partial
  // buffer of the operand's own shape (broadcast operands): then block b writes at
  // sink0 + b * sink_block_stride and the caller sums the blocks afterwards.
  T* sink0 = nullptr;
  T* sink = nullptr;
  index_t sst[NS] = {};
  index_t sink_block_stride = 0;
  bool accumulate = false;  // sink += contribution (else sink = contribution)
  // Row state, set per row by set_row.
  const T* cur = nullptr;
  T* scur = nullptr;
  index_t inner = 0, sinner = 0;
  // When the sink is broadcast along the row (sinner == 0), contributions are summed in
  // registers and added to the sink once per row (flush), not once per element.
  math::packet_t<T> vacc{};
  T sacc{};
  bool pending = false;

  // A sink that is not accumulated into is laid out like the output, so it only looks
  // broadcast (stride 0) when the whole launch is one element: then the sum is stored.
  NEURALOP_HD void flush() {
    if (!pending) return;
    T v = sacc;
#if NEURALOP_HAVE_PACKETS
    if constexpr (math::packet_of<T>::size > 1) {
      v += math::hsum(vacc);
      vacc = math::set1<math::packet_t<T>>(0);
    }
#endif
    *scur = accumulate ? *scur + v : v;
    sacc = T(0);
    pending = false;
  }
  NEURALOP_HD void end_block() { flush(); }

  template <class F>
  NEURALOP_HD void for_each_leaf(F& f) {
    f(*this);
  }
  NEURALOP_HD void begin_block(index_t b) {
    if (sink0) sink = sink0 + b * sink_block_stride;
  }
  NEURALOP_HD void set_row(const index_t* coords, int nd) {
    flush();
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
  NEURALOP_HD bool vector_ok(int nd) const {
    const index_t in = st[last_dim<NS>(nd)], sin = sst[last_dim<NS>(nd)];
    return (in == 0 || in == 1) && (!sink || sin == 0 || sin == 1);
  }

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
  NEURALOP_HD void bwd(index_t j, const Cache<Vec>&, const V<Vec, T>& g) {
    if (!scur) return;
    if (sinner == 0) {  // every element of the row lands on one sink element
      pending = true;
      if constexpr (Vec) vacc = math::add(vacc, g);
      else sacc += g;
      return;
    }
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
  NEURALOP_HD void begin_block(index_t) {}
  NEURALOP_HD void end_block() {}
  NEURALOP_HD void set_row(const index_t*, int) {}
  NEURALOP_HD bool vector_ok(int) const { return true; }
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
  NEURALOP_HD void bwd(index_t, const Cache<Vec>&, const G&) {}
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
  NEURALOP_HD void begin_block(index_t blk) { a.begin_block(blk); }
  NEURALOP_HD void end_block() { a.end_block(); }
  NEURALOP_HD void set_row(const index_t* c, int nd) { a.set_row(c, nd); }
  NEURALOP_HD bool vector_ok(int nd) const { return a.vector_ok(nd); }
  template <bool Vec>
  NEURALOP_HD V<Vec, value_type> eval(index_t j) const {
    return op.f(a.template eval<Vec>(j));
  }
  // Ops with an intermediate shared by value and derivative (gelu's Phi(x), silu's sigmoid)
  // define f_aux/grad_aux and keep it in the cache, so backward computes it once.
  static constexpr bool has_aux = requires(const Op& o, const in_type& x, in_type& aux) { o.f_aux(x, aux); };
  template <bool Vec>
  struct Cache {
    V<Vec, value_type> y;
    typename A::template Cache<Vec> ca;
    [[no_unique_address]] std::conditional_t<has_aux, V<Vec, in_type>, Empty> aux;
  };
  template <bool Vec>
  NEURALOP_HD Cache<Vec> fwd(index_t j) const {
    auto ca = a.template fwd<Vec>(j);
    if constexpr (has_aux) {
      V<Vec, in_type> aux;
      const auto y = op.f_aux(ca.y, aux);
      return {y, ca, aux};
    } else {
      return {op.f(ca.y), ca, {}};
    }
  }
  template <bool Vec>
  NEURALOP_HD void bwd(index_t j, const Cache<Vec>& c, const V<Vec, value_type>& g) {
    if constexpr (A::n_leaves > 0) {
      if constexpr (has_aux) a.template bwd<Vec>(j, c.ca, op.grad_aux(g, c.ca.y, c.y, c.aux));
      else a.template bwd<Vec>(j, c.ca, op.grad(g, c.ca.y, c.y));
    }
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
  NEURALOP_HD void begin_block(index_t blk) {
    a.begin_block(blk);
    b.begin_block(blk);
  }
  NEURALOP_HD void end_block() {
    a.end_block();
    b.end_block();
  }
  NEURALOP_HD void set_row(const index_t* c, int nd) {
    a.set_row(c, nd);
    b.set_row(c, nd);
  }
  NEURALOP_HD bool vector_ok(int nd) const { return a.vector_ok(nd) && b.vector_ok(nd); }
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
  NEURALOP_HD void bwd(index_t j, const Cache<Vec>& c, const V<Vec, value_type>& g) {
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
  NEURALOP_HD bool vector_ok() const { return dst.st[last_dim<Dst<T, N>::NS>(nd)] == 1 && e.vector_ok(nd); }
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
  NEURALOP_HD void begin_block(index_t b) { e.begin_block(b); }
  NEURALOP_HD void end_block() { e.end_block(); }
  NEURALOP_HD void set_row(const index_t* c) {
    adj.set_row(c, nd);
    e.set_row(c, nd);
  }
  NEURALOP_HD bool vector_ok() const { return adj.vector_ok(nd) && e.vector_ok(nd); }
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
