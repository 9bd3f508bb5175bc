// The NCCL tests' runner and NcclCommunicator's collectives. Built where CUDA, NCCL and MPI are
// found; run on a machine with GPUs, one rank per GPU:
//   mpirun -np 2 build/.../tests/cuda/nccl_tests   (one GPU: -np 1)
// Without a device it exits 77 (skipped) before MPI starts. Every rank runs every test case
// (they are collective); the job fails if any rank failed. test_nccl_ddp.cu: NcclDataParallel.
#define DOCTEST_CONFIG_IMPLEMENT
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <vector>

#include "neuralop/distributed/environment.hpp"
#include "neuralop/distributed/nccl.hpp"

namespace nd = neuralop::distributed;

TEST_CASE("NcclCommunicator: all-reduce of floats and of complex doubles in a group") {
  nd::Communicator comm;
  int device = 0;
  nd::detail::check_cuda_rt(cudaGetDevice(&device), "cudaGetDevice");
  nd::NcclCommunicator nccl(comm, device);
  const std::size_t n = 1000;
  std::vector<float> h(n, static_cast<float>(comm.rank() + 1));
  float* d = nullptr;
  nd::detail::check_cuda_rt(cudaMalloc(&d, n * sizeof(float)), "cudaMalloc");
  nd::detail::check_cuda_rt(cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
  nccl.allreduce(d, n);
  std::vector<std::complex<double>> hc(4, {1.0 * comm.rank(), 1.0});
  std::complex<double>* dc = nullptr;
  nd::detail::check_cuda_rt(cudaMalloc(&dc, hc.size() * sizeof(hc[0])), "cudaMalloc");
  nd::detail::check_cuda_rt(cudaMemcpy(dc, hc.data(), hc.size() * sizeof(hc[0]), cudaMemcpyHostToDevice), "cudaMemcpy");
  nccl.group([&] { nccl.allreduce(dc, hc.size()); });
  nd::detail::check_cuda_rt(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  nd::detail::check_cuda_rt(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
  nd::detail::check_cuda_rt(cudaMemcpy(hc.data(), dc, hc.size() * sizeof(hc[0]), cudaMemcpyDeviceToHost), "cudaMemcpy");
  cudaFree(d);
  cudaFree(dc);
  const int s = comm.size();
  const float expect = static_cast<float>(s * (s + 1) / 2);
  int bad = 0;
  for (float v : h) bad += v != expect;
  for (auto v : hc) bad += std::abs(v - std::complex<double>(s * (s - 1) / 2.0, s)) > 1e-12;
  CHECK(bad == 0);
}

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("SKIP: no CUDA device: the NCCL tests compiled, none ran\n");
    return 77;
  }
  nd::Environment env(&argc, &argv);
  nd::Communicator comm;
  // Before any CUDA work: the backend's stream, allocator and the NCCL communicators belong to
  // the device current at their first use.
  nd::detail::check_cuda_rt(cudaSetDevice(comm.rank() % devices), "cudaSetDevice");
  std::printf("rank %d of %d on CUDA device %d of %d\n", comm.rank(), comm.size(), comm.rank() % devices, devices);
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  return comm.allreduce(rc, nd::ReduceOp::max);
}
