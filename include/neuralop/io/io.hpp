// neuralop::io: reading and writing the PyTorch world's files (.pt, .npy/.npz, safetensors)
// into a Value tree, and state_dicts.
#pragma once

#include "neuralop/io/npy.hpp"
#include "neuralop/io/pt.hpp"
#include "neuralop/io/safetensors.hpp"
#include "neuralop/io/state_dict.hpp"
