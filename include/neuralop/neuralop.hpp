// neuralop: neural operators in C++. This header brings in the whole cpu world: tensors,
// autograd and ops (base.hpp), file io, layers and models, losses, optimizers, data and training.
// Include <neuralop/cuda.hpp> (from .cu files compiled by nvcc) for the cuda backend.
#pragma once

#include "neuralop/base.hpp"

#include "neuralop/io/io.hpp"
#include "neuralop/nn/module.hpp"
#include "neuralop/nn/spectral_conv.hpp"
#include "neuralop/nn/fno_block.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/losses/losses.hpp"
#include "neuralop/optim/optim.hpp"
#include "neuralop/data/data.hpp"
#include "neuralop/training/training.hpp"
