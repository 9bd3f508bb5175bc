// The shapes of batched row-major GEMMs and of the per-mode contraction, shared by the kernels.
#pragma once

#include "neuralop/core/config.hpp"

namespace neuralop {

// op(X): as stored, transposed, or conjugate-transposed.
enum class Trans { N, T, C };

// C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], all row-major; op(A) is m x k, op(B) k x n.
// A stride of 0 reuses one matrix for every batch entry. C blocks must not overlap.
struct GemmShape {
  index_t batch = 1, m = 1, n = 1, k = 1;
  index_t lda = 0, ldb = 0, ldc = 0;
  index_t stride_a = 0, stride_b = 0, stride_c = 0;
};

// The shape of a batched GEMM on row-major matrices stored without padding: leading
// dimensions follow from m, n, k and the ops; batch strides as given (0: shared matrix).
template <Trans ta, Trans tb>
GemmShape packed_gemm_shape(index_t batch, index_t m, index_t n, index_t k, index_t stride_a, index_t stride_b,
                            index_t stride_c) {
  return {.batch = batch, .m = m, .n = n, .k = k,
          .lda = ta == Trans::N ? k : m, .ldb = tb == Trans::N ? n : k, .ldc = n,
          .stride_a = stride_a, .stride_b = stride_b, .stride_c = stride_c};
}

// Strides in elements of the (row, column) axes of a [rows, cols, m] operand whose last axis m
// has stride 1 (see mode_contract).
struct ModeStrides {
  index_t row = 0, col = 0;
};

}  // namespace neuralop
