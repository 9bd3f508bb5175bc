// Normalization layers of NeuralOperator (neuralop.layers.normalization_layers, torch.nn):
// InstanceNorm, GroupNorm, BatchNorm (running statistics as state_dict buffers) and AdaIN
// (an instance norm whose affine parameters are an MLP of an embedding). All use eps = 1e-5 and
// the biased variance for normalizing, as torch.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "neuralop/nn/channel_mlp.hpp"
#include "neuralop/ops/reduce.hpp"

namespace neuralop::nn {

// A tensor saved in and loaded from the state_dict that is not trained (torch's buffer).
template <TensorScalar T, std::size_t R, class B = cpu>
class Buffer final : public ParameterBase {
 public:
  Buffer() = default;
  explicit Buffer(Tensor<T, R, B> v) : value(std::move(v)) {}
  Tensor<T, R, B> value;

  io::DType dtype() const override { return io::dtype_of<T>; }
  std::vector<index_t> shape() const override { return {value.shape().begin(), value.shape().end()}; }
  index_t numel() const override { return value.numel(); }
  io::RawTensor to_raw() const override { return io::RawTensor::from_tensor(value); }
  void load(const io::RawTensor& t, const std::string& name) override {
    if (t.shape != shape())
      throw_error<shape_error>("load_state_dict: '", name, "' has shape ", format_shape(t.shape), " in the file, the model's is ",
                               format_shape(shape()));
    value = t.template to_tensor<T, R>(!io::is_complex_dtype(t.dtype) && !is_complex_v<T>, "load_state_dict: '" + name + "'")
                .template to<B>();
  }
  void zero_grad() override {}
  std::optional<io::RawTensor> grad_raw() const override { return std::nullopt; }
  std::size_t host_nbytes() const override { return static_cast<std::size_t>(numel()) * sizeof(T); }
  void value_to_host(void* dst) const override {
    B::template copy_to_host<T>(static_cast<T*>(dst), value.data(), static_cast<std::size_t>(numel()));
  }
  void value_from_host(const void* src) override {
    B::template copy_from_host<T>(value.data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
  }
  const char* backend_name() const override { return B::name; }
  void value_to_backend(void* dst) const override {
    B::template copy<T>(static_cast<T*>(dst), value.data(), static_cast<std::size_t>(numel()));
  }
  void value_from_backend(const void* src) override {
    B::template copy<T>(value.data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
  }
};

// torch's int64 scalar counter buffer (BatchNorm's num_batches_tracked).
class CountBuffer final : public ParameterBase {
 public:
  std::int64_t value = 0;
  io::DType dtype() const override { return io::DType::int64; }
  std::vector<index_t> shape() const override { return {}; }
  index_t numel() const override { return 1; }
  io::RawTensor to_raw() const override { return io::RawTensor::from_vector<std::int64_t>({}, std::span<const std::int64_t>(&value, 1)); }
  void load(const io::RawTensor& t, const std::string& name) override {
    if (!t.shape.empty() || t.dtype != io::DType::int64)
      throw_error<shape_error>("load_state_dict: '", name, "' is a ", t.describe(), " in the file, the model's is an int64 scalar");
    value = t.to_vector<std::int64_t>()[0];
  }
  void zero_grad() override {}
  std::optional<io::RawTensor> grad_raw() const override { return std::nullopt; }
  std::size_t host_nbytes() const override { return sizeof(value); }
  void value_to_host(void* dst) const override { std::memcpy(dst, &value, sizeof(value)); }
  void value_from_host(const void* src) override { std::memcpy(&value, src, sizeof(value)); }
};

namespace detail {
// (x - mean) / sqrt(var + eps), mean and biased var over the last axis of x viewed as
// [batch, groups, rest] (torch's group_norm without affine; groups = C is instance norm).
template <class T, std::size_t R, class B>
Var<T, R, B> group_standardize(const Var<T, R, B>& x, index_t groups, double eps) {
  const Shape<R> s = x.shape();
  const index_t m = x.numel() / (s[0] * groups);
  const auto v = reshape(x, Shape<3>{s[0], groups, m});
  const Var<T, 3, B> xc = v - mean(v, {2}, keepdim);
  const auto var = mean(Var<T, 3, B>(xc * xc), {2}, keepdim);
  return reshape(Var<T, 3, B>(xc / sqrt(var + T(eps))), s);
}
// A per-channel vector [C] as [1, C, 1, ...] for broadcasting against [B, C, spatial...].
template <std::size_t R, class V>
auto channel_view(const V& v) {
  Shape<R> s{};
  s.fill(1);
  s[1] = v.shape()[0];
  return reshape(v, s);
}
template <class T, std::size_t R, class B>
void check_norm_input(const Var<T, R, B>& x, index_t channels, const std::string& where) {
  static_assert(R >= 3, "normalization layers take [batch, channels, spatial...]");
  if (channels > 0 && x.shape()[1] != channels)
    throw_error<shape_error>(where, ": input ", format_shape(x.shape()), " has ", x.shape()[1], " channels, the layer has ", channels);
}
}  // namespace detail

// F.instance_norm: each (sample, channel) standardized over its spatial positions; no parameters.
template <class T = float, class B = cpu>
class InstanceNorm : public Module {
 public:
  explicit InstanceNorm(double eps = 1e-5) : eps_(eps) {}
  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    detail::check_norm_input(x, 0, where("InstanceNorm"));
    return detail::group_standardize(x, x.shape()[1], eps_);
  }

 private:
  double eps_;
};

// nn.GroupNorm(num_groups, num_channels): channels split into groups, each (sample, group)
// standardized over its channels and positions, then y * weight[c] + bias[c] (ones, zeros).
template <class T = float, class B = cpu>
class GroupNorm : public Module {
 public:
  GroupNorm(int num_groups, int num_channels, double eps = 1e-5) : groups_(num_groups), channels_(num_channels), eps_(eps) {
    if (num_groups <= 0 || num_channels <= 0 || num_channels % num_groups != 0)
      throw_error<value_error>("GroupNorm: num_channels ", num_channels, " must be a positive multiple of num_groups ", num_groups);
    weight_ = Parameter<T, 1, B>(Tensor<T, 1, B>::ones({num_channels}));
    bias_ = Parameter<T, 1, B>(Tensor<T, 1, B>::zeros({num_channels}));
    register_parameter("weight", weight_);
    register_parameter("bias", bias_);
  }
  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    detail::check_norm_input(x, channels_, where("GroupNorm"));
    const auto y = detail::group_standardize(x, groups_, eps_);
    return Var<T, R, B>(y * detail::channel_view<R>(weight_.var) + detail::channel_view<R>(bias_.var));
  }

 private:
  int groups_, channels_;
  double eps_;
  Parameter<T, 1, B> weight_, bias_;
};

// torch's BatchNorm{1,2,3}d (NeuralOperator's BatchNorm(n_dim, C) holds it as `norm`; for
// n_dim > 3 it flattens the spatial axes into BatchNorm1d, which is the same computation).
// Training: statistics over batch and positions; running_mean/var <- (1 - 0.1) * running +
// 0.1 * batch statistic, the variance unbiased (n / (n - 1)); num_batches_tracked += 1 (not
// again when checkpoint() recomputes the forward in backward: is_recomputing()).
// Evaluation (eval()): (x - running_mean) / sqrt(running_var + eps).
template <class T = float, class B = cpu>
class BatchNorm : public Module {
 public:
  BatchNorm(int num_features, double eps = 1e-5, double momentum = 0.1) : core_(num_features, eps, momentum) {
    if (num_features <= 0) throw_error<value_error>("BatchNorm: num_features ", num_features, " must be positive");
    register_module("norm", core_);
  }
  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    return core_(x, where("BatchNorm"));
  }
  const Tensor<T, 1, B>& running_mean() const { return core_.running_mean.value; }
  const Tensor<T, 1, B>& running_var() const { return core_.running_var.value; }
  std::int64_t num_batches_tracked() const { return core_.num_batches_tracked.value; }

 private:
  struct Core : Module {
    Core(int c, double eps_, double momentum_) : channels(c), eps(eps_), momentum(momentum_) {
      weight = Parameter<T, 1, B>(Tensor<T, 1, B>::ones({c}));
      bias = Parameter<T, 1, B>(Tensor<T, 1, B>::zeros({c}));
      running_mean = Buffer<T, 1, B>(Tensor<T, 1, B>::zeros({c}));
      running_var = Buffer<T, 1, B>(Tensor<T, 1, B>::ones({c}));
      register_parameter("weight", weight);
      register_parameter("bias", bias);
      register_buffer("running_mean", running_mean);
      register_buffer("running_var", running_var);
      register_buffer("num_batches_tracked", num_batches_tracked);
    }
    template <std::size_t R>
    Var<T, R, B> operator()(const Var<T, R, B>& x, const std::string& where) const {
      detail::check_norm_input(x, channels, where);
      const Shape<R> s = x.shape();
      const index_t n = x.numel() / channels;  // values per channel
      const auto v = reshape(x, Shape<3>{s[0], channels, n / s[0]});
      Var<T, 3, B> y;
      if (training()) {
        if (n <= 1)
          throw_error<value_error>(where, ": training mode needs more than 1 value per channel, got input ", format_shape(s));
        const auto mu = mean(v, {0, 2}, keepdim);
        const Var<T, 3, B> xc = v - mu;
        const auto var = mean(Var<T, 3, B>(xc * xc), {0, 2}, keepdim);
        y = xc / sqrt(var + T(eps));
        if (!is_recomputing()) {
          NoGradGuard ng;
          const T m = T(momentum), unbias = T(double(n) / double(n - 1));
          running_mean.value.assign(running_mean.value * (T(1) - m) + reshape(mu.value(), Shape<1>{channels}) * m);
          running_var.value.assign(running_var.value * (T(1) - m) + reshape(var.value(), Shape<1>{channels}) * (m * unbias));
          ++num_batches_tracked.value;
        }
      } else {
        const auto rm = reshape(running_mean.value, Shape<3>{1, channels, 1});
        const auto rv = reshape(running_var.value, Shape<3>{1, channels, 1});
        y = (v - rm) / sqrt(rv + T(eps));
      }
      return reshape(Var<T, 3, B>(y * detail::channel_view<3>(weight.var) + detail::channel_view<3>(bias.var)), s);
    }
    int channels;
    double eps, momentum;
    Parameter<T, 1, B> weight, bias;
    // Updated by a training-mode forward, which is const as every layer call.
    mutable Buffer<T, 1, B> running_mean, running_var;
    mutable CountBuffer num_batches_tracked;
  };
  Core core_;
};

// AdaIN(embed_dim, in_channels): (weight, bias) = split(mlp(embedding)), mlp = Linear(embed_dim,
// 512) -> GELU -> Linear(512, 2 in_channels) (keys mlp.0.*, mlp.2.*); y = instance_norm(x) *
// weight[c] + bias[c], the same affine map for the whole batch.
template <class T = float, class B = cpu>
class AdaIN : public Module {
 public:
  AdaIN(int embed_dim, int in_channels, double eps = 1e-5, Generator& gen = default_generator())
      : embed_dim_(embed_dim), channels_(in_channels), eps_(eps), fc0_(check(embed_dim, in_channels), 512, true, gen),
        fc2_(512, 2 * in_channels, true, gen) {
    register_module("mlp.0", fc0_);
    register_module("mlp.2", fc2_);
  }
  // The embedding (embed_dim values, any shape, as torch's reshape(embed_dim)); it may require grad.
  template <std::size_t R>
  void set_embedding(const Var<T, R, B>& e) {
    if (e.numel() != embed_dim_)
      throw_error<shape_error>(where("AdaIN"), ": embedding ", format_shape(e.shape()), " has ", e.numel(), " values, embed_dim is ", embed_dim_);
    embedding_ = reshape(e, Shape<2>{1, embed_dim_});
  }
  template <std::size_t R>
  Var<T, R, B> operator()(const Var<T, R, B>& x) const {
    detail::check_norm_input(x, channels_, where("AdaIN"));
    if (!embedding_.defined()) throw_error<value_error>(where("AdaIN"), ": call set_embedding before running forward");
    const auto wb = fc2_(Var<T, 2, B>(gelu(fc0_(embedding_))));  // [1, 2C]
    const auto w = reshape(slice(wb, 1, 0, channels_), Shape<1>{channels_});
    const auto b = reshape(slice(wb, 1, channels_, 2 * channels_), Shape<1>{channels_});
    const auto y = detail::group_standardize(x, channels_, eps_);
    return Var<T, R, B>(y * detail::channel_view<R>(w) + detail::channel_view<R>(b));
  }

 private:
  static int check(int embed_dim, int in_channels) {
    if (embed_dim <= 0 || in_channels <= 0)
      throw_error<value_error>("AdaIN: embed_dim ", embed_dim, " and in_channels ", in_channels,
                               " must be positive (FNOBlocks: set ada_in_features with norm \"ada_in\")");
    return embed_dim;
  }
  int embed_dim_, channels_;
  double eps_;
  Linear<T, B> fc0_, fc2_;
  Var<T, 2, B> embedding_;
};

}  // namespace neuralop::nn
