// Elementwise operations with their derivative rules, written once for scalars and SIMD
// packets. Gradients follow PyTorch's convention for complex inputs (conjugate Wirtinger):
// for a holomorphic f, grad_in = grad_out * conj(f'(z)); the others are spelled out.
#pragma once

#include <complex>
#include <type_traits>

#include "neuralop/backend/math.hpp"
#include "neuralop/core/scalar.hpp"

namespace neuralop::fn {

namespace m = neuralop::math;

template <class V>
NEURALOP_HD V c(double v) {
  return m::set1<V>(v);
}

// ---------------------------------------------------------------- binary
struct Add {
  static constexpr const char* name = "add";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& a, const V& b) const { return m::add(a, b); }
  template <class V> NEURALOP_HD V grad_a(const V& g, const V&, const V&, const V&) const { return g; }
  template <class V> NEURALOP_HD V grad_b(const V& g, const V&, const V&, const V&) const { return g; }
};
struct Sub {
  static constexpr const char* name = "sub";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& a, const V& b) const { return m::sub(a, b); }
  template <class V> NEURALOP_HD V grad_a(const V& g, const V&, const V&, const V&) const { return g; }
  template <class V> NEURALOP_HD V grad_b(const V& g, const V&, const V&, const V&) const { return m::neg(g); }
};
struct Mul {
  static constexpr const char* name = "mul";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& a, const V& b) const { return m::mul(a, b); }
  template <class V> NEURALOP_HD V grad_a(const V& g, const V&, const V& b, const V&) const { return m::mul(g, m::conj(b)); }
  template <class V> NEURALOP_HD V grad_b(const V& g, const V& a, const V&, const V&) const { return m::mul(g, m::conj(a)); }
};
struct Div {
  static constexpr const char* name = "div";
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::div;
  template <class V> NEURALOP_HD V f(const V& a, const V& b) const { return m::div(a, b); }
  // d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2 = -y/b
  template <class V> NEURALOP_HD V grad_a(const V& g, const V&, const V& b, const V&) const { return m::div(g, m::conj(b)); }
  template <class V> NEURALOP_HD V grad_b(const V& g, const V&, const V& b, const V& y) const {
    return m::neg(m::mul(g, m::conj(m::div(y, b))));
  }
};
// a^b with a tensor exponent. As PyTorch: the exponent's gradient is 0 where a == 0 and
// Re(b) >= 0, and the base's gradient is 0 where b == 0.
struct Pow {
  static constexpr const char* name = "pow";
  template <class T> static constexpr bool vectorizable = false;
  template <class V> NEURALOP_HD V f(const V& a, const V& b) const { return m::pow(a, b); }
  template <class V> NEURALOP_HD V grad_a(const V& g, const V& a, const V& b, const V&) const {
    if (b == V(0)) return V(0);
    return g * m::conj(b * m::pow(a, b - V(1)));
  }
  template <class V> NEURALOP_HD V grad_b(const V& g, const V& a, const V& b, const V& y) const {
    if constexpr (is_complex_v<V>) {
      if (a == V(0) && b.real() >= 0) return V(0);
    } else {
      if (a == V(0) && b >= 0) return V(0);
    }
    return g * m::conj(y * m::log(a));
  }
};

// 1 where a == b, else 0. Used by reverse rules (max ties); not differentiable itself.
struct EqMask {
  static constexpr const char* name = "eq";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& a, const V& b) const { return m::select(m::eq(a, b), c<V>(1), c<V>(0)); }
  template <class V> NEURALOP_HD V grad_a(const V&, const V&, const V&, const V&) const { return c<V>(0); }
  template <class V> NEURALOP_HD V grad_b(const V&, const V&, const V&, const V&) const { return c<V>(0); }
};

// ---------------------------------------------------------------- unary, same type
template <class Derived>
struct SameType {
  template <class T> using result = T;
};

struct Neg : SameType<Neg> {
  static constexpr const char* name = "neg";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::neg(x); }
  template <class V> NEURALOP_HD V grad(const V& g, const V&, const V&) const { return m::neg(g); }
};
struct Exp : SameType<Exp> {
  static constexpr const char* name = "exp";
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::exp;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::exp(x); }
  template <class V> NEURALOP_HD V grad(const V& g, const V&, const V& y) const { return m::mul(g, m::conj(y)); }
};
struct Log : SameType<Log> {
  static constexpr const char* name = "log";
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::log && m::packet_support<T>::div;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::log(x); }
  template <class V> NEURALOP_HD V grad(const V& g, const V& x, const V&) const { return m::div(g, m::conj(x)); }
};
struct Sqrt : SameType<Sqrt> {
  static constexpr const char* name = "sqrt";
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::sqrt && m::packet_support<T>::div;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::sqrt(x); }
  template <class V> NEURALOP_HD V grad(const V& g, const V&, const V& y) const {
    return m::div(g, m::conj(m::add(y, y)));
  }
};
struct Square : SameType<Square> {
  static constexpr const char* name = "square";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::mul(x, x); }
  template <class V> NEURALOP_HD V grad(const V& g, const V& x, const V&) const { return m::mul(g, m::conj(m::add(x, x))); }
};
// x^p for a scalar exponent; d/dx = p x^(p-1), and 0 when p == 0 (PyTorch).
template <class S>
struct PowScalar : SameType<PowScalar<S>> {
  static constexpr const char* name = "pow";
  template <class T> static constexpr bool vectorizable = false;
  S p;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::pow(x, V(p)); }
  template <class V> NEURALOP_HD V grad(const V& g, const V& x, const V&) const {
    if (p == S(0)) return V(0);
    return g * m::conj(V(p) * m::pow(x, V(p) - V(1)));
  }
};
struct Conj : SameType<Conj> {
  static constexpr const char* name = "conj";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::conj(x); }
  template <class V> NEURALOP_HD V grad(const V& g, const V&, const V&) const { return m::conj(g); }
};

// ---------------------------------------------------------------- real-only activations
struct Tanh : SameType<Tanh> {
  static constexpr const char* name = "tanh";
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::tanh;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::tanh(x); }
  template <class V> NEURALOP_HD V grad(const V& g, const V&, const V& y) const {
    return m::mul(g, m::sub(c<V>(1), m::mul(y, y)));
  }
};
struct Sigmoid : SameType<Sigmoid> {
  static constexpr const char* name = "sigmoid";
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::exp && m::packet_support<T>::div;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::div(c<V>(1), m::add(c<V>(1), m::exp(m::neg(x)))); }
  template <class V> NEURALOP_HD V grad(const V& g, const V&, const V& y) const {
    return m::mul(g, m::mul(y, m::sub(c<V>(1), y)));
  }
};
// relu backward passes the gradient where the output is positive (torch threshold_backward).
struct Relu : SameType<Relu> {
  static constexpr const char* name = "relu";
  template <class T> static constexpr bool vectorizable = true;
  template <class V> NEURALOP_HD V f(const V& x) const { return m::max(x, c<V>(0)); }
  template <class V> NEURALOP_HD V grad(const V& g, const V&, const V& y) const {
    return m::select(m::gt(y, c<V>(0)), g, c<V>(0));
  }
};
// Exact GELU, PyTorch's default: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2));
// d/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
struct Gelu : SameType<Gelu> {
  static constexpr const char* name = "gelu";
  static constexpr double sqrt1_2 = 0.70710678118654752440, inv_sqrt_2pi = 0.39894228040143267794;
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::erf && m::packet_support<T>::exp;
  template <class V> NEURALOP_HD V cdf(const V& x) const {
    return m::mul(c<V>(0.5), m::add(c<V>(1), m::erf(m::mul(x, c<V>(sqrt1_2)))));
  }
  template <class V> NEURALOP_HD V f(const V& x) const { return m::mul(x, cdf(x)); }
  template <class V> NEURALOP_HD V f_aux(const V& x, V& phi) const {
    phi = cdf(x);
    return m::mul(x, phi);
  }
  template <class V> NEURALOP_HD V grad_aux(const V& g, const V& x, const V&, const V& phi) const {
    const V pdf = m::mul(c<V>(inv_sqrt_2pi), m::exp(m::mul(c<V>(-0.5), m::mul(x, x))));
    return m::mul(g, m::add(phi, m::mul(x, pdf)));
  }
};
// SiLU: x sigmoid(x); d/dx = s (1 + x (1 - s)).
struct Silu : SameType<Silu> {
  static constexpr const char* name = "silu";
  template <class T> static constexpr bool vectorizable = m::packet_support<T>::exp && m::packet_support<T>::div;
  template <class V> NEURALOP_HD V sig(const V& x) const { return m::div(c<V>(1), m::add(c<V>(1), m::exp(m::neg(x)))); }
  template <class V> NEURALOP_HD V f(const V& x) const { return m::mul(x, sig(x)); }
  template <class V> NEURALOP_HD V f_aux(const V& x, V& s) const {
    s = sig(x);
    return m::mul(x, s);
  }
  template <class V> NEURALOP_HD V grad_aux(const V& g, const V& x, const V&, const V& s) const {
    return m::mul(g, m::mul(s, m::add(c<V>(1), m::mul(x, m::sub(c<V>(1), s)))));
  }
};
// torch.nn.functional.softplus(x, beta, threshold): log(1 + exp(beta x)) / beta, and x itself
// where beta x > threshold; d/dx = z / (z + 1), z = exp(beta x) (1 past the threshold).
template <class R>
struct Softplus : SameType<Softplus<R>> {
  static constexpr const char* name = "softplus";
  template <class T> static constexpr bool vectorizable =
      m::packet_support<T>::exp && m::packet_support<T>::log1p && m::packet_support<T>::div;
  R beta = 1, threshold = 20;
  template <class V> NEURALOP_HD V f(const V& x) const {
    V z;
    return f_aux(x, z);
  }
  template <class V> NEURALOP_HD V f_aux(const V& x, V& z) const {
    const V bx = m::mul(x, c<V>(beta));
    z = m::exp(bx);
    return m::select(m::gt(bx, c<V>(threshold)), x, m::div(m::log1p(z), c<V>(beta)));
  }
  template <class V> NEURALOP_HD V grad_aux(const V& g, const V& x, const V&, const V& z) const {
    const V bx = m::mul(x, c<V>(beta));
    return m::select(m::gt(bx, c<V>(threshold)), g, m::mul(g, m::div(z, m::add(z, c<V>(1)))));
  }
};

// ---------------------------------------------------------------- complex -> real (or real)
// |x|; grad = g * sgn(x) with sgn(z) = z/|z| (0 at 0), as torch.
struct Abs {
  static constexpr const char* name = "abs";
  template <class T> using result = real_t<T>;
  template <class T> static constexpr bool vectorizable = !is_complex_v<T> && m::packet_support<T>::abs;
  template <class X> NEURALOP_HD auto f(const X& x) const {
    if constexpr (is_complex_v<X>) return m::cabs(x);
    else return m::abs(x);
  }
  template <class X, class G> NEURALOP_HD X grad(const G& g, const X& x, const G& y) const {
    if constexpr (is_complex_v<X>) return y == G(0) ? X(0) : X(g) * x / y;
    else return m::select(m::gt(x, c<X>(0)), g, m::select(m::gt(c<X>(0), x), m::neg(g), c<X>(0)));
  }
};
// |x|^2 (x*conj(x)); grad = 2 g x.
struct Abs2 {
  static constexpr const char* name = "abs2";
  template <class T> using result = real_t<T>;
  template <class T> static constexpr bool vectorizable = !is_complex_v<T>;
  template <class X> NEURALOP_HD auto f(const X& x) const {
    if constexpr (is_complex_v<X>) return std::norm(x);
    else return m::mul(x, x);
  }
  template <class X, class G> NEURALOP_HD X grad(const G& g, const X& x, const G&) const {
    if constexpr (is_complex_v<X>) return X(2 * g) * x;
    else return m::mul(m::add(g, g), x);
  }
};
struct Real {
  static constexpr const char* name = "real";
  template <class T> using result = real_t<T>;
  template <class T> static constexpr bool vectorizable = !is_complex_v<T>;
  template <class X> NEURALOP_HD auto f(const X& x) const {
    if constexpr (is_complex_v<X>) return x.real();
    else return x;
  }
  template <class X, class G> NEURALOP_HD X grad(const G& g, const X&, const G&) const { return X(g); }
};
struct Imag {
  static constexpr const char* name = "imag";
  template <class T> using result = real_t<T>;
  template <class T> static constexpr bool vectorizable = false;
  template <class X> NEURALOP_HD auto f(const X& x) const { return x.imag(); }
  template <class X, class G> NEURALOP_HD X grad(const G& g, const X&, const G&) const { return X(0, g); }
};
// Type conversion (float <-> double, real -> complex); the gradient converts back (taking
// the real part when the input was real).
template <class To>
struct Cast {
  static constexpr const char* name = "cast";
  template <class T> using result = To;
  template <class T> static constexpr bool vectorizable = false;
  template <class X> NEURALOP_HD To f(const X& x) const { return To(x); }
  template <class X> NEURALOP_HD X grad(const To& g, const X&, const To&) const {
    if constexpr (is_complex_v<To> && !is_complex_v<X>) return X(g.real());
    else return X(g);
  }
};

}  // namespace neuralop::fn
