// neuralop with the cuda backend. Include only from .cu files compiled by nvcc (or, in the
// emulated test build, by the host compiler against tests/cuda/emulator: NEURALOP_CUDA_EMULATOR).
#pragma once

#if !defined(__CUDACC__) && !defined(NEURALOP_CUDA_EMULATOR)
#error "neuralop/cuda.hpp must be compiled by nvcc (a .cu file); include neuralop/neuralop.hpp for the cpu backend"
#endif

// The cpu world (Eigen's Tensor module, its thread pool) is host code here too: without
// EIGEN_NO_CUDA, nvcc treats Eigen's EIGEN_DEVICE_FUNC members as __host__ __device__, and some
// (the thread pool's waiters) call host-only std functions, an error with
// -Werror=cross-execution-space-call. The cuda backend does not use Eigen on the device.
#if defined(EIGEN_WORLD_VERSION) && !defined(EIGEN_NO_CUDA)
#error "include neuralop/cuda.hpp before any Eigen header, or define EIGEN_NO_CUDA"
#endif
#ifndef EIGEN_NO_CUDA
#define EIGEN_NO_CUDA
#endif

#if defined(NEURALOP_CUDA_DEFINITIONS) && !NEURALOP_CUDA_DEFINITIONS
#error "neuralop/backend/cuda.hpp was included before neuralop/cuda.hpp: include neuralop/cuda.hpp first"
#endif
#undef NEURALOP_CUDA_DEFINITIONS
#define NEURALOP_CUDA_DEFINITIONS 1
#include "neuralop/backend/cuda.hpp"
#include "neuralop/backend/cuda/definitions.cuh"
#include "neuralop/base.hpp"
