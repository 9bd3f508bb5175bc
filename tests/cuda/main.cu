// The runner of the CUDA tests. Without a device it says so and exits 77 (meson: skipped), after
// the compile-time checks; with one, it runs every test case against the cpu backend.
#define DOCTEST_CONFIG_IMPLEMENT
#include <neuralop/cuda.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cuda_runtime.h>

namespace no = neuralop;

static_assert(no::Backend<no::cpu>);
static_assert(no::Backend<no::cuda>);
static_assert(no::cuda::implemented, "neuralop/cuda.hpp brings the cuda definitions");

int main(int argc, char** argv) {
  // The cpu world works inside an nvcc-compiled file.
  no::Tensor<float, 2> a = no::Tensor<float, 2>::from_data({2, 2}, {1.f, 2.f, 3.f, 4.f});
  no::Tensor<float, 2> b = no::gelu(a) * 2.f;
  if (!(b.at(1, 1) > 7.99f && b.at(1, 1) < 8.01f)) {
    std::fprintf(stderr, "cpu expression in a .cu file gave %f\n", double(b.at(1, 1)));
    return 1;
  }
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0) {
    std::printf("SKIP: no CUDA device (%s): the CUDA tests compiled, none ran\n",
                err == cudaSuccess ? "0 devices" : cudaGetErrorString(err));
    return 77;
  }
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  std::printf("CUDA device 0: %s (compute capability %d.%d, %d SMs, %.1f GiB)\n", p.name, p.major, p.minor,
              p.multiProcessorCount, double(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  doctest::Context context(argc, argv);
  return context.run();
}
