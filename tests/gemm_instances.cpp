// The GEMM kernels compiled once for all test executables (they define NEURALOP_EXTERN_GEMM).
#include "neuralop/backend/cpu/gemm_instantiate.hpp"
