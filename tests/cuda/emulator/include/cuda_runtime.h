// The CUDA emulator's cuda_runtime.h (tests/cuda/emulator/neuralop_cuda_emulator.h).
#pragma once
#include "neuralop_cuda_emulator.h"
