// Explicit instantiations of the FNOs that NEURALOP_EXTERN_MODELS declares extern (models/fno.hpp).
// Include in exactly one translation unit of a program built with NEURALOP_EXTERN_MODELS.
#pragma once

#define NEURALOP_INSTANTIATE_MODELS
#include "neuralop/models/fno.hpp"

namespace neuralop {
#define NEURALOP_MODEL_INSTANCE(D, T) template class FNO<D, T, cpu>;
#include "neuralop/models/fno_instances.def"
#undef NEURALOP_MODEL_INSTANCE
}  // namespace neuralop
