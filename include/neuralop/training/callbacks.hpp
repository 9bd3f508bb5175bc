// Callbacks: hooks the Trainer calls at fixed points of a run. NeuralOperator 2.0.0 has no
// callback system (one overrides Trainer methods there); this is our extension.
#pragma once

#include <cstdint>
#include <string>

#include "neuralop/training/metrics.hpp"

namespace neuralop::training {

// Override what you need; every hook does nothing by default. Hooks run on the training
// thread, in this order per run:
//   on_train_start, then per epoch: on_epoch_start, on_batch_end (each batch),
//   on_eval_end (evaluated epochs), on_checkpoint (when one was written), on_epoch_end;
//   finally on_train_end (not called when training stops with an exception).
// An exception thrown by a hook stops training and propagates out of Trainer::train.
class Callback {
 public:
  virtual ~Callback() = default;
  // start_epoch > 0 when the run resumed from a checkpoint.
  virtual void on_train_start(std::int64_t /*start_epoch*/, std::int64_t /*n_epochs*/) {}
  virtual void on_epoch_start(std::int64_t /*epoch*/) {}
  // loss: the batch's training loss (the sum over its samples, regularizer included).
  virtual void on_batch_end(std::int64_t /*epoch*/, std::int64_t /*batch*/, double /*loss*/) {}
  virtual void on_eval_end(std::int64_t /*epoch*/, const Metrics& /*eval_metrics*/) {}
  virtual void on_checkpoint(std::int64_t /*epoch*/, const std::string& /*save_dir*/) {}
  virtual void on_epoch_end(const EpochMetrics& /*metrics*/) {}
  virtual void on_train_end(const EpochMetrics& /*last*/) {}
};

}  // namespace neuralop::training
