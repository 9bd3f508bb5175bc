// Configuration macros shared by every layer: index type, host/device annotations, inlining.
#pragma once

#if __cplusplus < 202002L
#error "neuralop needs C++20: compile with -std=c++20 (CMake: target_link_libraries(... neuralop::neuralop) sets it)"
#endif

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define NEURALOP_HD __host__ __device__
#else
#define NEURALOP_HD
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NEURALOP_INLINE inline __attribute__((always_inline))
#else
#define NEURALOP_INLINE inline
#endif

// Eigen's ThreadPoolDevice is only declared when EIGEN_USE_THREADS is set before the
// first include of the Tensor module; we need it, so set it here (include neuralop first).
#ifndef EIGEN_USE_THREADS
#define EIGEN_USE_THREADS
#endif

namespace neuralop {

// Signed 64-bit indices everywhere: sizes of large 3-D batches exceed 2^31 elements, and
// signed arithmetic keeps reverse loops and differences simple.
using index_t = std::int64_t;

}  // namespace neuralop
