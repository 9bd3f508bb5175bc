// Sums of float data accumulated in double: what the cpu reducer (backend/cpu/reduce.hpp: sum
// along any axes, and the broadcast gradients summed through it) uses for float and
// complex<float>, so that a sum over many elements is accurate to about float's own rounding
// (PyTorch's cascade sum gets there too) rather than drifting by 1e-5 relative over 2^17 terms
// as a float accumulator does.
//
// The order of the additions is fixed (32 double lanes, lane l taking elements l, l + 32, ...,
// combined in a fixed tree), whatever the instruction set: AVX-512, AVX and plain C++ give
// bitwise the same result, so a cpu sum in a .cu file (no SIMD there) equals the same sum in a
// .cpp file.
#pragma once

#include <complex>

#include "neuralop/core/config.hpp"

#if !defined(__CUDACC__) && (defined(__AVX512F__) || defined(__AVX__))
#include <immintrin.h>
#endif

namespace neuralop::cpu_detail {

// The accumulator type of a sum of T.
template <class T>
struct wide {
  using type = T;
};
template <>
struct wide<float> {
  using type = double;
};
template <>
struct wide<std::complex<float>> {
  using type = std::complex<double>;
};
template <class T>
using wide_t = typename wide<T>::type;

inline constexpr int wide_lanes = 32;

// The sums of p[0..n) at even and at odd positions, in double (for interleaved complex data:
// the real and the imaginary part; a float sum adds the two).
inline void wide_sum_even_odd(const float* p, index_t n, double& even, double& odd) {
  alignas(64) double lane[wide_lanes] = {};
  index_t i = 0;
#if !defined(__CUDACC__) && defined(__AVX512F__)
  {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + wide_lanes <= n; i += wide_lanes) {
      a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(p + i)));
      a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_loadu_ps(p + i + 8)));
      a2 = _mm512_add_pd(a2, _mm512_cvtps_pd(_mm256_loadu_ps(p + i + 16)));
      a3 = _mm512_add_pd(a3, _mm512_cvtps_pd(_mm256_loadu_ps(p + i + 24)));
    }
    _mm512_store_pd(lane, a0);
    _mm512_store_pd(lane + 8, a1);
    _mm512_store_pd(lane + 16, a2);
    _mm512_store_pd(lane + 24, a3);
  }
#elif !defined(__CUDACC__) && defined(__AVX__)
  {
    __m256d a[8];
    for (auto& v : a) v = _mm256_setzero_pd();
    for (; i + wide_lanes <= n; i += wide_lanes)
      for (int k = 0; k < 8; ++k) a[k] = _mm256_add_pd(a[k], _mm256_cvtps_pd(_mm_loadu_ps(p + i + 4 * k)));
    for (int k = 0; k < 8; ++k) _mm256_store_pd(lane + 4 * k, a[k]);
  }
#else
  for (; i + wide_lanes <= n; i += wide_lanes)
    for (int l = 0; l < wide_lanes; ++l) lane[l] += double(p[i + l]);
#endif
  for (int l = 0; i < n; ++i, ++l) lane[l] += double(p[i]);  // the tail, into the same lanes
  // Fixed tree: halve the 32 lanes keeping parity (lane l += lane l + 16, then + 8, + 4, + 2).
  for (int w = wide_lanes / 2; w >= 2; w /= 2)
    for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
  even = lane[0];
  odd = lane[1];
}

// sum of p[0..n) for T = float or complex<float>, in wide_t<T>.
inline double wide_sum(const float* p, index_t n) {
  double e = 0, o = 0;
  wide_sum_even_odd(p, n, e, o);
  return e + o;
}
inline std::complex<double> wide_sum(const std::complex<float>* p, index_t n) {
  double re = 0, im = 0;
  wide_sum_even_odd(reinterpret_cast<const float*>(p), 2 * n, re, im);
  return {re, im};
}

// acc[0..n) += p[0..n), widened.
inline void wide_add_row(double* acc, const float* p, index_t n) {
  index_t i = 0;
#if !defined(__CUDACC__) && defined(__AVX512F__)
  for (; i + 8 <= n; i += 8)
    _mm512_storeu_pd(acc + i, _mm512_add_pd(_mm512_loadu_pd(acc + i), _mm512_cvtps_pd(_mm256_loadu_ps(p + i))));
#elif !defined(__CUDACC__) && defined(__AVX__)
  for (; i + 4 <= n; i += 4)
    _mm256_storeu_pd(acc + i, _mm256_add_pd(_mm256_loadu_pd(acc + i), _mm256_cvtps_pd(_mm_loadu_ps(p + i))));
#endif
  for (; i < n; ++i) acc[i] += double(p[i]);
}
inline void wide_add_row(std::complex<double>* acc, const std::complex<float>* p, index_t n) {
  wide_add_row(reinterpret_cast<double*>(acc), reinterpret_cast<const float*>(p), 2 * n);
}

}  // namespace neuralop::cpu_detail
