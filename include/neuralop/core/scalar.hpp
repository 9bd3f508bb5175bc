// Scalar (dtype) traits: the four element types a Tensor may hold and their names.
#pragma once

#include <complex>
#include <concepts>
#include <type_traits>

namespace neuralop {

template <class T>
struct is_complex : std::false_type {};
template <class T>
struct is_complex<std::complex<T>> : std::true_type {};
template <class T>
inline constexpr bool is_complex_v = is_complex<T>::value;

template <class T>
struct real_type {
  using type = T;
};
template <class T>
struct real_type<std::complex<T>> {
  using type = T;
};
template <class T>
using real_t = typename real_type<T>::type;

template <class T>
using complex_t = std::complex<real_t<T>>;

// The element types of tensors: float, double and their complex counterparts.
template <class T>
concept TensorScalar = std::same_as<T, float> || std::same_as<T, double> ||
                       std::same_as<T, std::complex<float>> || std::same_as<T, std::complex<double>>;

// What may stand beside a tensor in an expression (2 * x, x + 1.5f, z * 1i).
template <class S>
concept ScalarLike = std::is_arithmetic_v<S> || is_complex_v<S>;

template <class T>
constexpr const char* dtype_name() {
  if constexpr (std::same_as<T, float>) return "float32";
  else if constexpr (std::same_as<T, double>) return "float64";
  else if constexpr (std::same_as<T, std::complex<float>>) return "complex64";
  else if constexpr (std::same_as<T, std::complex<double>>) return "complex128";
  else return "unknown";
}

}  // namespace neuralop
