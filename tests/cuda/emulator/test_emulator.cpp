// Tests of the CUDA emulator itself: that it catches what a GPU would not forgive (host reads of
// device memory, copies whose kind does not match their pointers, bad launch configurations,
// divergent barriers, kernels given host pointers, out-of-bounds device accesses, overlapping
// cuBLAS outputs), that queued work runs late as a GPU's may, and that barriers, shuffles,
// cuBLAS and cuFFT follow CUDA's documented semantics.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>


#include <cmath>
#include <complex>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "neuralop/backend/cuda/runtime.cuh"

namespace {

namespace cd = neuralop::cuda_detail;

// Runs f in a child process; returns what it wrote to stderr, and whether it died by a signal.
struct Death {
  bool signalled = false;
  int signal = 0;
  std::string err;
};
Death run_child(const std::function<void()>& f) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // the child: no test framework's reports, only the emulator's
    close(fds[0]);
    dup2(fds[1], 2);
    if (FILE* null = std::freopen("/dev/null", "w", stdout); !null) _exit(2);
    f();
    _exit(0);
  }
  close(fds[1]);
  Death d;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) d.err.append(buf, std::size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  d.signalled = WIFSIGNALED(status);
  d.signal = d.signalled ? WTERMSIG(status) : 0;
  return d;
}

float* device_floats(std::size_t n) {
  float* p = nullptr;
  REQUIRE(cudaMalloc(&p, n * sizeof(float)) == cudaSuccess);
  return p;
}

}  // namespace

// (Not in an anonymous namespace: the emulator names kernels from the dynamic symbol table.)
namespace emulator_test {

__global__ void iota_kernel(float* p, int n) {
  for (int i = int(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += int(gridDim.x * blockDim.x)) p[i] = float(i);
}

// A block sum: per-warp shuffles, partial sums in shared memory, __syncthreads, then warp 0.
__global__ void block_sum_kernel(const float* in, float* out, int n) {
  __shared__ float warp_sums[32];
  float v = 0;
  for (int i = int(threadIdx.x); i < n; i += int(blockDim.x)) v += in[i];
  for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, unsigned(d));
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.f;
    for (int d = 16; d > 0; d /= 2) v += __shfl_xor_sync(0xffffffffu, v, d);
    if (threadIdx.x == 0) out[blockIdx.x] = v;
  }
}

// Each lane records what the four shuffles give it (width 8 for up and idx).
__global__ void shuffle_kernel(int* out) {
  const int lane = int(threadIdx.x);
  out[lane * 4 + 0] = __shfl_down_sync(0xffffffffu, lane, 3u);
  out[lane * 4 + 1] = __shfl_up_sync(0xffffffffu, lane, 2u, 8);
  out[lane * 4 + 2] = __shfl_xor_sync(0xffffffffu, lane, 5);
  out[lane * 4 + 3] = __shfl_sync(0xffffffffu, lane, 13, 8);
}

__global__ void early_return_kernel(float* p) {
  if (threadIdx.x >= 10) return;
  __syncthreads();
  p[threadIdx.x] = 1;
}
__global__ void divergent_shuffle_kernel(float* p) {
  float v = p[threadIdx.x];
  if (threadIdx.x % 2 == 0) v = __shfl_down_sync(0xffffffffu, v, 1u);
  p[threadIdx.x] = v;
}
struct HoldsPointer {
  const float* data;
  int n;
  bool flag;  // padding after it: must not read as a host address
};
__global__ void struct_kernel(HoldsPointer h, float* out) {
  if (threadIdx.x < unsigned(h.n)) out[threadIdx.x] = h.data[threadIdx.x];
}
__global__ void out_of_bounds_kernel(float* p, int n) {
  if (threadIdx.x == 0) p[n + 1024] = 1;  // past the allocation's last page
}

}  // namespace emulator_test
using namespace emulator_test;

TEST_CASE("emulator: the device is the emulator, with 4 SMs and warps of 32") {
  int n = 0;
  REQUIRE(cudaGetDeviceCount(&n) == cudaSuccess);
  CHECK(n == 1);
  cudaDeviceProp p{};
  REQUIRE(cudaGetDeviceProperties(&p, 0) == cudaSuccess);
  CHECK(std::string(p.name).find("emulator") != std::string::npos);
  CHECK(p.multiProcessorCount == 4);
  CHECK(p.warpSize == 32);
  CHECK(cudaSetDevice(1) == cudaErrorInvalidDevice);
  CHECK(cudaGetLastError() == cudaErrorInvalidDevice);
  CHECK(cudaGetLastError() == cudaSuccess);
}

TEST_CASE("emulator: a host read of device memory dies with a message") {
  float* d = device_floats(16);
  const Death r = run_child([&] {
    volatile float x = d[3];
    (void)x;
  });
  CHECK(r.signalled);
  CHECK(r.signal == SIGSEGV);
  CHECK(r.err.find("host access to emulated device memory") != std::string::npos);
  cudaFree(d);
}

TEST_CASE("emulator: copies are checked against where their pointers live") {
  std::vector<float> h(64, 1.f);
  float* d = device_floats(64);
  CHECK(cudaMemcpy(d, h.data(), 256, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaMemcpy(h.data(), d, 256, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);  // kind reversed
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(d, h.data(), 256, cudaMemcpyDeviceToDevice) == cudaErrorInvalidValue);  // a host source
  CHECK(cudaMemcpy(h.data(), d, 256, cudaMemcpyHostToHost) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(d, h.data(), 256 + 4096 * 2, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);  // past the allocation
  CHECK(cudaMemcpy(d, h.data(), 256, cudaMemcpyKind(7)) == cudaErrorInvalidMemcpyDirection);
  CHECK(cudaMemcpy(h.data(), d, 256, cudaMemcpyDefault) == cudaSuccess);
  CHECK(cudaMemsetAsync(h.data(), 0, 256, nullptr) == cudaErrorInvalidValue);
  CHECK(cudaFree(d + 1) == cudaErrorInvalidValue);  // not the start of an allocation
  (void)cudaGetLastError();
  CHECK(cudaFree(d) == cudaSuccess);
}

TEST_CASE("emulator: a bad launch configuration is reported through cudaGetLastError, and check_launch throws") {
  float* d = device_floats(4096);
  cd::launch(iota_kernel, 1, 2048, 0, cd::stream(), d, 4096);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  cd::launch(iota_kernel, 0, 256, 0, cd::stream(), d, 4096);
  CHECK_THROWS_WITH_AS(cd::check_launch("iota"), doctest::Contains("cudaErrorInvalidConfiguration"), neuralop::backend_error);
  cd::launch(iota_kernel, dim3(1, 70000), 32, 0, cd::stream(), d, 4096);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  cd::launch(iota_kernel, 3, 256, 0, cd::stream(), d, 4096);
  CHECK_NOTHROW(cd::check_launch("iota"));
  std::vector<float> h(4096);
  REQUIRE(cudaMemcpy(h.data(), d, 4096 * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(h[4095] == 4095.f);
  cudaFree(d);
}

TEST_CASE("emulator: block barriers, shared memory and warp shuffles") {
  const int n = 1000;
  std::vector<float> h(n);
  for (int i = 0; i < n; ++i) h[std::size_t(i)] = float(i % 7);
  float* in = device_floats(n);
  float* out = device_floats(2);
  REQUIRE(cudaMemcpy(in, h.data(), n * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  for (unsigned threads : {32u, 256u, 1024u}) {
    CAPTURE(threads);
    cd::launch(block_sum_kernel, 2, threads, 0, cd::stream(), in, out, n);
    REQUIRE(cudaGetLastError() == cudaSuccess);
    float s[2];
    REQUIRE(cudaMemcpy(s, out, sizeof s, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(s[0] == 2997.f);  // 142 full cycles of 0..6 (21 each) and 0..5
    CHECK(s[1] == 2997.f);
  }
  int* sh = nullptr;
  REQUIRE(cudaMalloc(&sh, 32 * 4 * sizeof(int)) == cudaSuccess);
  cd::launch(shuffle_kernel, 1, 32, 0, cd::stream(), sh);
  std::vector<int> r(128);
  REQUIRE(cudaMemcpy(r.data(), sh, r.size() * sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess);
  for (int l = 0; l < 32; ++l) {
    CAPTURE(l);
    CHECK(r[std::size_t(l * 4 + 0)] == (l + 3 < 32 ? l + 3 : l));
    CHECK(r[std::size_t(l * 4 + 1)] == (l % 8 >= 2 ? l - 2 : l));
    CHECK(r[std::size_t(l * 4 + 2)] == (l ^ 5));
    CHECK(r[std::size_t(l * 4 + 3)] == (l / 8) * 8 + 13 % 8);
  }
  cudaFree(sh);
  cudaFree(in);
  cudaFree(out);
}

TEST_CASE("emulator: divergent barriers, host pointers given to kernels and out-of-bounds device accesses are fatal") {
  float* d = device_floats(64);
  Death r = run_child([&] {
    cd::launch(early_return_kernel, 1, 64, 0, cd::stream(), d);
    cudaDeviceSynchronize();
  });
  CHECK(r.signalled);
  CHECK(r.err.find("__syncthreads reached by 10 of the block's 64 threads") != std::string::npos);
  CHECK(r.err.find("early_return_kernel") != std::string::npos);
  r = run_child([&] {
    cd::launch(divergent_shuffle_kernel, 1, 32, 0, cd::stream(), d);
    cudaDeviceSynchronize();
  });
  CHECK(r.signalled);
  CHECK(r.err.find("divergent warp code") != std::string::npos);
  r = run_child([&] {
    std::vector<float> host(64);
    cd::launch(iota_kernel, 1, 64, 0, cd::stream(), host.data(), 64);
  });
  CHECK(r.signalled);
  CHECK(r.err.find("pointer argument the device cannot access: pageable host memory") != std::string::npos);
  // A host pointer inside a kernel's argument object; a device one is fine.
  cd::launch(struct_kernel, 1, 32, 0, cd::stream(), HoldsPointer{d, 16, true}, d + 32);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  if (neuralop_cuda_emulator::scans_kernel_arguments) {
    r = run_child([&] {
      std::vector<float> host(64);
      cd::launch(struct_kernel, 1, 32, 0, cd::stream(), HoldsPointer{host.data(), 16, true}, d);
    });
    CHECK(r.signalled);
    CHECK(r.err.find("argument 0 of kernel emulator_test::struct_kernel") != std::string::npos);
    CHECK(r.err.find("holds a host address at byte 0 of 16") != std::string::npos);
  }
  r = run_child([&] {
    cd::launch(out_of_bounds_kernel, 1, 32, 0, cd::stream(), d, 64);
    cudaDeviceSynchronize();
  });
  CHECK(r.signalled);
  CHECK(r.err.find("emulated device code faulted") != std::string::npos);
  CHECK(r.err.find("out_of_bounds_kernel") != std::string::npos);
  cudaFree(d);
}

TEST_CASE("emulator: queued work runs late, at the host's next synchronisation with it, in stream and event order") {
  const char* sync = std::getenv("NEURALOP_CUDA_EMULATOR_SYNC");
  if (sync && std::string(sync) != "0") return;  // every call runs at once in that mode
  float* d = device_floats(256);
  float* pinned = nullptr;
  REQUIRE(cudaHostAlloc(&pinned, 256 * sizeof(float), cudaHostAllocDefault) == cudaSuccess);
  for (int i = 0; i < 256; ++i) pinned[i] = -1;
  cudaStream_t a = nullptr, b = nullptr;
  REQUIRE(cudaStreamCreate(&a) == cudaSuccess);
  REQUIRE(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking) == cudaSuccess);
  cd::launch(iota_kernel, 1, 256, 0, a, d, 256);
  REQUIRE(cudaMemcpyAsync(pinned, d, 256 * sizeof(float), cudaMemcpyDeviceToHost, a) == cudaSuccess);
  CHECK(pinned[7] == -1.f);  // not yet: the host did not wait for stream a
  CHECK(cudaStreamQuery(a) == cudaErrorNotReady);
  CHECK(cudaStreamQuery(a) == cudaSuccess);
  CHECK(pinned[7] == 7.f);
  // b waits for a's work through an event, and only through it.
  cudaEvent_t e = nullptr;
  REQUIRE(cudaEventCreateWithFlags(&e, cudaEventDisableTiming) == cudaSuccess);
  REQUIRE(cudaMemsetAsync(d, 0, 256 * sizeof(float), a) == cudaSuccess);
  REQUIRE(cudaEventRecord(e, a) == cudaSuccess);
  REQUIRE(cudaStreamWaitEvent(b, e, 0) == cudaSuccess);
  REQUIRE(cudaMemcpyAsync(pinned, d, 256 * sizeof(float), cudaMemcpyDeviceToHost, b) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(b) == cudaSuccess);
  CHECK(pinned[7] == 0.f);
  // Without the event, b's copy need not see a's later kernel.
  cd::launch(iota_kernel, 1, 256, 0, a, d, 256);
  REQUIRE(cudaMemcpyAsync(pinned, d, 256 * sizeof(float), cudaMemcpyDeviceToHost, b) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(b) == cudaSuccess);
  CHECK(pinned[7] == 0.f);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  CHECK(pinned[7] == 0.f);
  cudaEventDestroy(e);
  cudaStreamDestroy(a);
  cudaStreamDestroy(b);
  cudaFreeHost(pinned);
  cudaFree(d);
}

TEST_CASE("emulator: cuBLAS gemmStridedBatched as documented (column-major, ops, strides, beta = 0 not reading C)") {
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  // C (2 x 3) = A^T B with A stored 4 x 2 (lda 4), B 4 x 3 (ldb 5), two batches; C starts as NaN.
  const int m = 2, n = 3, k = 4, lda = 4, ldb = 5, ldc = 2, batch = 2;
  std::vector<double> A(std::size_t(lda * m * batch)), B(std::size_t(ldb * n * batch)), C(std::size_t(ldc * n * batch), NAN);
  for (std::size_t i = 0; i < A.size(); ++i) A[i] = double(i % 5) - 1;
  for (std::size_t i = 0; i < B.size(); ++i) B[i] = double(i % 3) + 0.5;
  double *dA, *dB, *dC;
  REQUIRE(cudaMalloc(&dA, A.size() * 8) == cudaSuccess);
  REQUIRE(cudaMalloc(&dB, B.size() * 8) == cudaSuccess);
  REQUIRE(cudaMalloc(&dC, C.size() * 8) == cudaSuccess);
  cudaMemcpy(dA, A.data(), A.size() * 8, cudaMemcpyHostToDevice);
  cudaMemcpy(dB, B.data(), B.size() * 8, cudaMemcpyHostToDevice);
  cudaMemcpy(dC, C.data(), C.size() * 8, cudaMemcpyHostToDevice);
  const double alpha = 2, beta = 0;
  REQUIRE(cublasDgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, dA, lda, lda * m, dB, ldb, ldb * n, &beta, dC, ldc,
                                    ldc * n, batch) == CUBLAS_STATUS_SUCCESS);
  cudaMemcpy(C.data(), dC, C.size() * 8, cudaMemcpyDeviceToHost);
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        double want = 0;
        for (int l = 0; l < k; ++l) want += A[std::size_t(b * lda * m + l + i * lda)] * B[std::size_t(b * ldb * n + l + j * ldb)];
        CHECK(C[std::size_t(b * ldc * n + i + j * ldc)] == doctest::Approx(alpha * want));
      }
  // cuBLAS's argument checks.
  CHECK(cublasDgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, dA, 1, 0, dB, ldb, 0, &beta, dC, ldc, 0, 1) ==
        CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  CHECK(cublasDgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, n, k, &alpha, dA, lda, 0, dB, ldb, 0, &beta, dC, ldc, 0, 1) ==
        CUBLAS_STATUS_INVALID_VALUE);
  CHECK(cublasDgemmStridedBatched(nullptr, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, dA, lda, 0, dB, ldb, 0, &beta, dC, ldc, 0, 1) ==
        CUBLAS_STATUS_NOT_INITIALIZED);
  // Batches writing the same C race on a GPU.
  const Death r = run_child([&] {
    cublasDgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, dA, lda, 0, dB, ldb, 0, &beta, dC, ldc, 0, 2);
  });
  CHECK(r.signalled);
  CHECK(r.err.find("overlap") != std::string::npos);
  cublasDestroy(h);
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
}

TEST_CASE("emulator: cuFFT as documented (NULL embeds: basic layout, strides ignored; signs; c2r overwrites its input)") {
  const int n = 8, batch = 3;
  std::vector<std::complex<float>> x(std::size_t(n * batch));
  for (int b = 0; b < batch; ++b) x[std::size_t(b * n + 1 + b)] = 1;  // a delta at 1 + b
  cufftComplex *d, *y;
  REQUIRE(cudaMalloc(&d, x.size() * 8) == cudaSuccess);
  REQUIRE(cudaMalloc(&y, x.size() * 8) == cudaSuccess);
  cudaMemcpy(d, x.data(), x.size() * 8, cudaMemcpyHostToDevice);
  cufftHandle p;
  REQUIRE(cufftCreate(&p) == CUFFT_SUCCESS);
  long long nn = n;
  std::size_t work = 0;
  REQUIRE(cufftMakePlanMany64(p, 1, &nn, nullptr, 99, 7, nullptr, 5, 3, CUFFT_C2C, batch, &work) == CUFFT_SUCCESS);
  REQUIRE(cufftExecC2C(p, d, y, CUFFT_FORWARD) == CUFFT_SUCCESS);
  CHECK(cufftExecC2C(p, d, y, 2) == CUFFT_INVALID_VALUE);
  std::vector<std::complex<float>> Y(x.size());
  cudaMemcpy(Y.data(), y, Y.size() * 8, cudaMemcpyDeviceToHost);
  const double pi = std::acos(-1.0);
  for (int b = 0; b < batch; ++b)
    for (int k = 0; k < n; ++k) {
      const std::complex<double> want = std::exp(std::complex<double>(0, -2 * pi * k * (1 + b) / n));  // e^{-2 pi i k t / n}
      CHECK(std::abs(std::complex<double>(Y[std::size_t(b * n + k)]) - want) < 1e-6);
    }
  cufftDestroy(p);
  // c2r out of place: the input is gone afterwards.
  REQUIRE(cufftCreate(&p) == CUFFT_SUCCESS);
  REQUIRE(cufftMakePlanMany64(p, 1, &nn, nullptr, 1, 0, nullptr, 1, 0, CUFFT_C2R, 1, &work) == CUFFT_SUCCESS);
  float* r = nullptr;
  REQUIRE(cudaMalloc(&r, n * sizeof(float)) == cudaSuccess);
  REQUIRE(cufftExecC2R(p, d, r) == CUFFT_SUCCESS);
  std::vector<std::complex<float>> after(std::size_t(n / 2 + 1));
  cudaMemcpy(after.data(), d, after.size() * 8, cudaMemcpyDeviceToHost);
  CHECK(std::isnan(after[0].real()));
  cufftDestroy(p);
  cudaFree(r);
  cudaFree(d);
  cudaFree(y);
}
