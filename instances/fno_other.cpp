// The other FNOs of models/fno_instances.def compiled once (NEURALOP_EXTERN_MODELS); FNO<2, float>
// is in fno_2d.cpp. Keep the two files and the .def in step.
#define NEURALOP_INSTANTIATE_MODELS
#include "neuralop/models/fno.hpp"

template class neuralop::FNO<1, float, neuralop::cpu>;
template class neuralop::FNO<3, float, neuralop::cpu>;
template class neuralop::FNO<1, std::complex<float>, neuralop::cpu>;
template class neuralop::FNO<2, std::complex<float>, neuralop::cpu>;
