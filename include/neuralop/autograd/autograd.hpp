// Reverse-mode autodiff: Var, graph nodes, backward, no-grad scopes, activation checkpointing,
// saved-tensor hooks and activation offload.
#pragma once

#include "neuralop/autograd/checkpoint.hpp"
#include "neuralop/autograd/elementwise_node.hpp"
#include "neuralop/autograd/engine.hpp"
#include "neuralop/autograd/function.hpp"
#include "neuralop/autograd/grad_mode.hpp"
#include "neuralop/autograd/offload.hpp"
#include "neuralop/autograd/saved.hpp"
#include "neuralop/autograd/saved_tensor_hooks.hpp"
#include "neuralop/autograd/var.hpp"
