// The non-linearities layers take as an option (NeuralOperator passes torch functions; default
// F.gelu, the exact erf form).
#pragma once

#include <string_view>

#include "neuralop/autograd/var.hpp"

namespace neuralop::nn {

enum class Activation { gelu, relu, tanh, silu, sigmoid, identity };

inline Activation activation(std::string_view name) {
  if (name == "gelu") return Activation::gelu;
  if (name == "relu") return Activation::relu;
  if (name == "tanh") return Activation::tanh;
  if (name == "silu") return Activation::silu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "identity") return Activation::identity;
  throw_error<value_error>("activation: unknown non-linearity '", name, "' (gelu, relu, tanh, silu, sigmoid, identity)");
}

template <class T, std::size_t R, class B>
Var<T, R, B> activate(Activation a, const Var<T, R, B>& x) {
  switch (a) {
    case Activation::gelu: return Var<T, R, B>(gelu(x));
    case Activation::relu: return Var<T, R, B>(relu(x));
    case Activation::tanh: return Var<T, R, B>(tanh(x));
    case Activation::silu: return Var<T, R, B>(silu(x));
    case Activation::sigmoid: return Var<T, R, B>(sigmoid(x));
    case Activation::identity: return x;
  }
  return x;
}

}  // namespace neuralop::nn
