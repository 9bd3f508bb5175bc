// DistributedDataParallel: torch's DDP over MPI for a Module. Parameters and buffers are
// broadcast from rank 0 when it is made; the gradients are summed (or averaged) over the ranks in
// buckets of ~25 MiB with non-blocking allreduces. With overlap_backward (the default) a bucket
// is launched during the backward pass, as soon as the last gradient in it is final (autograd's
// grad-ready hooks) and the buckets before it are launched; synchronize_gradients() launches
// what is left and waits. Pass it as TrainerOptions::data_parallel. The buckets move through a
// GradientTransport: MPI over host memory here, NCCL over device memory in NcclDataParallel
// (distributed/nccl_data_parallel.hpp).
#pragma once

#include "neuralop/distributed/mpi.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "neuralop/autograd/engine.hpp"
#include "neuralop/distributed/communicator.hpp"
#include "neuralop/distributed/gradient_transport.hpp"
#include "neuralop/io/dtype.hpp"
#include "neuralop/nn/module.hpp"
#include "neuralop/training/data_parallel.hpp"

namespace neuralop::distributed {

struct DistributedDataParallelOptions {
  std::size_t bucket_bytes = std::size_t{25} << 20;  // torch's bucket_cap_mb = 25
  GradientReduction reduction = GradientReduction::sum;
  // Broadcast buffers (BatchNorm's running statistics) from rank 0 before every training
  // forward, as torch's broadcast_buffers=True; a model without buffers pays nothing.
  bool broadcast_buffers = true;
  // Launch a bucket's allreduce during backward once its gradients are final (between
  // before_forward() and synchronize_gradients(), as the Trainer calls them). Every backward must
  // then be followed by synchronize_gradients(); to accumulate gradients over several backward
  // passes, set false (everything is reduced in synchronize_gradients()).
  bool overlap_backward = true;
};

class DistributedDataParallel : public training::DataParallel {
 public:
  // `model` must stay alive and keep its parameters (registration order is the same on every
  // rank: the same model type and options). Collective: every rank of comm makes one.
  explicit DistributedDataParallel(const nn::Module& model, Communicator comm = {}, DistributedDataParallelOptions options = {})
      : DistributedDataParallel(model, comm, options, std::make_unique<MpiTransport>(comm, options.reduction)) {}
  // The same over another transport (NcclDataParallel's).
  DistributedDataParallel(const nn::Module& model, Communicator comm, DistributedDataParallelOptions options,
                          std::unique_ptr<GradientTransport> transport)
      : comm_(comm), o_(options), rank_(comm.rank()), size_(comm.size()), transport_(std::move(transport)) {
    if (!transport_) throw_error<value_error>("DistributedDataParallel: no gradient transport given");
    if (o_.bucket_bytes == 0) throw_error<value_error>("DistributedDataParallel: bucket_bytes must be positive");
    for (auto& [n, p] : model.named_parameters()) params_.push_back(p);
    for (auto& [n, b] : model.named_buffers()) buffers_.push_back(b);
    check_same_model();
    make_buckets();
    broadcast_state(params_);
    broadcast_state(buffers_);
    if (o_.overlap_backward && size_ > 1)
      for (std::size_t k = 0; k < params_.size(); ++k)
        if (VarImplBase* leaf = params_[k]->autograd_leaf())
          hooks_.emplace_back(leaf, add_grad_ready_hook(*leaf, [this, k] { on_ready(k); }));
  }
  ~DistributedDataParallel() override {
    for (auto& [leaf, id] : hooks_) remove_grad_ready_hook(*leaf, id);
  }
  // The hooks refer to this object.
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const Communicator& communicator() const { return comm_; }
  const DistributedDataParallelOptions& options() const { return o_; }

  void before_forward() override {
    if (o_.broadcast_buffers && size_ > 1 && !buffers_.empty()) broadcast_state(buffers_);
    if (!hooks_.empty() && !armed_) begin_step();
  }

  // Every rank's gradients become their sum (mean) over the ranks. A parameter that received no
  // gradient on some rank counts as zero there; one that received none on any rank keeps none
  // (the optimizer skips it on every rank alike).
  void synchronize_gradients() override {
    const auto t0 = std::chrono::steady_clock::now();
    if (size_ > 1) reduce_gradients();  // one rank: the sum and the mean are its gradient
    sync_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++sync_steps_;
  }

  void allreduce_sum(std::span<double> values) override { comm_.allreduce(values, ReduceOp::sum); }
  void barrier() override { comm_.barrier(); }

  // Rank 0's parameters (and buffers) on every rank; done at construction.
  void broadcast_parameters() {
    broadcast_state(params_);
    broadcast_state(buffers_);
  }

  // Time spent in synchronize_gradients, and how many calls. wait_seconds(): the part of it
  // spent in the step's first collective, which is mostly waiting for the slowest rank to end
  // its backward pass (load imbalance, not communication).
  double sync_seconds() const { return sync_seconds_; }
  double wait_seconds() const { return wait_seconds_; }
  std::int64_t sync_steps() const { return sync_steps_; }
  void reset_sync_timer() {
    sync_seconds_ = 0;
    wait_seconds_ = 0;
    sync_steps_ = 0;
  }
  std::size_t n_buckets() const { return buckets_.size(); }
  // Buckets whose allreduce the last synchronized step launched during backward (the rest were
  // launched by synchronize_gradients()).
  std::size_t overlapped_buckets() const { return overlapped_; }

 protected:
  const GradientTransport& transport() const { return *transport_; }

 private:
  // The layout of one bucket in the transport's buffer (see GradientTransport).
  struct Bucket {
    bool dbl;
    std::vector<std::size_t> params;   // indices into params_
    std::vector<std::size_t> offsets;  // byte offsets in the bucket
    std::size_t bytes = 0;             // of the gradients; then one flag element per parameter
  };

  // The same number of parameters and bytes on every rank, or an error on every rank.
  void check_same_model() const {
    std::int64_t local[2] = {static_cast<std::int64_t>(params_.size()), 0};
    for (auto* p : params_) local[1] += static_cast<std::int64_t>(p->host_nbytes());
    std::int64_t lo[2] = {local[0], local[1]}, hi[2] = {local[0], local[1]};
    comm_.allreduce(std::span<std::int64_t>(lo), ReduceOp::min);
    comm_.allreduce(std::span<std::int64_t>(hi), ReduceOp::max);
    if (lo[0] != hi[0] || lo[1] != hi[1])
      throw_error<value_error>("DistributedDataParallel: the ranks' models differ (", lo[0], " to ", hi[0], " parameters, ",
                               lo[1], " to ", hi[1], " bytes); every rank must build the same model");
  }

  // Buckets of one real element type (a complex gradient is reduced as pairs of reals), in
  // reverse registration order (the order backward produces gradients, as torch's).
  void make_buckets() {
    for (int pass = 0; pass < 2; ++pass) {
      const bool dbl = pass == 1;
      Bucket cur{dbl, {}, {}, 0};
      for (std::size_t k = params_.size(); k-- > 0;) {
        const io::DType t = params_[k]->dtype();
        const bool is_dbl = t == io::DType::float64 || t == io::DType::complex128;
        const bool is_flt = t == io::DType::float32 || t == io::DType::complex64;
        if (!is_dbl && !is_flt)
          throw_error<value_error>("DistributedDataParallel: parameter ", k, " has dtype ", io::name(t),
                                   "; gradients of float32, float64, complex64 and complex128 parameters are reduced");
        if (is_dbl != dbl) continue;
        const std::size_t nb = params_[k]->host_nbytes();
        if (!cur.params.empty() && cur.bytes + nb > o_.bucket_bytes) {
          buckets_.push_back(std::move(cur));
          cur = Bucket{dbl, {}, {}, 0};
        }
        cur.params.push_back(k);
        cur.offsets.push_back(cur.bytes);
        cur.bytes += nb;
      }
      if (!cur.params.empty()) buckets_.push_back(std::move(cur));
    }
    bucket_of_.assign(params_.size(), 0);
    std::vector<GradientTransport::BucketShape> shapes;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      const auto& b = buckets_[i];
      shapes.push_back({b.dbl, b.bytes / (b.dbl ? sizeof(double) : sizeof(float)), b.params.size()});
      for (const std::size_t k : b.params) bucket_of_[k] = i;
    }
    transport_->make_buckets(shapes);
  }

  // The entries the transport holds go through it; the others through host memory over MPI.
  void broadcast_state(const std::vector<nn::ParameterBase*>& all) {
    if (size_ == 1 || all.empty()) return;
    std::vector<nn::ParameterBase*> entries, held;
    for (auto* p : all) (transport_->holds(*p) ? held : entries).push_back(p);
    if (!held.empty()) transport_->broadcast(held);
    if (entries.empty()) return;
    std::size_t total = 0;
    for (auto* p : entries) total += p->host_nbytes();
    state_buf_.resize(total);
    std::size_t off = 0;
    if (rank_ == 0)
      for (auto* p : entries) {
        p->value_to_host(state_buf_.data() + off);
        off += p->host_nbytes();
      }
    comm_.broadcast(std::span<std::byte>(state_buf_.data(), total), 0);
    if (rank_ != 0)
      for (auto* p : entries) {
        p->value_from_host(state_buf_.data() + off);
        off += p->host_nbytes();
      }
  }

  // ---- one step's reduction
  // Each bucket holds its parameters' gradients (zeros where a rank has none) followed by one
  // flag per parameter (1 where this rank has a gradient): after the sum a parameter whose flag
  // sum is 0 had no gradient on any rank and keeps none (the optimizer skips it on every rank
  // alike); otherwise it takes the sum (or mean), counting zero for the ranks without one.
  void begin_step() {
    armed_ = true;
    launched_ = 0;
    overlapped_ = 0;
    ready_.assign(params_.size(), 0);
    ready_count_.assign(buckets_.size(), 0);
  }

  // A grad-ready hook: parameter k's gradient is final for this backward pass.
  void on_ready(std::size_t k) {
    if (!armed_) return;
    const std::size_t b = bucket_of_[k];
    if (ready_[k]) {
      if (b < launched_)
        throw_error<value_error>("DistributedDataParallel: a second backward pass reached parameter ", k,
                                 " after its gradient bucket was sent; with overlap_backward each backward must be followed "
                                 "by synchronize_gradients() (set overlap_backward = false to accumulate gradients over "
                                 "several backward passes)");
      return;
    }
    ready_[k] = 1;
    ++ready_count_[b];
    while (launched_ < buckets_.size() && ready_count_[launched_] == buckets_[launched_].params.size()) {
      launch(launched_++);
      ++overlapped_;
    }
    transport_->progress(launched_);  // drive what is in flight
  }

  void launch(std::size_t i) {
    const Bucket& b = buckets_[i];
    has_grad_.resize(b.params.size());
    for (std::size_t j = 0; j < b.params.size(); ++j) {
      const auto* p = params_[b.params[j]];
      has_grad_[j] = p->has_grad() ? 1 : 0;
      transport_->pack(i, b.offsets[j], has_grad_[j] ? p : nullptr, p->host_nbytes());
    }
    transport_->start(i, has_grad_);
  }

  void reduce_gradients() {
    if (!armed_) begin_step();
    armed_ = false;
    overlapped_ = std::min(overlapped_, launched_);
    // The rest, packed while the earlier buckets are in flight.
    for (; launched_ < buckets_.size(); ++launched_) {
      launch(launched_);
      transport_->progress(launched_ + 1);
    }
    // The first wait also waits for the slowest rank to end its backward pass.
    wait_seconds_ += transport_->finish();
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      const Bucket& b = buckets_[i];
      for (std::size_t j = 0; j < b.params.size(); ++j)
        if (transport_->reached(i, j)) transport_->unpack(i, b.offsets[j], *params_[b.params[j]]);
    }
  }

  Communicator comm_;
  DistributedDataParallelOptions o_;
  int rank_, size_;
  std::unique_ptr<GradientTransport> transport_;
  std::vector<nn::ParameterBase*> params_, buffers_;
  std::vector<Bucket> buckets_;
  std::vector<std::byte> state_buf_;
  std::vector<std::size_t> bucket_of_;  // the bucket of each parameter
  std::vector<std::pair<VarImplBase*, std::uint64_t>> hooks_;
  bool armed_ = false;
  std::size_t launched_ = 0, overlapped_ = 0;
  std::vector<char> ready_;
  std::vector<std::size_t> ready_count_;
  std::vector<std::uint8_t> has_grad_;  // one bucket's flags, for the transport
  double sync_seconds_ = 0, wait_seconds_ = 0;
  std::int64_t sync_steps_ = 0;
};

}  // namespace neuralop::distributed
