// neuralop::io: reading and writing the PyTorch world's files (.pt, .npy/.npz, safetensors)
// into a Value tree, and state_dicts.
#pragma once

#include "neuralop/io/pt.hpp"
