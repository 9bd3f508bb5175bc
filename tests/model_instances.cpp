// The FNO instances compiled once for all test executables (they define NEURALOP_EXTERN_MODELS).
#include "neuralop/models/fno_instantiate.hpp"
