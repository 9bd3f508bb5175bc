// The backend contract: the static primitives every backend policy provides. Everything above
// backend/ is written against this set only; each policy static_asserts that it satisfies it.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "neuralop/backend/cpu/fft.hpp"
#include "neuralop/backend/cpu/gemm.hpp"
#include "neuralop/backend/cpu/reduce.hpp"
#include "neuralop/backend/loop.hpp"
#include "neuralop/core/config.hpp"
#include "neuralop/core/rng.hpp"

namespace neuralop {

namespace detail {
// A do-nothing kernel, to check that a backend can launch elementwise work.
struct NullKernel {
  static constexpr int packet_width = 1;
  void set_row(const index_t*) {}
  template <bool Vec>
  void step(index_t) {}
  bool vector_ok() const { return false; }
};
}  // namespace detail

template <class B>
concept Backend = requires(float* f, const float* cf, double* d, std::size_t n, index_t i, const index_t* shape,
                           const bool* mask, const Loop<4>& loop, const GemmShape& gs, std::uint64_t u) {
  { B::name } -> std::convertible_to<const char*>;
  { B::host_accessible } -> std::convertible_to<bool>;
  // memory
  { B::template allocate<float>(n) } -> std::same_as<float*>;
  B::template deallocate<float>(f, n);
  B::template copy<float>(f, cf, n);
  B::template copy_to_host<float>(f, cf, n);
  B::template copy_from_host<float>(f, cf, n);
  B::template fill<float>(f, n, 1.f);
  B::synchronize();
  // elementwise kernels over a coalesced loop
  { B::elementwise_blocks(i) } -> std::convertible_to<index_t>;
  B::elementwise(loop, detail::NullKernel{});
  // reductions, GEMM, random fills
  B::template reduce<float>(ReduceOp::sum, cf, shape, mask, 4, f);
  B::template gemm<float, Trans::N, Trans::T>(gs, 1.f, cf, cf, 0.f, f);
  B::template fft<float>(FftKind::r2c, i, std::span<const index_t>(shape, 2), i, cf, f);
  B::template fill_random<Distribution::normal, double>(d, i, u, u, 0.0, 1.0);
};

}  // namespace neuralop
