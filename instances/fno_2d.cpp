// FNO<2, float> compiled once (NEURALOP_EXTERN_MODELS): the CLI's model, in a translation unit of
// its own so that a build compiles it in parallel with the rest.
#define NEURALOP_INSTANTIATE_MODELS
#include "neuralop/models/fno.hpp"

template class neuralop::FNO<2, float, neuralop::cpu>;
