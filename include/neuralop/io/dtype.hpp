// File element types (PyTorch's names) and the conversions between them, including the 16-bit
// floats that files hold but tensors do not (float16, bfloat16 convert to float on load).
#pragma once

#include <bit>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>

#include "neuralop/core/error.hpp"
#include "neuralop/core/scalar.hpp"

namespace neuralop::io {

static_assert(std::endian::native == std::endian::little, "neuralop::io assumes a little-endian host");

enum class DType : std::uint8_t {
  float32, float64, float16, bfloat16, int8, int16, int32, int64, uint8, bool_, complex64, complex128
};
inline constexpr DType all_dtypes[] = {DType::float32, DType::float64, DType::float16, DType::bfloat16,
                                       DType::int8,    DType::int16,   DType::int32,   DType::int64,
                                       DType::uint8,   DType::bool_,   DType::complex64, DType::complex128};

// IEEE binary16 and bfloat16 as stored (bit patterns), convertible to and from float.
struct half {
  std::uint16_t bits = 0;
};
struct bfloat16 {
  std::uint16_t bits = 0;
};

inline float to_float(half h) {
  const std::uint32_t sign = std::uint32_t(h.bits & 0x8000u) << 16, exp = (h.bits >> 10) & 0x1fu,
                      man = h.bits & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf, nan (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: man * 2^-24
    const float v = float(man) * 0x1p-24f;
    return sign ? -v : v;
  }
  return std::bit_cast<float>(bits);
}
// Round to nearest even, as torch's float -> half.
inline half to_half(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f), sign = (x >> 16) & 0x8000u;
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return {std::uint16_t(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u))};
  if (ax >= 0x477ff000u) return {std::uint16_t(sign | 0x7c00u)};  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    const float v = std::bit_cast<float>(ax) * 0x1p24f;  // in units of 2^-24, exact scaling
    return {std::uint16_t(sign | std::uint32_t(std::nearbyint(v)))};
  }
  const std::uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u);
  return {std::uint16_t(sign | ((rounded - 0x38000000u) >> 13))};
}
inline float to_float(bfloat16 b) { return std::bit_cast<float>(std::uint32_t(b.bits) << 16); }
inline bfloat16 to_bfloat16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return {std::uint16_t((x >> 16) | 0x40u)};  // quiet nan
  return {std::uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16)};
}

constexpr std::size_t itemsize(DType d) {
  switch (d) {
    case DType::int8: case DType::uint8: case DType::bool_: return 1;
    case DType::float16: case DType::bfloat16: case DType::int16: return 2;
    case DType::float32: case DType::int32: return 4;
    case DType::float64: case DType::int64: case DType::complex64: return 8;
    case DType::complex128: return 16;
  }
  return 0;
}
constexpr bool is_complex_dtype(DType d) { return d == DType::complex64 || d == DType::complex128; }
constexpr bool is_floating(DType d) {
  return d == DType::float32 || d == DType::float64 || d == DType::float16 || d == DType::bfloat16;
}

// PyTorch's names: "float32", "bool", "complex64"...
constexpr std::string_view name(DType d) {
  switch (d) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::float16: return "float16";
    case DType::bfloat16: return "bfloat16";
    case DType::int8: return "int8";
    case DType::int16: return "int16";
    case DType::int32: return "int32";
    case DType::int64: return "int64";
    case DType::uint8: return "uint8";
    case DType::bool_: return "bool";
    case DType::complex64: return "complex64";
    case DType::complex128: return "complex128";
  }
  return "?";
}
inline std::optional<DType> dtype_from_name(std::string_view s) {
  for (DType d : all_dtypes)
    if (name(d) == s) return d;
  return std::nullopt;
}

// The C++ type of each dtype's elements, and back.
template <class T>
struct dtype_of_t;
#define NEURALOP_IO_DTYPE(T, D)                  \
  template <>                                    \
  struct dtype_of_t<T> {                         \
    static constexpr DType value = DType::D;     \
  };
NEURALOP_IO_DTYPE(float, float32)
NEURALOP_IO_DTYPE(double, float64)
NEURALOP_IO_DTYPE(half, float16)
NEURALOP_IO_DTYPE(bfloat16, bfloat16)
NEURALOP_IO_DTYPE(std::int8_t, int8)
NEURALOP_IO_DTYPE(std::int16_t, int16)
NEURALOP_IO_DTYPE(std::int32_t, int32)
NEURALOP_IO_DTYPE(std::int64_t, int64)
NEURALOP_IO_DTYPE(std::uint8_t, uint8)
NEURALOP_IO_DTYPE(bool, bool_)
NEURALOP_IO_DTYPE(std::complex<float>, complex64)
NEURALOP_IO_DTYPE(std::complex<double>, complex128)
#undef NEURALOP_IO_DTYPE
template <class T>
inline constexpr DType dtype_of = dtype_of_t<T>::value;
template <class T>
concept FileScalar = requires { dtype_of_t<T>::value; };

// Calls f.template operator()<T>() with the C++ type of d.
template <class F>
decltype(auto) visit_dtype(DType d, F&& f) {
  switch (d) {
    case DType::float32: return f.template operator()<float>();
    case DType::float64: return f.template operator()<double>();
    case DType::float16: return f.template operator()<half>();
    case DType::bfloat16: return f.template operator()<bfloat16>();
    case DType::int8: return f.template operator()<std::int8_t>();
    case DType::int16: return f.template operator()<std::int16_t>();
    case DType::int32: return f.template operator()<std::int32_t>();
    case DType::int64: return f.template operator()<std::int64_t>();
    case DType::uint8: return f.template operator()<std::uint8_t>();
    case DType::bool_: return f.template operator()<bool>();
    case DType::complex64: return f.template operator()<std::complex<float>>();
    case DType::complex128: return f.template operator()<std::complex<double>>();
  }
  throw_error<io_error>("io: invalid dtype code ", int(d));
}

// Element conversion S -> U with torch's rules (bool is 0/1, nonzero is true). Complex to real is
// refused by the callers (it would drop the imaginary part), so it is not defined here.
template <class U, class S>
U convert_element(const S& s) {
  if constexpr (std::is_same_v<S, half> || std::is_same_v<S, bfloat16>) {
    return convert_element<U>(to_float(s));
  } else if constexpr (std::is_same_v<U, half>) {
    return to_half(convert_element<float>(s));
  } else if constexpr (std::is_same_v<U, bfloat16>) {
    return to_bfloat16(convert_element<float>(s));
  } else if constexpr (std::is_same_v<U, bool>) {
    return s != S(0);
  } else if constexpr (is_complex_v<U>) {
    if constexpr (is_complex_v<S>) return U(typename U::value_type(s.real()), typename U::value_type(s.imag()));
    else return U(typename U::value_type(s), 0);
  } else {
    static_assert(!is_complex_v<S>, "complex to real conversion drops the imaginary part");
    return static_cast<U>(s);
  }
}

}  // namespace neuralop::io
