// The CUDA emulator's cuBLAS: handles and ?gemm / ?gemmStridedBatched on the CPU, literally as
// the cuBLAS documentation defines them: column-major matrices,
//   C_i = alpha op(A_i) op(B_i) + beta C_i,  X_i = X + i * strideX,  element (r, c) of X at X[r + c * ldX],
// op N (X), T (X^T), C (X^H); A is m x k after op, B k x n, C m x n; beta == 0 does not read C.
// Argument checks return CUBLAS_STATUS_INVALID_VALUE where cuBLAS does; matrices outside device
// memory, or batches whose C matrices overlap (a race on a GPU), stop the program with a message.
#include <algorithm>
#include <complex>
#include <cstring>
#include <cstdio>
#include <set>

#include "cublas_v2.h"
#include "internal.hpp"

namespace emu = neuralop_cuda_emulator::detail;

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

namespace {

std::set<cublasContext*>& handles() {
  static auto* s = new std::set<cublasContext*>();
  return *s;
}
bool valid(cublasHandle_t h) {
  std::lock_guard g(emu::lock());
  return h && handles().count(h);
}

template <class T> struct Scalar { using type = T; using acc = double; };
template <> struct Scalar<cuComplex> { using type = std::complex<float>; using acc = std::complex<double>; };
template <> struct Scalar<cuDoubleComplex> { using type = std::complex<double>; using acc = std::complex<double>; };

// TF32 (CUBLAS_TF32_TENSOR_OP_MATH): float inputs rounded to 10 explicit mantissa bits, to
// nearest even, as the tensor cores read them.
float tf32(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x0fffu + ((u >> 13) & 1u)) & ~0x1fffu;
  std::memcpy(&v, &u, 4);
  return v;
}
template <class S>
S round_input(S v, bool reduce) {
  if constexpr (std::is_same_v<S, float>) return reduce ? tf32(v) : v;
  else if constexpr (std::is_same_v<S, std::complex<float>>) return reduce ? S(tf32(v.real()), tf32(v.imag())) : v;
  else return v;
}

// The elements of a batch of rows x cols matrices: [lo, hi) relative to X, in elements.
void check_operand(const char* fn, const char* name, const void* X, std::size_t elem, long long rows, long long cols, long long ld,
                   long long stride, long long batch) {
  if (rows <= 0 || cols <= 0 || batch <= 0) return;
  const long long last = (cols - 1) * ld + (rows - 1);
  const long long lo = std::min(0LL, (batch - 1) * stride), hi = std::max(last, (batch - 1) * stride + last) + 1;
  const char* base = static_cast<const char*>(X) + lo * static_cast<long long>(elem);
  if (!X || !emu::in_arena(X) || !emu::device_range(base, std::size_t(hi - lo) * elem))
    emu::fatal("%s: matrix %s (%lld x %lld, ld %lld, stride %lld, %lld batches: elements [%lld, %lld)) is not inside one device "
               "allocation: it starts at %s (an illegal address on a GPU)",
               fn, name, rows, cols, ld, stride, batch, lo, hi, emu::describe(X).c_str());
}

template <class T>
cublasStatus_t gemm(const char* fn, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* alpha,
                    const T* A, int lda, long long sA, const T* B, int ldb, long long sB, const T* beta, T* C, int ldc, long long sC,
                    int batch) {
  using S = typename Scalar<T>::type;
  using Acc = typename Scalar<T>::acc;
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  const auto op_ok = [](cublasOperation_t o) { return o == CUBLAS_OP_N || o == CUBLAS_OP_T || o == CUBLAS_OP_C; };
  if (!op_ok(ta) || !op_ok(tb) || m < 0 || n < 0 || k < 0 || batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max(1, ta == CUBLAS_OP_N ? m : k) || ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  std::lock_guard g(emu::lock());
  emu::Stream* stream = emu::stream_of(h->stream);
  if (!stream) emu::fatal("%s: the handle's stream was destroyed", fn);
  // Host pointer mode: alpha and beta are read now, from host memory.
  const bool device_scalars = h->pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
  S a{}, b{};
  if (!device_scalars) {
    if (emu::in_arena(alpha) || emu::in_arena(beta))
      emu::fatal("%s: alpha or beta is a device pointer but the handle's pointer mode is CUBLAS_POINTER_MODE_HOST", fn);
    std::memcpy(static_cast<void*>(&a), alpha, sizeof(S));
    std::memcpy(static_cast<void*>(&b), beta, sizeof(S));
  } else if (!emu::device_range(alpha, sizeof(S)) || !emu::device_range(beta, sizeof(S))) {
    emu::fatal("%s: alpha or beta is not device memory but the handle's pointer mode is CUBLAS_POINTER_MODE_DEVICE", fn);
  }
  const long long ra = ta == CUBLAS_OP_N ? m : k, ca = ta == CUBLAS_OP_N ? k : m;
  const long long rb = tb == CUBLAS_OP_N ? k : n, cb = tb == CUBLAS_OP_N ? n : k;
  // Operands that will be read (A and B: k > 0 and alpha may be nonzero), and C.
  if (k > 0) {
    check_operand(fn, "A", A, sizeof(T), ra, ca, lda, sA, batch);
    check_operand(fn, "B", B, sizeof(T), rb, cb, ldb, sB, batch);
  }
  check_operand(fn, "C", C, sizeof(T), m, n, ldc, sC, batch);
  if (batch > 1) {
    const long long span = (long long)(n - 1) * ldc + m;
    if (sC >= 0 ? sC < span : -sC < span)
      emu::fatal("%s: the C matrices of different batches overlap (m %d, n %d, ldc %d, strideC %lld, %d batches): their updates "
                 "race on a GPU",
                 fn, m, n, ldc, sC, batch);
  }
  const bool reduce = (std::is_same_v<S, float> || std::is_same_v<S, std::complex<float>>) && h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  emu::enqueue(stream, fn, [=] {
    S al = a, be = b;
    if (device_scalars) {
      std::memcpy(static_cast<void*>(&al), alpha, sizeof(S));
      std::memcpy(static_cast<void*>(&be), beta, sizeof(S));
    }
    const S* pa = reinterpret_cast<const S*>(A);
    const S* pb = reinterpret_cast<const S*>(B);
    S* pc = reinterpret_cast<S*>(C);
    const auto op = [](cublasOperation_t o, const S* X, long long ld, long long r, long long c) -> S {
      if (o == CUBLAS_OP_N) return X[r + c * ld];
      if (o == CUBLAS_OP_T) return X[c + r * ld];
      if constexpr (std::is_same_v<S, float> || std::is_same_v<S, double>) return X[c + r * ld];
      else return std::conj(X[c + r * ld]);
    };
    for (long long i = 0; i < batch; ++i) {
      const S* Ai = pa + i * sA;
      const S* Bi = pb + i * sB;
      S* Ci = pc + i * sC;
      for (long long c = 0; c < n; ++c)
        for (long long r = 0; r < m; ++r) {
          Acc acc{};
          if (al != S(0))
            for (long long l = 0; l < k; ++l)
              acc += Acc(round_input(op(ta, Ai, lda, r, l), reduce)) * Acc(round_input(op(tb, Bi, ldb, l, c), reduce));
          S& out = Ci[r + c * (long long)ldc];
          const Acc v = Acc(al) * acc;
          out = be == S(0) ? S(v) : S(v + Acc(be) * Acc(out));
        }
    }
  });
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  std::lock_guard g(emu::lock());
  *handle = new cublasContext();
  handles().insert(*handle);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  std::lock_guard g(emu::lock());
  emu::synchronize_all();
  handles().erase(h);
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!emu::stream_of(s)) return CUBLAS_STATUS_INVALID_VALUE;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t* s) {
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!s) return CUBLAS_STATUS_INVALID_VALUE;
  *s = h->stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  const int base = int(mode) & ~int(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
  if (base < 0 || base > 3) return CUBLAS_STATUS_INVALID_VALUE;
  h->math = cublasMath_t(base);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetMathMode(cublasHandle_t h, cublasMath_t* mode) {
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = h->math;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t mode) {
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE) return CUBLAS_STATUS_INVALID_VALUE;
  h->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetPointerMode(cublasHandle_t h, cublasPointerMode_t* mode) {
  if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = h->pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
#define NAME(x) \
  case x: return #x;
    NAME(CUBLAS_STATUS_SUCCESS)
    NAME(CUBLAS_STATUS_NOT_INITIALIZED)
    NAME(CUBLAS_STATUS_ALLOC_FAILED)
    NAME(CUBLAS_STATUS_INVALID_VALUE)
    NAME(CUBLAS_STATUS_ARCH_MISMATCH)
    NAME(CUBLAS_STATUS_MAPPING_ERROR)
    NAME(CUBLAS_STATUS_EXECUTION_FAILED)
    NAME(CUBLAS_STATUS_INTERNAL_ERROR)
    NAME(CUBLAS_STATUS_NOT_SUPPORTED)
    NAME(CUBLAS_STATUS_LICENSE_ERROR)
#undef NAME
  }
  return "CUBLAS_STATUS_UNKNOWN";
}
const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "error detected trying to check the license";
  }
  return "unknown error";
}

#define NEURALOP_EMU_GEMM(name, T)                                                                                                    \
  cublasStatus_t name##gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* alpha,        \
                            const T* A, int lda, const T* B, int ldb, const T* beta, T* C, int ldc) {                                \
    return gemm<T>(#name "gemm", h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);                              \
  }                                                                                                                                  \
  cublasStatus_t name##gemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,         \
                                          const T* alpha, const T* A, int lda, long long int sA, const T* B, int ldb,                \
                                          long long int sB, const T* beta, T* C, int ldc, long long int sC, int batch) {             \
    return gemm<T>(#name "gemmStridedBatched", h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);          \
  }
NEURALOP_EMU_GEMM(cublasS, float)
NEURALOP_EMU_GEMM(cublasD, double)
NEURALOP_EMU_GEMM(cublasC, cuComplex)
NEURALOP_EMU_GEMM(cublasZ, cuDoubleComplex)
#undef NEURALOP_EMU_GEMM
