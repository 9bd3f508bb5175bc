// A CPU emulation of the parts of the CUDA runtime that neuralop's cuda backend uses, so that the
// backend and the unchanged CUDA tests compile with the host compiler and run without a GPU
// (docs/cuda.md, "Emulated runs"). A test device, not part of the library: this directory is put
// first on the include path of the emulated build only, where its cuda_runtime.h, cublas_v2.h,
// cufft.h and nccl.h shadow the toolkit's.
//
// What it models: device memory in an arena the host cannot read (PROT_NONE outside emulated
// device work), kernels run on the CPU block by block with the threads of a block as fibers
// (block and warp barriers, warp shuffles), launch configuration errors, stream-ordered work
// that runs late (at the next synchronising call), copies checked against where their pointers
// live, cuBLAS's strided batched GEMM and cuFFT's plans on FFTW, and NCCL over MPI.
#pragma once

#if defined(__CUDACC__)
#error "the CUDA emulator's headers are for the host compiler; nvcc uses the toolkit's"
#endif
#if !defined(NEURALOP_CUDA_EMULATOR)
#error "define NEURALOP_CUDA_EMULATOR on the command line of every file of an emulated build (before any neuralop header)"
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

// ------------------------------------------------------------------ execution-space keywords
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
// Blocks run one after another, so a function-local static is one block's shared memory.
#define __shared__ static
#define __constant__ static

// ------------------------------------------------------------------ vector types
struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) double2 {
  double x, y;
};
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline double2 make_double2(double x, double y) { return double2{x, y}; }

// ------------------------------------------------------------------ built-in variables
// One block's threads run as fibers on one host thread; the scheduler sets these before it
// resumes a thread. All emulated device work runs under one lock, so plain globals suffice.
inline uint3 threadIdx{0, 0, 0};
inline uint3 blockIdx{0, 0, 0};
inline dim3 blockDim{1, 1, 1};
inline dim3 gridDim{1, 1, 1};
inline constexpr int warpSize = 32;

// ------------------------------------------------------------------ runtime types
enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorCudartUnloading = 4,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidPitchValue = 12,
  cudaErrorInvalidHostPointer = 16,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorHostMemoryAlreadyRegistered = 712,
  cudaErrorLaunchFailure = 719,
  cudaErrorUnknown = 999
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

struct CUstream_st;
struct CUevent_st;
typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01
#define cudaHostAllocMapped 0x02
#define cudaHostAllocWriteCombined 0x04

// The fields of the toolkit's cudaDeviceProp that a program is likely to read (a subset: code
// that reads another field does not compile here, which says so).
struct cudaDeviceProp {
  char name[256];
  std::size_t totalGlobalMem;
  std::size_t sharedMemPerBlock;
  int regsPerBlock;
  int warpSize;
  std::size_t memPitch;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  std::size_t totalConstMem;
  int major;
  int minor;
  int multiProcessorCount;
  int maxThreadsPerMultiProcessor;
  std::size_t sharedMemPerMultiprocessor;
  int l2CacheSize;
  int memoryBusWidth;
  int unifiedAddressing;
  int concurrentKernels;
  int asyncEngineCount;
  int pciBusID;
  int pciDeviceID;
};

// ------------------------------------------------------------------ runtime API
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaDeviceReset();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);

cudaError_t cudaMalloc(void** ptr, std::size_t size);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaHostAlloc(void** ptr, std::size_t size, unsigned int flags);
cudaError_t cudaMallocHost(void** ptr, std::size_t size);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total);
template <class T>
cudaError_t cudaMalloc(T** ptr, std::size_t size) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), size);
}
template <class T>
cudaError_t cudaHostAlloc(T** ptr, std::size_t size, unsigned int flags) {
  return cudaHostAlloc(reinterpret_cast<void**>(ptr), size, flags);
}
template <class T>
cudaError_t cudaMallocHost(T** ptr, std::size_t size) {
  return cudaMallocHost(reinterpret_cast<void**>(ptr), size);
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* ptr, int value, std::size_t count);
cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t count, cudaStream_t stream = nullptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags = 0);

cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

// ------------------------------------------------------------------ device intrinsics
namespace neuralop_cuda_emulator {

enum class Shfl : int { idx, up, down, bfly };
void syncthreads();
void syncwarp(unsigned mask);
unsigned long long shuffle_bits(Shfl kind, unsigned mask, unsigned long long bits, int arg, int width);

template <class T>
T shuffle(Shfl kind, unsigned mask, T v, int arg, int width) {
  static_assert(std::is_arithmetic_v<T> && sizeof(T) <= 8, "__shfl_*_sync: a scalar of at most 8 bytes");
  unsigned long long bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = shuffle_bits(kind, mask, bits, arg, width);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

// Correctly rounded operations that must not be contracted into a fused multiply-add (the host
// compiler contracts a * b + c by default where the target has FMA).
template <class T>
T no_contract(T v) {
  volatile T r = v;
  return r;
}

}  // namespace neuralop_cuda_emulator

inline void __syncthreads() { neuralop_cuda_emulator::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { neuralop_cuda_emulator::syncwarp(mask); }
template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  return neuralop_cuda_emulator::shuffle(neuralop_cuda_emulator::Shfl::idx, mask, var, src_lane, width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return neuralop_cuda_emulator::shuffle(neuralop_cuda_emulator::Shfl::up, mask, var, int(delta), width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return neuralop_cuda_emulator::shuffle(neuralop_cuda_emulator::Shfl::down, mask, var, int(delta), width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  return neuralop_cuda_emulator::shuffle(neuralop_cuda_emulator::Shfl::bfly, mask, var, lane_mask, width);
}
inline float __fadd_rn(float a, float b) { return neuralop_cuda_emulator::no_contract(a + b); }
inline float __fsub_rn(float a, float b) { return neuralop_cuda_emulator::no_contract(a - b); }
inline float __fmul_rn(float a, float b) { return neuralop_cuda_emulator::no_contract(a * b); }
inline float __fdiv_rn(float a, float b) { return neuralop_cuda_emulator::no_contract(a / b); }
inline double __dadd_rn(double a, double b) { return neuralop_cuda_emulator::no_contract(a + b); }
inline double __dsub_rn(double a, double b) { return neuralop_cuda_emulator::no_contract(a - b); }
inline double __dmul_rn(double a, double b) { return neuralop_cuda_emulator::no_contract(a * b); }
inline double __ddiv_rn(double a, double b) { return neuralop_cuda_emulator::no_contract(a / b); }

// ------------------------------------------------------------------ kernel launches
namespace neuralop_cuda_emulator {

// One launch's kernel and arguments (copied at launch, as CUDA copies the parameters); each
// emulated thread calls the kernel with its own copies of them.
struct KernelCall {
  virtual ~KernelCall() = default;
  virtual void run_thread() = 0;
};

// Queues the grid on `stream` (or reports a bad configuration through cudaGetLastError, as a
// launch does). `kernel` names it in messages; `pointers` are its pointer arguments, which must
// be null, device or pinned host memory.
// `args` and `arg_bytes`: the copied arguments (padding zeroed; null where an argument is not
// trivially copyable), scanned for host addresses: a kernel object that holds a pointer to host
// memory faults on a GPU when it is dereferenced.
void submit_launch(const void* kernel, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
                   std::unique_ptr<KernelCall> call, const void* const* pointers, int n_pointers, const void* const* args,
                   const std::size_t* arg_bytes, int n_args);

#if defined(__has_builtin)
#if __has_builtin(__builtin_clear_padding)
#define NEURALOP_EMU_CLEAR_PADDING 1
#endif
#endif
// Whether launches scan their arguments for host addresses (GCC 11+: padding can be cleared).
#if defined(NEURALOP_EMU_CLEAR_PADDING)
inline constexpr bool scans_kernel_arguments = true;
#else
inline constexpr bool scans_kernel_arguments = false;
#endif

template <class T>
const void* scannable(T& v) {
#if defined(NEURALOP_EMU_CLEAR_PADDING)
  if constexpr (std::is_trivially_copyable_v<T>) {
    __builtin_clear_padding(&v);  // the scan reads whole words: no stale stack bytes in padding
    return &v;
  } else {
    return nullptr;
  }
#else
  (void)v;  // (a compiler without __builtin_clear_padding: padding could read as addresses; no scan)
  return nullptr;
#endif
}

template <class T>
const void* pointer_argument(const T& v) {
  if constexpr (std::is_pointer_v<T>) return static_cast<const void*>(v);
  else return nullptr;
}

template <class... P>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, std::type_identity_t<P>... args) {
  struct Call final : KernelCall {
    void (*k)(P...);
    std::tuple<std::decay_t<P>...> a;
    Call(void (*kk)(P...), std::decay_t<P>... v) : k(kk), a(std::move(v)...) {}
    void run_thread() override { std::apply(k, a); }  // by-value parameters: a copy per thread
  };
  const void* pointers[sizeof...(P) > 0 ? sizeof...(P) : 1] = {pointer_argument(args)...};
  int n = 0;
  for (std::size_t i = 0; i < sizeof...(P); ++i)
    if (pointers[i]) pointers[n++] = pointers[i];
  auto call = std::make_unique<Call>(kernel, args...);
  const void* arg_ptrs[sizeof...(P) > 0 ? sizeof...(P) : 1] = {};
  std::size_t arg_bytes[sizeof...(P) > 0 ? sizeof...(P) : 1] = {};
  std::apply(
      [&](auto&... e) {
        int i = 0;
        ((arg_ptrs[i] = scannable(e), arg_bytes[i] = sizeof(e), ++i), ...);
      },
      call->a);
  submit_launch(reinterpret_cast<const void*>(kernel), grid, block, smem, stream, std::move(call), pointers, n, arg_ptrs, arg_bytes,
                int(sizeof...(P)));
}

// For the emulator's own tests: whether p lies in emulated device memory.
bool is_device_pointer(const void* p);

}  // namespace neuralop_cuda_emulator
