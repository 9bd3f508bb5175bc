// The Trainer's hook for data-parallel training (TrainerOptions::data_parallel): what the
// training loop asks of the processes it runs with. distributed/ implements it over MPI
// (neuralop::distributed::DistributedDataParallel); training/ knows nothing of MPI.
#pragma once

#include <span>

namespace neuralop::training {

// With a DataParallel hook the Trainer, on every rank,
// - calls before_forward() before each training batch (buffers such as BatchNorm's running
//   statistics are broadcast from rank 0 there) and synchronize_gradients() after backward and
//   before the optimizer step (the gradients of the model become the same on every rank);
// - sums the batch losses, sample counts and evaluation sums over the ranks (allreduce_sum), so
//   that every rank logs, schedules and checkpoints on the same numbers;
// - writes checkpoints and the metrics log on rank 0 only (barrier() after a checkpoint, so that
//   no rank reads one that is being written) and prints only on rank 0.
// Each rank's train loader must hold that rank's shard of the data (DataLoaderOptions'
// num_replicas and rank), with the same number of batches on every rank.
class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  virtual void before_forward() {}
  virtual void synchronize_gradients() = 0;
  // values[i] = sum over the ranks of values[i], on every rank.
  virtual void allreduce_sum(std::span<double> values) = 0;
  virtual void barrier() = 0;
};

}  // namespace neuralop::training
