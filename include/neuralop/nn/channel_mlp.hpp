// Pointwise channel maps: Conv1x1 (torch's Conv1d with kernel 1 over flattened positions, the
// "fcs.k" of NeuralOperator's ChannelMLP), ChannelMLP (neuralop.layers.channel_mlp), Linear
// (torch's nn.Linear on the last axis), LinearChannelMLP, and dropout.
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
    const auto w = weight_matrix(x);
    return bias_.var.defined() ? channel_contract(x, w, bias_.var) : channel_contract(x, w);
  }
  // y + this(x), in one pass fewer than adding afterwards.
  template <std::size_t R>
  Var<T, R, B> add_to(const Var<T, R, B>& y, const Var<T, R, B>& x) const {
    if (bias_.var.defined()) return Var<T, R, B>(y + (*this)(x));
    return channel_contract_add(x, weight_matrix(x), y);
  }

 private:
  // The weight as [out, in], for an input checked to have in channels.
  template <std::size_t R>
  Var<T, 2, B> weight_matrix(const Var<T, R, B>& x) const {
    if (x.shape()[1] != in_)
      throw_error<shape_error>(this->where("Conv1x1"), ": input ", format_shape(x.shape()), " has ", x.shape()[1], " channels, the layer takes ", in_);
    return reshape(weight_.var, Shape<2>{out_, in_});
  }

  int in_, out_;
  Parameter<T, 3, B> weight_;
  Parameter<T, 1, B> bias_;
};

// y = x W^T + b on the last axis; weight [out, in], bias [out], both U(-1/sqrt(in), 1/sqrt(in)).
template <class T = float, class B = cpu>
class Linear : public Module {
 public:
  Linear(int in, int out, bool bias = true, Generator& gen = default_generator()) : in_(in), out_(out) {
    if (in <= 0 || out <= 0) throw_error<value_error>("Linear: features ", in, " -> ", out, " must be positive");
    const T bound = T(1.0 / std::sqrt(double(in)));
    weight_ = Parameter<T, 2, B>(Tensor<T, 2, B>::uniform({out, in}, -bound, bound, gen));
    register_parameter("weight", weight_);
    if (bias) {
      bias_ = Parameter<T, 1, B>(Tensor<T, 1, B>::uniform({out}, -bound, bound, gen));
      register_parameter("bias", bias_);
    }
  }
  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    static_assert(R >= 1);
    if (x.shape()[R - 1] != in_)
      throw_error<shape_error>(this->where("Linear"), ": input ", format_shape(x.shape()), " has ", x.shape()[R - 1],
                               " features on its last axis, the layer takes ", in_);
    if constexpr (R == 1) {
      return reshape((*this)(reshape(x, Shape<2>{1, in_})), Shape<1>{out_});
    } else {
      auto y = matmul(x, permute(weight_.var, {1, 0}));
      if (!bias_.var.defined()) return y;
      Shape<R> bs{};
      bs.fill(1);
      bs[R - 1] = out_;
      return Var<T, R, B>(y + reshape(bias_.var, bs));
    }
  }

 private:
  int in_, out_;
  Parameter<T, 2, B> weight_;
  Parameter<T, 1, B> bias_;
};

// torch's F.dropout in training mode: each value zeroed with probability p, the others scaled
// by 1 / (1 - p). The mask is drawn from `gen` (our generator: not torch's bit stream).
template <class T, std::size_t R, class B>
Var<T, R, B> dropout(const Var<T, R, B>& x, double p, Generator& gen = default_generator()) {
  if (!(p >= 0.0 && p <= 1.0)) throw_error<value_error>("dropout: probability ", p, " is not in [0, 1]");
  if (p == 0.0) return x;
  if (p == 1.0) return Var<T, R, B>(x * T(0));
  const auto u = Tensor<T, R, cpu>::uniform(x.shape(), 0, 1, gen).to_vector();
  std::vector<T> mask(u.size());
  const T keep = T(1.0 / (1.0 - p));
  for (std::size_t i = 0; i < u.size(); ++i) mask[i] = double(u[i]) < p ? T(0) : keep;
  const auto m = Tensor<T, R, cpu>::from_data(x.shape(), std::span<const T>(mask)).template to<B>();
  return Var<T, R, B>(x * m);
}

namespace detail {
inline void check_dropout(double p, const char* layer) {
  if (!(p >= 0.0 && p <= 1.0)) throw_error<value_error>(layer, ": dropout ", p, " is not a probability in [0, 1]");
}
// NeuralOperator's MLP order: layer, the activation between layers, dropout (training mode)
// after every layer, the last included.
template <class Layers, class V>
V run_mlp(const Layers& fcs, Activation act, double p, bool training, V x) {
  for (std::size_t k = 0; k < fcs.size(); ++k) {
    x = (*fcs[k])(x);
    if (k + 1 < fcs.size()) x = activate(act, x);
    if (p > 0 && training) x = dropout(x, p);
  }
  return x;
}
}  // namespace detail

struct ChannelMLPOptions {
  int in_channels = 0;
  int out_channels = 0;     // 0: in_channels
  int hidden_channels = 0;  // 0: in_channels
  int n_layers = 2;
  Activation non_linearity = Activation::gelu;
  double dropout = 0.0;  // after EVERY layer, the last included, in training mode
};

// fcs.0: in -> hidden, fcs.1..: hidden -> hidden, the last -> out; the activation after every
// layer but the last; with dropout > 0 (training mode) dropout after every layer.
template <class T = float, class B = cpu>
class ChannelMLP : public Module {
 public:
  explicit ChannelMLP(ChannelMLPOptions opt, Generator& gen = default_generator()) : act_(opt.non_linearity), dropout_(opt.dropout) {
    const int out = opt.out_channels ? opt.out_channels : opt.in_channels;
    const int hidden = opt.hidden_channels ? opt.hidden_channels : opt.in_channels;
    if (opt.n_layers < 1) throw_error<value_error>("ChannelMLP: n_layers ", opt.n_layers, " must be >= 1");
    detail::check_dropout(opt.dropout, "ChannelMLP");
    for (int k = 0; k < opt.n_layers; ++k) {
      const int a = k == 0 ? opt.in_channels : hidden, b = k + 1 == opt.n_layers ? out : hidden;
      fcs_.push_back(std::make_unique<Conv1x1<T, B>>(a, b, true, gen));
      register_module("fcs." + std::to_string(k), *fcs_.back());
    }
  }
  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    return detail::run_mlp(fcs_, act_, dropout_, training(), x);
  }

 private:
  Activation act_;
  double dropout_;
  std::vector<std::unique_ptr<Conv1x1<T, B>>> fcs_;
};

// LinearChannelMLP(layers = {c_0, ..., c_L}): fcs.k = Linear(c_k, c_{k+1}) on the last axis, the
// activation between layers, dropout (training mode) after every layer.
template <class T = float, class B = cpu>
class LinearChannelMLP : public Module {
 public:
  explicit LinearChannelMLP(std::vector<int> layers, Activation non_linearity = Activation::gelu, double dropout = 0.0,
                            Generator& gen = default_generator())
      : act_(non_linearity), dropout_(dropout) {
    if (layers.size() < 2)
      throw_error<value_error>("LinearChannelMLP: layers needs at least 2 sizes (in and out channels), got ", layers.size());
    detail::check_dropout(dropout, "LinearChannelMLP");
    for (std::size_t k = 0; k + 1 < layers.size(); ++k) {
      fcs_.push_back(std::make_unique<Linear<T, B>>(layers[k], layers[k + 1], true, gen));
      register_module("fcs." + std::to_string(k), *fcs_.back());
    }
  }
  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    return detail::run_mlp(fcs_, act_, dropout_, training(), x);
  }

 private:
  Activation act_;
  double dropout_;
  std::vector<std::unique_ptr<Linear<T, B>>> fcs_;
};

}  // namespace neuralop::nn
