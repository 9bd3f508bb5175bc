// NcclDataParallel: DistributedDataParallel for cuda-backend models with the gradient buckets in
// device memory, summed by NCCL all-reduces; nothing goes through host memory but one flag per
// parameter. Include from .cu files compiled by nvcc (it brings neuralop/cuda.hpp) and link
// NCCL and MPI; docs/distributed.md.
//
// Streams: the backend queues all its work (backward included) on one stream. A bucket is
// packed there (device-to-device copies of the gradients, the flags from pinned host memory),
// an event then lets a second stream, which runs every NCCL call of this object, start the
// all-reduce while backward goes on; synchronize_gradients() makes the backend stream wait for
// that stream, reads the reduced flags (the one host synchronization of a step) and copies the
// sums into the gradients on the backend stream.
#pragma once

#include "neuralop/cuda.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "neuralop/distributed/distributed_data_parallel.hpp"
#include "neuralop/distributed/nccl.hpp"

namespace neuralop::distributed {

class NcclTransport final : public GradientTransport {
 public:
  // Collective over comm. Every parameter of `model` must be on the cuda backend; the NCCL
  // communicator is made on the current CUDA device (one device per rank).
  NcclTransport(const nn::Module& model, const Communicator& comm, GradientReduction reduction)
      : nccl_(comm, device_of(model)), mean_(reduction == GradientReduction::mean) {
    cuda_detail::check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    cuda_detail::check(cudaEventCreateWithFlags(&to_comm_, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    cuda_detail::check(cudaEventCreateWithFlags(&to_backend_, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  }
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;
  // Waits for the NCCL work in flight before its buffers go back to the allocators.
  ~NcclTransport() override {
    (void)cudaStreamSynchronize(stream_);
    for (auto& b : buckets_) {
      cuda::deallocate(b.data, b.bytes());
      cuda::deallocate_pinned(b.flags, b.n_params * b.elem_bytes);
    }
    (void)cudaEventDestroy(to_comm_);
    (void)cudaEventDestroy(to_backend_);
    (void)cudaStreamDestroy(stream_);
    (void)cudaGetLastError();
  }

  const NcclCommunicator& communicator() const { return nccl_; }
  // The stream of the NCCL calls.
  cudaStream_t stream() const { return stream_; }

  void make_buckets(std::span<const BucketShape> shapes) override {
    for (const auto& s : shapes) {
      Bucket b{s.dbl ? ncclFloat64 : ncclFloat32, s.dbl ? sizeof(double) : sizeof(float), s.n_grad, s.n_params, nullptr, nullptr};
      b.data = cuda::allocate<std::byte>(b.bytes());
      b.flags = cuda::allocate_pinned<std::byte>(b.n_params * b.elem_bytes);
      buckets_.push_back(b);
    }
  }
  void pack(std::size_t i, std::size_t offset, const nn::ParameterBase* p, std::size_t bytes) override {
    std::byte* dst = buckets_[i].data + offset;
    if (p) p->grad_to_backend(dst);
    else if (bytes) cuda_detail::check(cudaMemsetAsync(dst, 0, bytes, cuda_detail::stream()), "cudaMemsetAsync (no gradient)");
  }
  // The pinned flags are written here and read back over them in finish(); both copies are on
  // the backend stream, which finish() waits for, so the next step's writes find them done.
  void start(std::size_t i, std::span<const std::uint8_t> has_grad) override {
    Bucket& b = buckets_[i];
    for (std::size_t j = 0; j < has_grad.size(); ++j)
      if (b.elem_bytes == sizeof(double)) reinterpret_cast<double*>(b.flags)[j] = has_grad[j] ? 1.0 : 0.0;
      else reinterpret_cast<float*>(b.flags)[j] = has_grad[j] ? 1.f : 0.f;
    cuda_detail::check(cudaMemcpyAsync(b.flag_data(), b.flags, b.n_params * b.elem_bytes, cudaMemcpyHostToDevice, cuda_detail::stream()),
                       "cudaMemcpyAsync (gradient flags to the device)");
    comm_after_backend();
    // mean: NCCL's average (the flags are averaged too, which leaves "some rank had one" > 0).
    detail::check_nccl(ncclAllReduce(b.data, b.data, b.n_grad + b.n_params, b.type, mean_ ? ncclAvg : ncclSum, nccl_.native(), stream_),
                       "ncclAllReduce");
  }
  double finish() override {
    const auto t0 = std::chrono::steady_clock::now();
    backend_after_comm();
    for (auto& b : buckets_)
      cuda_detail::check(cudaMemcpyAsync(b.flags, b.flag_data(), b.n_params * b.elem_bytes, cudaMemcpyDeviceToHost, cuda_detail::stream()),
                         "cudaMemcpyAsync (reduced gradient flags to the host)");
    cuda_detail::check(cudaStreamSynchronize(cuda_detail::stream()), "cudaStreamSynchronize (gradient all-reduce)");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  bool reached(std::size_t i, std::size_t j) const override {
    const Bucket& b = buckets_[i];
    return b.elem_bytes == sizeof(double) ? reinterpret_cast<const double*>(b.flags)[j] > 0 : reinterpret_cast<const float*>(b.flags)[j] > 0;
  }
  void unpack(std::size_t i, std::size_t offset, nn::ParameterBase& p) override { p.grad_from_backend(buckets_[i].data + offset); }

  bool holds(const nn::ParameterBase& p) const override { return std::string_view(p.backend_name()) == cuda::name; }
  // Packed into one device buffer on rank 0, broadcast by NCCL as bytes, unpacked elsewhere.
  void broadcast(std::span<nn::ParameterBase* const> entries) override {
    std::size_t total = 0;
    for (auto* p : entries) total += p->host_nbytes();
    if (total == 0) return;
    std::byte* buf = cuda::allocate<std::byte>(total);
    const bool root = nccl_.rank() == 0;
    std::size_t off = 0;
    for (auto* p : entries) {
      if (root) p->value_to_backend(buf + off);
      off += p->host_nbytes();
    }
    comm_after_backend();
    detail::check_nccl(ncclBroadcast(buf, buf, total, ncclUint8, 0, nccl_.native(), stream_), "ncclBroadcast");
    backend_after_comm();
    off = 0;
    for (auto* p : entries) {
      if (!root) p->value_from_backend(buf + off);
      off += p->host_nbytes();
    }
    cuda::deallocate(buf, total);  // reused only by backend work queued after the copies above
  }

 private:
  struct Bucket {
    ncclDataType_t type;
    std::size_t elem_bytes, n_grad, n_params;
    std::byte* data;   // device: n_grad gradient elements, then n_params flags
    std::byte* flags;  // pinned host: n_params flags (this rank's, then the reduced ones)
    std::size_t bytes() const { return (n_grad + n_params) * elem_bytes; }
    std::byte* flag_data() const { return data + n_grad * elem_bytes; }
  };

  static int device_of(const nn::Module& model) {
    for (const auto& [name, p] : model.named_parameters())
      if (std::string_view(p->backend_name()) != cuda::name)
        throw_error<value_error>("NcclDataParallel: parameter '", name, "' is on the ", p->backend_name(),
                                 " backend; NCCL reduces cuda parameters (use DistributedDataParallel for the others)");
    int device = 0;
    cuda_detail::check(cudaGetDevice(&device), "cudaGetDevice");
    return device;
  }
  // The NCCL stream waits for the backend's work queued so far, and the other way round.
  void comm_after_backend() {
    cuda_detail::check(cudaEventRecord(to_comm_, cuda_detail::stream()), "cudaEventRecord");
    cuda_detail::check(cudaStreamWaitEvent(stream_, to_comm_, 0), "cudaStreamWaitEvent");
  }
  void backend_after_comm() {
    cuda_detail::check(cudaEventRecord(to_backend_, stream_), "cudaEventRecord");
    cuda_detail::check(cudaStreamWaitEvent(cuda_detail::stream(), to_backend_, 0), "cudaStreamWaitEvent");
  }

  NcclCommunicator nccl_;
  bool mean_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t to_comm_ = nullptr, to_backend_ = nullptr;
  std::vector<Bucket> buckets_;
};

// DistributedDataParallel over NCCL: the same options, hooks, errors and Trainer interface
// (collective over comm, which also carries the model check, the host-memory buffers such as
// BatchNorm's step counter, and the Trainer's metrics). wait_seconds() is the host's wait for
// the step's reductions (the backend stream, backward included, then the all-reduces).
class NcclDataParallel final : public DistributedDataParallel {
 public:
  explicit NcclDataParallel(const nn::Module& model, Communicator comm = {}, DistributedDataParallelOptions options = {})
      : DistributedDataParallel(model, comm, options, std::make_unique<NcclTransport>(model, comm, options.reduction)) {}

  const NcclCommunicator& nccl() const { return static_cast<const NcclTransport&>(transport()).communicator(); }
};

}  // namespace neuralop::distributed
