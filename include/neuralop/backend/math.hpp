// Element math for expression kernels: one spelling for scalars (every backend, host and
// device) and for Eigen SIMD packets (cpu host code), so each derivative rule is written once.
#pragma once

#include <cmath>
#include <complex>
#include <limits>
#include <type_traits>

#include "neuralop/core/config.hpp"
#include "neuralop/core/scalar.hpp"

#if !defined(__CUDA_ARCH__)
#include <unsupported/Eigen/CXX11/Tensor>
#include <unsupported/Eigen/SpecialFunctions>
#endif
// No packets anywhere in an nvcc translation unit, host pass included: kernel objects (their
// Leaf accumulators hold a packet_t) cross from the host pass to the device pass by value, so
// their layout must be the same in both; cpu code in a .cu file takes the scalar paths.
#if !defined(__CUDACC__)
#define NEURALOP_HAVE_PACKETS 1
#else
#define NEURALOP_HAVE_PACKETS 0
#endif

// Packet types (__m256...) carry vector attributes that g++ warns about when they are template
// arguments; the warning is about the attribute, which we rely on nowhere.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace neuralop::math {

// ---------------------------------------------------------------- scalars (all backends)
template <class T>
concept Scalar = std::is_arithmetic_v<T> || is_complex_v<T>;

template <class V, class S>
  requires Scalar<V>
NEURALOP_HD V set1(S s) {
  return V(s);
}

template <Scalar V> NEURALOP_HD V add(V a, V b) { return a + b; }
template <Scalar V> NEURALOP_HD V sub(V a, V b) { return a - b; }
template <Scalar V> NEURALOP_HD V mul(V a, V b) { return a * b; }
template <Scalar V> NEURALOP_HD V div(V a, V b) { return a / b; }
template <Scalar V> NEURALOP_HD V neg(V a) { return -a; }
template <Scalar V> NEURALOP_HD V conj(V a) {
  if constexpr (is_complex_v<V>) return std::conj(a);
  else return a;
}
#if defined(__CUDA_ARCH__)
// libstdc++'s complex exp, log and sqrt are host functions: device versions with the same
// principal branches.
namespace device {
template <class C>
__device__ C cexp(C z) {
  const auto m = std::exp(z.real());
  return C(m * std::cos(z.imag()), m * std::sin(z.imag()));
}
template <class C>
__device__ C clog(C z) {
  return C(std::log(::hypot(z.real(), z.imag())), ::atan2(z.imag(), z.real()));
}
template <class C>
__device__ C csqrt(C z) {
  using R = typename C::value_type;
  const R x = z.real(), y = z.imag();
  if (x == R(0) && y == R(0)) return C(R(0), y);
  const R t = std::sqrt((::hypot(x, y) + ::fabs(x)) / R(2));
  if (x >= R(0)) return C(t, y / (R(2) * t));
  return C(::fabs(y) / (R(2) * t), ::copysign(t, y));
}
}  // namespace device
#define NEURALOP_DEVICE_COMPLEX(fn) \
  if constexpr (is_complex_v<V>) return device::c##fn(a); else
#else
#define NEURALOP_DEVICE_COMPLEX(fn)
#endif
template <Scalar V> NEURALOP_HD V exp(V a) { NEURALOP_DEVICE_COMPLEX(exp) return std::exp(a); }
template <Scalar V> NEURALOP_HD V log(V a) { NEURALOP_DEVICE_COMPLEX(log) return std::log(a); }
template <Scalar V> NEURALOP_HD V sqrt(V a) { NEURALOP_DEVICE_COMPLEX(sqrt) return std::sqrt(a); }
#undef NEURALOP_DEVICE_COMPLEX
template <Scalar V> NEURALOP_HD V tanh(V a) { return std::tanh(a); }
template <Scalar V> NEURALOP_HD V log1p(V a) { return std::log1p(a); }
template <Scalar V>
  requires(!is_complex_v<V>)
NEURALOP_HD V abs(V a) {
  return std::abs(a);
}
// |z| of a complex z (std::abs on the host; libstdc++'s is a host function, so hypot on the device).
template <Scalar V>
  requires is_complex_v<V>
NEURALOP_HD auto cabs(V z) {
#if defined(__CUDA_ARCH__)
  return ::hypot(z.real(), z.imag());
#else
  return std::abs(z);
#endif
}
template <Scalar V> NEURALOP_HD V max(V a, V b) { return a < b ? b : a; }
template <Scalar V> NEURALOP_HD V erf(V a) {
#if NEURALOP_HAVE_PACKETS
  // Same rational approximation as the packet path (few-ulp accurate), so an element's value
  // does not depend on whether it fell in a vector body or a scalar tail.
  if constexpr (std::is_same_v<V, float>) return Eigen::internal::generic_fast_erf_float(a);
  else
#endif
    return std::erf(a);
}
template <Scalar V> NEURALOP_HD V pow(V a, V b) { return std::pow(a, b); }

template <Scalar V> NEURALOP_HD V hsum(V a) { return a; }
template <Scalar V> NEURALOP_HD V load(const V* p) { return *p; }
template <Scalar V> NEURALOP_HD void store(V* p, V v) { *p = v; }

// Comparison masks and selection: mask ? a : b.
template <Scalar V> NEURALOP_HD bool gt(V a, V b) { return a > b; }
template <Scalar V> NEURALOP_HD bool eq(V a, V b) { return a == b; }
NEURALOP_HD inline bool lor(bool a, bool b) { return a || b; }
template <Scalar V> NEURALOP_HD V select(bool m, V a, V b) { return m ? a : b; }

// ---------------------------------------------------------------- SIMD packets (cpu host)
template <class T>
struct packet_of {
  using type = T;  // no packet: the scalar itself
  static constexpr int size = 1;
};

#if NEURALOP_HAVE_PACKETS
namespace ei = Eigen::internal;

template <class T>
  requires(std::is_same_v<T, float> || std::is_same_v<T, double>)
struct packet_of<T> {
  using type = typename ei::packet_traits<T>::type;
  static constexpr int size = ei::unpacket_traits<type>::size;
};

template <class P>
concept Packet = !Scalar<P> && requires { typename ei::unpacket_traits<P>::type; };

template <class V, class S>
  requires Packet<V>
V set1(S s) {
  return ei::pset1<V>(typename ei::unpacket_traits<V>::type(s));
}
template <Packet V> V add(const V& a, const V& b) { return ei::padd(a, b); }
template <Packet V> V sub(const V& a, const V& b) { return ei::psub(a, b); }
template <Packet V> V mul(const V& a, const V& b) { return ei::pmul(a, b); }
template <Packet V> V div(const V& a, const V& b) { return ei::pdiv(a, b); }
template <Packet V> V neg(const V& a) { return ei::pnegate(a); }
template <Packet V> V conj(const V& a) { return a; }
// exp for float packets: Cephes' expf (degree-5 polynomial on [-ln2/2, ln2/2], ~1 ulp) with
// 2^n built directly in the exponent bits. Eigen 3.4's pexp goes through a general pldexp
// that costs three times as much. Below -87.3 the result flushes to 0 (instead of denormals);
// above 88.7 it is +inf; NaN passes through.
template <class V>
V exp_float_packet(const V& x_in) {
  using VI = typename ei::unpacket_traits<V>::integer_packet;
  const V hi = ei::pset1<V>(88.3762626647949f), lo = ei::pset1<V>(-87.3365447504019f);
  const V x = ei::pmax(ei::pmin(x_in, hi), lo);
  const V fx = ei::pfloor(ei::pmadd(x, ei::pset1<V>(1.44269504088896341f), ei::pset1<V>(0.5f)));
  V r = ei::psub(x, ei::pmul(fx, ei::pset1<V>(0.693359375f)));
  r = ei::psub(r, ei::pmul(fx, ei::pset1<V>(-2.12194440e-4f)));
  const V r2 = ei::pmul(r, r);
  V y = ei::pset1<V>(1.9875691500e-4f);
  y = ei::pmadd(y, r, ei::pset1<V>(1.3981999507e-3f));
  y = ei::pmadd(y, r, ei::pset1<V>(8.3334519073e-3f));
  y = ei::pmadd(y, r, ei::pset1<V>(4.1665795894e-2f));
  y = ei::pmadd(y, r, ei::pset1<V>(1.6666665459e-1f));
  y = ei::pmadd(y, r, ei::pset1<V>(5.0000001201e-1f));
  y = ei::padd(ei::pmadd(y, r2, r), ei::pset1<V>(1.f));
  VI e = ei::pcast<V, VI>(fx);
  e = ei::plogical_shift_left<23>(ei::padd(e, ei::pset1<VI>(127)));
  V out = ei::pmul(y, ei::preinterpret<V>(e));
  out = ei::pselect(ei::pcmp_lt(x_in, lo), ei::pzero(x), out);
  out = ei::pselect(ei::pcmp_lt(ei::pset1<V>(88.72283905206835f), x_in), ei::pset1<V>(std::numeric_limits<float>::infinity()), out);
  return ei::pselect(ei::pcmp_eq(x_in, x_in), out, x_in);
}
template <Packet V> V exp(const V& a) {
  if constexpr (std::is_same_v<typename ei::unpacket_traits<V>::type, float>) return exp_float_packet(a);
  else return ei::pexp(a);
}
template <Packet V> V log(const V& a) { return ei::plog(a); }
template <Packet V> V sqrt(const V& a) { return ei::psqrt(a); }
template <Packet V> V tanh(const V& a) { return ei::ptanh(a); }
template <Packet V> V log1p(const V& a) { return ei::plog1p(a); }
template <Packet V> V abs(const V& a) { return ei::pabs(a); }
template <Packet V> V max(const V& a, const V& b) { return ei::pmax<Eigen::PropagateNaN>(a, b); }
template <Packet V> V erf(const V& a) { return ei::perf(a); }
template <Packet V> V gt(const V& a, const V& b) { return ei::pcmp_lt(b, a); }
template <Packet V> V eq(const V& a, const V& b) { return ei::pcmp_eq(a, b); }
template <Packet V> V lor(const V& a, const V& b) { return ei::por(a, b); }
template <Packet V> V select(const V& m, const V& a, const V& b) { return ei::pselect(m, a, b); }

template <Packet V> auto hsum(const V& a) { return ei::predux(a); }
template <Packet V> V load(const typename ei::unpacket_traits<V>::type* p) { return ei::ploadu<V>(p); }
template <Packet V> void store(typename ei::unpacket_traits<V>::type* p, const V& v) { ei::pstoreu(p, v); }

// Which functions have a packet implementation for T (Eigen decides per ISA).
template <class T>
struct packet_support {
  using tr = ei::packet_traits<T>;
  static constexpr bool any = tr::Vectorizable && packet_of<T>::size > 1;
  static constexpr bool exp = any && tr::HasExp, log = any && tr::HasLog, sqrt = any && tr::HasSqrt;
  static constexpr bool tanh = any && tr::HasTanh, erf = any && tr::HasErf, log1p = any && tr::HasLog1p;
  static constexpr bool div = any && tr::HasDiv, abs = any && tr::HasAbs;
};
#else
template <class T>
struct packet_support {
  static constexpr bool any = false, exp = false, log = false, sqrt = false, tanh = false, erf = false,
                        log1p = false, div = false, abs = false;
};
#endif

template <class T>
using packet_t = typename packet_of<T>::type;

}  // namespace neuralop::math

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
