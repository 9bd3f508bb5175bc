// neuralop: neural operators in C++. This header brings in the cpu world; include
// <neuralop/cuda.hpp> (from .cu files compiled by nvcc) for the cuda backend.
#pragma once

#include "neuralop/core/config.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/core/rng.hpp"
#include "neuralop/core/scalar.hpp"
#include "neuralop/core/shape.hpp"

#include "neuralop/backend/cpu.hpp"

#include "neuralop/tensor/expr.hpp"
#include "neuralop/tensor/print.hpp"
#include "neuralop/tensor/tensor.hpp"
#include "neuralop/tensor/view.hpp"

#include "neuralop/autograd/autograd.hpp"
#include "neuralop/autograd/gradcheck.hpp"

#include "neuralop/ops/fft.hpp"
#include "neuralop/ops/matmul.hpp"
#include "neuralop/ops/reduce.hpp"
#include "neuralop/ops/shape_ops.hpp"
