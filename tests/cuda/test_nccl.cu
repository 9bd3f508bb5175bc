// NcclCommunicator compiles with nvcc against NCCL and MPI (the test suite builds it where CUDA,
// NCCL and MPI are found). Run on a machine with a GPU, one rank per GPU:
//   mpirun -np 2 build/.../tests/cuda/nccl_tests   (one GPU: -np 1)
// Without a device it exits 77 (skipped).
#include <cuda_runtime.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <vector>

#include "neuralop/distributed/environment.hpp"
#include "neuralop/distributed/nccl.hpp"
#include "neuralop/distributed/run_or_abort.hpp"

namespace nd = neuralop::distributed;

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  nd::Environment env(&argc, &argv);
  nd::Communicator comm;
  return nd::run_or_abort([&] {
    nd::NcclCommunicator nccl(comm, comm.rank() % devices);
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
    std::printf("rank %d of %d: NCCL all-reduce %s\n", comm.rank(), s, bad ? "WRONG" : "ok");
    return comm.allreduce(bad, nd::ReduceOp::max) ? 1 : 0;
  });
}
