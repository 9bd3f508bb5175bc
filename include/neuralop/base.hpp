// The foundation of the cpu world: core, the cpu backend, tensors, autograd and the ops. Most
// code wants <neuralop/neuralop.hpp> (everything); this lighter header serves code that uses
// only these layers (and this project's tests, to keep their compile time down).
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
