// NcclCommunicator: NCCL collectives on device buffers (all-reduce, broadcast) for the cuda
// backend, set up over an MPI communicator (rank 0 makes the NCCL id and broadcasts it). Include
// from .cu files compiled by nvcc and link NCCL (libnccl); docs/distributed.md.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <complex>
#include <cstddef>
#include <string>
#include <type_traits>

#include "neuralop/core/error.hpp"
#include "neuralop/distributed/communicator.hpp"

namespace neuralop::distributed {

namespace detail {

inline void check_nccl(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw_error<value_error>(what, " failed: ", ncclGetErrorString(rc));
}
inline void check_cuda_rt(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw_error<value_error>(what, " failed: ", cudaGetErrorString(rc));
}

// NCCL's element type of T (a complex number is reduced as two reals: count doubles).
template <class T>
constexpr ncclDataType_t nccl_type() {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, std::complex<float>>) return ncclFloat32;
  else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, std::complex<double>>) return ncclFloat64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ncclInt32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return ncclInt64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return ncclUint8;
  else static_assert(sizeof(T) == 0, "neuralop::distributed: no NCCL datatype for this type");
}
template <class T>
constexpr std::size_t nccl_count_per_element() {
  if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) return 2;
  else return 1;
}
inline ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::min: return ncclMin;
    case ReduceOp::max: return ncclMax;
    default: return ncclSum;
  }
}

}  // namespace detail

class NcclCommunicator {
 public:
  // Collective over `mpi`: every rank passes the CUDA device it works on (one device per rank;
  // with several GPUs per node, the node-local rank is the usual choice).
  NcclCommunicator(const Communicator& mpi, int device) : rank_(mpi.rank()), size_(mpi.size()), device_(device) {
    ncclUniqueId id{};
    if (rank_ == 0) detail::check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    id = mpi.broadcast(id, 0);
    detail::check_cuda_rt(cudaSetDevice(device_), "cudaSetDevice");
    detail::check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;
  ~NcclCommunicator() {
    if (comm_) ncclCommDestroy(comm_);
  }

  int rank() const { return rank_; }
  int size() const { return size_; }
  int device() const { return device_; }
  ncclComm_t native() const { return comm_; }

  // data[i] = op over the ranks of data[i] (n elements in device memory, in place), queued on
  // `stream`. Complex elements are reduced as pairs of reals (sum only: min/max are refused).
  template <class T>
  void allreduce(T* device_data, std::size_t n, cudaStream_t stream = nullptr, ReduceOp op = ReduceOp::sum) const {
    constexpr std::size_t k = detail::nccl_count_per_element<T>();
    if (k == 2 && op != ReduceOp::sum) throw_error<value_error>("NcclCommunicator::allreduce: complex values reduce by sum only");
    detail::check_nccl(ncclAllReduce(device_data, device_data, n * k, detail::nccl_type<T>(), detail::nccl_op(op), comm_, stream),
                       "ncclAllReduce");
  }
  // data on every rank = data on `root` (n elements in device memory), queued on `stream`.
  template <class T>
  void broadcast(T* device_data, std::size_t n, int root = 0, cudaStream_t stream = nullptr) const {
    constexpr std::size_t k = detail::nccl_count_per_element<T>();
    detail::check_nccl(ncclBroadcast(device_data, device_data, n * k, detail::nccl_type<T>(), root, comm_, stream), "ncclBroadcast");
  }
  // Several reductions as one NCCL group (one launch): f() queues them.
  template <class F>
  void group(F&& f) const {
    detail::check_nccl(ncclGroupStart(), "ncclGroupStart");
    try {
      f();
    } catch (...) {
      ncclGroupEnd();
      throw;
    }
    detail::check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  }

 private:
  int rank_, size_, device_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace neuralop::distributed
