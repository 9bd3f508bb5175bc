// Explicit instantiations of the cpu GEMM kernels, for programs that define
// NEURALOP_EXTERN_GEMM (see gemm.hpp). Include in exactly one translation unit.
#pragma once

#define NEURALOP_INSTANTIATE_GEMM
#include "neuralop/backend/cpu/gemm.hpp"

namespace neuralop::cpu_detail {
#define NEURALOP_GEMM_INSTANTIATE(Ty, ta, tb) \
  template void gemm<Ty, ta, tb>(const GemmShape&, Ty, const Ty*, const Ty*, Ty, Ty*);
NEURALOP_GEMM_FOR_EACH(NEURALOP_GEMM_INSTANTIATE)
#undef NEURALOP_GEMM_INSTANTIATE
#define NEURALOP_GEMM_BIAS_ADD_INSTANTIATE(Ty) \
  template void gemm_bias_add<Ty, Trans::N, Trans::N>(const GemmShape&, const Ty*, const Ty*, const Ty*, const Ty*, index_t, Ty*);
NEURALOP_GEMM_BIAS_ADD_INSTANTIATE(float)
NEURALOP_GEMM_BIAS_ADD_INSTANTIATE(double)
NEURALOP_GEMM_BIAS_ADD_INSTANTIATE(std::complex<float>)
NEURALOP_GEMM_BIAS_ADD_INSTANTIATE(std::complex<double>)
#undef NEURALOP_GEMM_BIAS_ADD_INSTANTIATE
}  // namespace neuralop::cpu_detail
