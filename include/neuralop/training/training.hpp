// The training stack: Trainer (NeuralOperator's training loop), checkpoints in NeuralOperator's
// layout, callbacks, metrics logs. Trainer is also neuralop::Trainer.
#pragma once

#include "neuralop/training/callbacks.hpp"
#include "neuralop/training/metrics.hpp"
#include "neuralop/training/trainer.hpp"
#include "neuralop/training/trainer_options.hpp"
#include "neuralop/training/training_state.hpp"

namespace neuralop {
using training::Trainer;
using training::TrainerOptions;
}  // namespace neuralop
