// Batched GEMM on cuBLAS for the cuda backend. Our matrices are row-major; cuBLAS's are
// column-major. A row-major m x n matrix with leading dimension ld is the column-major n x m
// matrix (its transpose) with the same ld, so C = op(A) op(B) is computed as
//   C^T = op(B)^T op(A)^T,
// a column-major GEMM of size n x m x k with the operands swapped and each op letter kept:
// op(X)^T is the stored column-major view with N (op N), transposed (op T), or conjugate-
// transposed (op C: op(X)^T = conj(X) = (X^T)^H).
#pragma once

#include <climits>
#include <complex>
#include <mutex>
#include <type_traits>

#include "neuralop/backend/cpu/gemm.hpp"
#include "neuralop/backend/cuda/elementwise.cuh"
#include "neuralop/backend/cuda/runtime.cuh"
#include "neuralop/core/error.hpp"

namespace neuralop::cuda_detail {

template <Trans t>
constexpr cublasOperation_t cublas_op() {
  if constexpr (t == Trans::N) return CUBLAS_OP_N;
  else if constexpr (t == Trans::T) return CUBLAS_OP_T;
  else return CUBLAS_OP_C;
}

template <class T>
__global__ void scale_kernel(T* c, index_t rows, index_t cols, index_t ld, index_t batch, index_t stride, T beta) {
  const index_t total = rows * cols * batch;
  const index_t step = index_t(gridDim.x) * blockDim.x;
  for (index_t t = index_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += step) {
    const index_t b = t / (rows * cols), r = (t / cols) % rows, j = t % cols;
    T& v = c[b * stride + r * ld + j];
    v = beta == T(0) ? T(0) : beta * v;  // beta = 0 overwrites (NaN in C does not survive), as BLAS
  }
}

template <class T, Trans ta, Trans tb>
void gemm(const GemmShape& s, T alpha, const T* A, const T* B, T beta, T* C) {
  if (s.batch <= 0 || s.m <= 0 || s.n <= 0) return;
  if (s.k <= 0) {  // no products: C = beta C (cuBLAS rejects the zero leading dimensions this implies)
    launch(scale_kernel<T>, grid_blocks(s.m * s.n * s.batch, 256), 256, 0, stream(), C, s.m, s.n, s.ldc, s.batch, s.stride_c, beta);
    check_launch("gemm (k = 0) scale kernel");
    return;
  }
  const auto fits = [](index_t v) { return v >= 0 && v <= INT_MAX; };
  if (!fits(s.m) || !fits(s.n) || !fits(s.k) || !fits(s.lda) || !fits(s.ldb) || !fits(s.ldc) || !fits(s.batch))
    throw_error<value_error>("gemm: sizes m=", s.m, " n=", s.n, " k=", s.k, " lda=", s.lda, " ldb=", s.ldb, " ldc=", s.ldc,
                             " batch=", s.batch, " exceed cuBLAS's int range");
  const int m = int(s.n), n = int(s.m), k = int(s.k);  // the column-major problem C^T = op(B)^T op(A)^T
  const cublasOperation_t opa = cublas_op<tb>(), opb = cublas_op<ta>();
  const int lda = int(s.ldb), ldb = int(s.lda), ldc = int(s.ldc);
  const long long sa = s.stride_b, sb = s.stride_a, sc = s.stride_c;
  const int batch = int(s.batch);
  std::lock_guard lock(cublas_mutex());
  cublasHandle_t h = cublas_handle();
  if constexpr (std::is_same_v<T, float>) {
    check(cublasSgemmStridedBatched(h, opa, opb, m, n, k, &alpha, B, lda, sa, A, ldb, sb, &beta, C, ldc, sc, batch),
          "cublasSgemmStridedBatched");
  } else if constexpr (std::is_same_v<T, double>) {
    check(cublasDgemmStridedBatched(h, opa, opb, m, n, k, &alpha, B, lda, sa, A, ldb, sb, &beta, C, ldc, sc, batch),
          "cublasDgemmStridedBatched");
  } else if constexpr (std::is_same_v<T, std::complex<float>>) {
    check(cublasCgemmStridedBatched(h, opa, opb, m, n, k, reinterpret_cast<const cuComplex*>(&alpha),
                                    reinterpret_cast<const cuComplex*>(B), lda, sa, reinterpret_cast<const cuComplex*>(A),
                                    ldb, sb, reinterpret_cast<const cuComplex*>(&beta), reinterpret_cast<cuComplex*>(C),
                                    ldc, sc, batch),
          "cublasCgemmStridedBatched");
  } else if constexpr (std::is_same_v<T, std::complex<double>>) {
    check(cublasZgemmStridedBatched(h, opa, opb, m, n, k, reinterpret_cast<const cuDoubleComplex*>(&alpha),
                                    reinterpret_cast<const cuDoubleComplex*>(B), lda, sa,
                                    reinterpret_cast<const cuDoubleComplex*>(A), ldb, sb,
                                    reinterpret_cast<const cuDoubleComplex*>(&beta), reinterpret_cast<cuDoubleComplex*>(C),
                                    ldc, sc, batch),
          "cublasZgemmStridedBatched");
  } else {
    static_assert(sizeof(T) == 0, "cuda gemm: float, double, complex<float> or complex<double>");
  }
}

}  // namespace neuralop::cuda_detail
