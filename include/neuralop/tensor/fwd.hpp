// Forward declarations of the tensor types (defaults live here, once).
#pragma once

#include <cstddef>

#include "neuralop/core/scalar.hpp"

namespace neuralop {

struct cpu;
struct cuda;

template <TensorScalar T, std::size_t R, class B = cpu>
class Tensor;

// T may be const-qualified for read-only views.
template <class T, std::size_t R, class B = cpu>
class TensorView;

}  // namespace neuralop
