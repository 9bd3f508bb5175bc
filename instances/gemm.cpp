// The GEMM kernels compiled once for the tests and programs (they define NEURALOP_EXTERN_GEMM).
#include "neuralop/backend/cpu/gemm_instantiate.hpp"
