// NeuralOperator's skip connections (neuralop.layers.skip_connections.skip_connection):
// "linear" (Flattened1dConv: a bias-free 1x1 conv, key conv.weight), "soft-gating" (a learned
// per-channel scale, key weight [1, C, 1...], initialised to ones), "identity".
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "neuralop/nn/channel_mlp.hpp"

namespace neuralop::nn {

enum class SkipType { linear, soft_gating, identity };

inline std::optional<SkipType> skip_type(std::string_view name) {
  std::string n(name);
  for (auto& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (n == "linear") return SkipType::linear;
  if (n == "soft-gating") return SkipType::soft_gating;
  if (n == "identity") return SkipType::identity;
  if (n.empty() || n == "none") return std::nullopt;
  throw_error<value_error>("skip_connection: unknown skip_type '", name, "' (linear, soft-gating, identity, none)");
}

template <std::size_t D, class T = float, class B = cpu>
class SkipConnection : public Module {
 public:
  SkipConnection(int in, int out, SkipType type, Generator& gen = default_generator()) : type_(type) {
    if (type == SkipType::linear) {
      conv_ = std::make_unique<Conv1x1<T, B>>(in, out, false, gen);
      register_module("conv", *conv_);
    } else if (type == SkipType::soft_gating) {
      if (in != out)
        throw_error<value_error>("skip_connection: soft-gating needs in_channels == out_channels, got ", in, " and ", out);
      Shape<D + 2> s{};
      s.fill(1);
      s[1] = in;
      weight_ = Parameter<T, D + 2, B>(Tensor<T, D + 2, B>::ones(s));
      register_parameter("weight", weight_);
    }
  }
  Var<T, D + 2, B> operator()(const Var<T, D + 2, B>& x) const {
    switch (type_) {
      case SkipType::linear: return (*conv_)(x);
      case SkipType::soft_gating: return Var<T, D + 2, B>(x * weight_.var);
      case SkipType::identity: return x;
    }
    return x;
  }
  // y + this(x), fused: the linear skip accumulates onto y in its GEMM, soft-gating and
  // identity are one elementwise pass with the sum.
  Var<T, D + 2, B> add_to(const Var<T, D + 2, B>& y, const Var<T, D + 2, B>& x) const {
    switch (type_) {
      case SkipType::linear: return conv_->add_to(y, x);
      case SkipType::soft_gating: return Var<T, D + 2, B>(y + x * weight_.var);
      case SkipType::identity: return Var<T, D + 2, B>(y + x);
    }
    return Var<T, D + 2, B>(y + (*this)(x));
  }
  // gelu(y + this(x)): soft-gating and identity as one elementwise pass, forward and backward
  // (the sum is never stored; gelu's backward re-forms it from y, x and the weight). The linear
  // skip adds in its GEMM, then gelu runs on the sum.
  Var<T, D + 2, B> add_to_gelu(const Var<T, D + 2, B>& y, const Var<T, D + 2, B>& x) const {
    switch (type_) {
      case SkipType::soft_gating: return Var<T, D + 2, B>(gelu(y + x * weight_.var));
      case SkipType::identity: return Var<T, D + 2, B>(gelu(y + x));
      case SkipType::linear: break;
    }
    return Var<T, D + 2, B>(gelu(add_to(y, x)));
  }

 private:
  SkipType type_;
  std::unique_ptr<Conv1x1<T, B>> conv_;
  Parameter<T, D + 2, B> weight_;
};

}  // namespace neuralop::nn
