// neuralop with the cuda backend. Include only from .cu files compiled by nvcc.
#pragma once

#if !defined(__CUDACC__)
#error "neuralop/cuda.hpp must be compiled by nvcc (a .cu file); include neuralop/neuralop.hpp for the cpu backend"
#endif

#include "neuralop/backend/cuda.hpp"
#include "neuralop/neuralop.hpp"
