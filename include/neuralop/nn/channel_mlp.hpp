// Pointwise channel maps: Conv1x1 (torch's Conv1d with kernel 1 over flattened positions, the
// "fcs.k" of NeuralOperator's ChannelMLP) and ChannelMLP (neuralop.layers.channel_mlp).
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "neuralop/nn/activation.hpp"
#include "neuralop/nn/module.hpp"
#include "neuralop/ops/matmul.hpp"
#include "neuralop/ops/shape_ops.hpp"

namespace neuralop::nn {

// y[b, o, s] = sum_i W[o, i, 0] x[b, i, s] (+ bias[o]); weight [out, in, 1] as torch stores it.
// Initialised as torch's Conv1d: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
template <class T = float, class B = cpu>
class Conv1x1 : public Module {
 public:
  Conv1x1(int in, int out, bool bias, Generator& gen = default_generator()) : in_(in), out_(out) {
    if (in <= 0 || out <= 0) throw_error<value_error>("Conv1x1: channels ", in, " -> ", out, " must be positive");
    const T bound = T(1.0 / std::sqrt(double(in)));
    weight_ = Parameter<T, 3, B>(Tensor<T, 3, B>::uniform({out, in, 1}, -bound, bound, gen));
    register_parameter("weight", weight_);
    if (bias) {
      bias_ = Parameter<T, 1, B>(Tensor<T, 1, B>::uniform({out}, -bound, bound, gen));
      register_parameter("bias", bias_);
    }
  }
  int in_channels() const { return in_; }
  int out_channels() const { return out_; }

  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    if (x.shape()[1] != in_)
      throw_error<shape_error>(this->where("Conv1x1"), ": input ", format_shape(x.shape()), " has ", x.shape()[1], " channels, the layer takes ", in_);
    auto y = channel_contract(x, reshape(weight_.var, Shape<2>{out_, in_}));
    if (!bias_.var.defined()) return y;
    Shape<R - 1> bs{};
    bs.fill(1);
    bs[0] = out_;
    return Var<T, R, B>(y + reshape(bias_.var, bs));
  }

 private:
  int in_, out_;
  Parameter<T, 3, B> weight_;
  Parameter<T, 1, B> bias_;
};

struct ChannelMLPOptions {
  int in_channels = 0;
  int out_channels = 0;     // 0: in_channels
  int hidden_channels = 0;  // 0: in_channels
  int n_layers = 2;
  Activation non_linearity = Activation::gelu;
};

// fcs.0: in -> hidden, fcs.1..: hidden -> hidden, the last -> out; the activation after every
// layer but the last. (Dropout is not supported yet.)
template <class T = float, class B = cpu>
class ChannelMLP : public Module {
 public:
  explicit ChannelMLP(ChannelMLPOptions opt, Generator& gen = default_generator()) : act_(opt.non_linearity) {
    const int out = opt.out_channels ? opt.out_channels : opt.in_channels;
    const int hidden = opt.hidden_channels ? opt.hidden_channels : opt.in_channels;
    if (opt.n_layers < 1) throw_error<value_error>("ChannelMLP: n_layers ", opt.n_layers, " must be >= 1");
    for (int k = 0; k < opt.n_layers; ++k) {
      const int a = k == 0 ? opt.in_channels : hidden, b = k + 1 == opt.n_layers ? out : hidden;
      fcs_.push_back(std::make_unique<Conv1x1<T, B>>(a, b, true, gen));
      register_module("fcs." + std::to_string(k), *fcs_.back());
    }
  }
  template <std::size_t R>
  Var<T, R, B> operator()(Var<T, R, B> x) const {
    for (std::size_t k = 0; k < fcs_.size(); ++k) {
      x = (*fcs_[k])(x);
      if (k + 1 < fcs_.size()) x = activate(act_, x);
    }
    return x;
  }

 private:
  Activation act_;
  std::vector<std::unique_ptr<Conv1x1<T, B>>> fcs_;
};

}  // namespace neuralop::nn
