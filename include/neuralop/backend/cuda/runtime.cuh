// The CUDA runtime glue of the cuda backend: error checks that throw (naming the call and the
// library's error), the one stream all work is queued on, device properties, the cuBLAS handle.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include <cstddef>
#include <mutex>
#include <type_traits>

#include "neuralop/core/error.hpp"

namespace neuralop::cuda_detail {

inline void check(cudaError_t e, const char* call) {
  if (e != cudaSuccess)
    throw_error<backend_error>("cuda: ", call, " failed: ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
}
inline void check(cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw_error<backend_error>("cuda: ", call, " failed: ", cublasGetStatusName(s), " (", cublasGetStatusString(s), ")");
}
inline const char* cufft_result_name(cufftResult r) {
  switch (r) {
    case CUFFT_SUCCESS: return "CUFFT_SUCCESS";
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
    case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_UNALIGNED_DATA: return "CUFFT_UNALIGNED_DATA";
    case CUFFT_INVALID_DEVICE: return "CUFFT_INVALID_DEVICE";
    case CUFFT_NO_WORKSPACE: return "CUFFT_NO_WORKSPACE";
    case CUFFT_NOT_IMPLEMENTED: return "CUFFT_NOT_IMPLEMENTED";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    // (CUDA 12+ adds codes for its JIT paths; shown by number)
    default: return "unknown cufftResult";
  }
}
inline void check(cufftResult r, const char* call) {
  if (r != CUFFT_SUCCESS) throw_error<backend_error>("cuda: ", call, " failed: ", cufft_result_name(r), " (", int(r), ")");
}
// Every kernel launch of the backend goes through here: `kernel<<<grid, block, smem, s>>>(args...)`
// under nvcc (a launch through a pointer to a __global__ function), or the CPU emulator's grid
// runner in the emulated test build (NEURALOP_CUDA_EMULATOR: tests/cuda/emulator, whose
// cuda_runtime.h provides neuralop_cuda_emulator::launch). The arguments convert to the kernel's
// parameter types as in a direct call. Follow it with check_launch.
template <class... P>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t s, std::type_identity_t<P>... args) {
#if defined(NEURALOP_CUDA_EMULATOR)
  neuralop_cuda_emulator::launch(kernel, grid, block, smem, s, args...);
#else
  kernel<<<grid, block, smem, s>>>(args...);
#endif
}

// After a kernel launch: a bad configuration shows here; faults inside the kernel show at the
// next synchronizing call (copy_to_host, synchronize), which checks them too.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

// The stream of all backend work (created on first use on the then-current device). A blocking
// stream: it also orders with work that other code puts on the legacy default stream.
inline cudaStream_t stream() {
  static cudaStream_t s = [] {
    cudaStream_t st = nullptr;
    check(cudaStreamCreate(&st), "cudaStreamCreate");
    return st;
  }();
  return s;
}

inline const cudaDeviceProp& device_properties() {
  static const cudaDeviceProp p = [] {
    int dev = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
    return prop;
  }();
  return p;
}
inline int sm_count() { return device_properties().multiProcessorCount; }

// One cuBLAS handle for the process, bound to stream(). cuBLAS handles are not safe to use from
// two host threads at once: callers hold cublas_mutex() around their calls.
inline std::mutex& cublas_mutex() {
  static std::mutex m;
  return m;
}
inline cublasHandle_t cublas_handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t handle = nullptr;
    check(cublasCreate(&handle), "cublasCreate");
    check(cublasSetStream(handle, stream()), "cublasSetStream");
    // Full fp32 products (no TF32 tensor cores) unless asked: outputs must match the cpu backend.
    check(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    return handle;
  }();
  return h;
}

// Launch shape of a grid-stride loop over n items: at most `per_sm` blocks per SM.
inline unsigned grid_blocks(long long n, int threads, int per_sm = 8) {
  const long long want = (n + threads - 1) / threads;
  const long long cap = static_cast<long long>(sm_count()) * per_sm;
  return static_cast<unsigned>(want < cap ? (want > 0 ? want : 1) : cap);
}

}  // namespace neuralop::cuda_detail
