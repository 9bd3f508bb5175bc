// Optimizers and learning-rate schedulers (NeuralOperator's AdamW, torch's schedulers).
#pragma once

#include "neuralop/optim/adamw.hpp"
#include "neuralop/optim/lr_scheduler.hpp"
#include "neuralop/optim/optimizer.hpp"
#include "neuralop/optim/reduce_lr_on_plateau.hpp"
