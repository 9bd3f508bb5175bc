// Shared pieces of the CUDA tests: moving tensors between the backends and comparing a cuda
// result with the cpu backend's (relative L2, or bitwise).
#pragma once

#include <neuralop/cuda.hpp>

#include <doctest/doctest.h>

#include <complex>
#include <vector>

#include "../helpers.hpp"

namespace ct {

namespace no = neuralop;

template <class T, std::size_t R>
no::Tensor<T, R, no::cuda> dev(const no::Tensor<T, R>& t) {
  return t.template to<no::cuda>();
}
template <class T, std::size_t R>
no::Tensor<T, R> host(const no::Tensor<T, R, no::cuda>& t) {
  return t.template to<no::cpu>();
}
// Relative L2 distance of a cuda tensor from a cpu tensor of the same shape.
template <class T, std::size_t R>
double rel(const no::Tensor<T, R, no::cuda>& got, const no::Tensor<T, R>& want) {
  REQUIRE(got.shape() == want.shape());
  return test::rel_l2(got.to_vector(), want.to_vector());
}
template <class T, std::size_t R>
bool bitwise_equal(const no::Tensor<T, R, no::cuda>& got, const no::Tensor<T, R>& want) {
  if (got.shape() != want.shape()) return false;
  const auto a = got.to_vector(), b = want.to_vector();
  return std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Uniform values in [-1, 1) on the cpu from a fixed seed.
template <class T, std::size_t R>
no::Tensor<T, R> rand_cpu(const no::Shape<R>& s, std::uint64_t seed) {
  no::Generator g(seed);
  return no::Tensor<T, R>::uniform(s, -1, 1, g);
}

}  // namespace ct
