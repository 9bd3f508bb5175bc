// FNO<D> (neuralop.models.FNO) and TFNO<D> (its Tucker-factorized variant): grid positional
// embedding, lifting ChannelMLP, domain padding, n_layers Fourier layers (FNOBlocks), unpadding,
// projection ChannelMLP; NeuralOperator's option names, defaults and state_dict keys, one
// implementation for every dimension D.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/autograd/checkpoint.hpp"
#include "neuralop/nn/embeddings.hpp"
#include "neuralop/nn/fno_block.hpp"
#include "neuralop/nn/padding.hpp"

namespace neuralop {

// NeuralOperator's FNO keyword arguments, in its order, with its defaults ("" stands for None).
// TFNO differs only in the defaults of factorization ("tucker") and rank (0.1). Not here:
// complex_data (use T = std::complex<float>), conv_module, decomposition_kwargs.
template <bool Tucker>
struct BasicFNOOptions {
  std::vector<int> n_modes = {};
  int in_channels = 0;
  int out_channels = 0;
  int hidden_channels = 0;
  int n_layers = 4;
  double lifting_channel_ratio = 2;
  double projection_channel_ratio = 2;
  std::string positional_embedding = "grid";  // "grid" or "none"
  nn::Activation non_linearity = nn::Activation::gelu;
  std::string norm = "";  // "" (None), "instance_norm", "group_norm", "batch_norm" ("ada_in": FNOBlocks)
  int norm_groups = 1;
  bool use_channel_mlp = true;
  double channel_mlp_dropout = 0;
  double channel_mlp_expansion = 0.5;
  std::string channel_mlp_skip = "soft-gating";
  std::string fno_skip = "linear";
  // None, a number (every layer), one factor per layer, or one per-axis list per layer.
  nn::ScalingFactor resolution_scaling_factor = {};
  // A fraction of each spatial size padded on both sides: {f} for every axis or one per axis;
  // {} or all zeros: no padding.
  std::vector<double> domain_padding = {};
  std::string fno_block_precision = "full";
  std::string stabilizer = "";  // "" (None) or "tanh"
  std::optional<std::vector<int>> max_n_modes = {};
  std::string factorization = Tucker ? "tucker" : "";
  double rank = Tucker ? 0.1 : 1.0;
  std::optional<int> rank_int = {};  // an integer rank instead of the fraction
  bool fixed_rank_modes = false;
  std::string implementation = "factorized";
  bool separable = false;
  bool preactivation = false;
  int conv_bias_kernel = 1;
  std::string fft_norm = "forward";  // SpectralConv's, NeuralOperator's default
  bool enforce_hermitian_symmetry = false;
  // Extension (not a NeuralOperator argument): in training with grad enabled, the lifting and
  // each Fourier layer run under checkpoint() (autograd/checkpoint.hpp): their activations are
  // recomputed in backward instead of kept, for one more forward of them. Same gradients, bitwise.
  bool activation_checkpointing = false;
};
using FNOOptions = BasicFNOOptions<false>;
using TFNOOptions = BasicFNOOptions<true>;

// The same options with FNO's type (TFNO keeps its own defaults only until here).
inline FNOOptions to_fno_options(const TFNOOptions& t) {
  FNOOptions o;
  o.n_modes = t.n_modes;
  o.in_channels = t.in_channels;
  o.out_channels = t.out_channels;
  o.hidden_channels = t.hidden_channels;
  o.n_layers = t.n_layers;
  o.lifting_channel_ratio = t.lifting_channel_ratio;
  o.projection_channel_ratio = t.projection_channel_ratio;
  o.positional_embedding = t.positional_embedding;
  o.non_linearity = t.non_linearity;
  o.norm = t.norm;
  o.norm_groups = t.norm_groups;
  o.use_channel_mlp = t.use_channel_mlp;
  o.channel_mlp_dropout = t.channel_mlp_dropout;
  o.channel_mlp_expansion = t.channel_mlp_expansion;
  o.channel_mlp_skip = t.channel_mlp_skip;
  o.fno_skip = t.fno_skip;
  o.resolution_scaling_factor = t.resolution_scaling_factor;
  o.domain_padding = t.domain_padding;
  o.fno_block_precision = t.fno_block_precision;
  o.stabilizer = t.stabilizer;
  o.max_n_modes = t.max_n_modes;
  o.factorization = t.factorization;
  o.rank = t.rank;
  o.rank_int = t.rank_int;
  o.fixed_rank_modes = t.fixed_rank_modes;
  o.implementation = t.implementation;
  o.separable = t.separable;
  o.preactivation = t.preactivation;
  o.conv_bias_kernel = t.conv_bias_kernel;
  o.fft_norm = t.fft_norm;
  o.enforce_hermitian_symmetry = t.enforce_hermitian_symmetry;
  o.activation_checkpointing = t.activation_checkpointing;
  return o;
}

// T = std::complex<float> is NeuralOperator's complex_data=True: lifting and projection (and the
// blocks' skips, MLPs, norms) are ComplexValued, keys gain ".fr." / ".fi.".
template <std::size_t D, class T = float, class B = cpu>
class FNO : public nn::Module {
  using V = Var<T, D + 2, B>;
  using MLP = typename nn::FNOBlocks<D, T, B>::MLP;

 public:
  explicit FNO(FNOOptions opt, Generator& gen = default_generator());

  // output_shape: the spatial size of the last layer's output.
  V operator()(const V& x, std::optional<Shape<D>> output_shape = std::nullopt) const { return forward(x, output_shape); }
  V forward(const V& x, std::optional<Shape<D>> output_shape = std::nullopt) const {
    std::vector<std::optional<Shape<D>>> shapes(std::size_t(opt_.n_layers));
    shapes.back() = output_shape;
    return forward(x, shapes);
  }
  // One output size (or nullopt) per layer.
  V forward(const V& x, const std::vector<std::optional<Shape<D>>>& output_shapes) const;
  V forward(const Tensor<T, D + 2, B>& x) const { return forward(V(x)); }

  nn::FNOBlocks<D, T, B>& fno_blocks() { return blocks_; }
  const FNOOptions& options() const { return opt_; }
  void set_n_modes(const std::vector<int>& n_modes) { blocks_.set_n_modes(n_modes); }
  // FNOOptions::activation_checkpointing; the parameters are the same either way.
  void set_activation_checkpointing(bool on) { opt_.activation_checkpointing = on; }
  bool activation_checkpointing() const { return opt_.activation_checkpointing; }

 private:
  FNOOptions opt_;
  bool grid_;
  nn::GridEmbeddingND<D, T, B> embedding_;
  nn::FNOBlocks<D, T, B> blocks_;
  MLP lifting_, projection_;
  std::unique_ptr<nn::DomainPadding<D, T, B>> padding_;

  static FNOOptions check(FNOOptions o) {
    if (o.n_modes.size() != D)
      throw_error<value_error>("FNO<", D, ">: n_modes has ", o.n_modes.size(), " entries; one per spatial axis is needed");
    if (o.in_channels <= 0 || o.out_channels <= 0 || o.hidden_channels <= 0)
      throw_error<value_error>("FNO: in_channels ", o.in_channels, ", out_channels ", o.out_channels, " and hidden_channels ",
                               o.hidden_channels, " must be positive");
    if (o.positional_embedding != "grid" && o.positional_embedding != "none")
      throw_error<value_error>("FNO: positional_embedding '", o.positional_embedding, "' is not \"grid\" or \"none\"");
    if (o.norm == "ada_in")
      throw_error<value_error>("FNO: norm \"ada_in\" needs ada_in_features, which FNO does not pass (use nn::FNOBlocks)");
    if (!o.domain_padding.empty() && o.domain_padding.size() != 1 && o.domain_padding.size() != D)
      throw_error<value_error>("FNO: domain_padding has ", o.domain_padding.size(), " entries; give one, or one per spatial axis (", D, ")");
    return o;
  }
  static nn::ChannelMLPOptions lifting_options(const FNOOptions& o) {
    const int lifting_channels = int(o.lifting_channel_ratio * o.hidden_channels);  // truncation, as int()
    nn::ChannelMLPOptions m;
    m.in_channels = o.in_channels + (o.positional_embedding == "grid" ? int(D) : 0);
    m.out_channels = o.hidden_channels;
    // lifting_channels == 0: a single layer in -> hidden.
    m.hidden_channels = lifting_channels ? lifting_channels : o.hidden_channels;
    m.n_layers = lifting_channels ? 2 : 1;
    m.non_linearity = o.non_linearity;
    return m;
  }
  static nn::FNOBlocksOptions blocks_options(const FNOOptions& o) {
    nn::FNOBlocksOptions b;
    b.in_channels = b.out_channels = o.hidden_channels;
    b.n_modes = o.n_modes;
    b.resolution_scaling_factor = o.resolution_scaling_factor;
    if (o.resolution_scaling_factor.kind() == nn::ScalingFactor::Kind::number)  // FNO: [r] * n_layers
      b.resolution_scaling_factor = std::vector<double>(std::size_t(std::max(o.n_layers, 0)), o.resolution_scaling_factor.number());
    b.n_layers = o.n_layers;
    b.max_n_modes = o.max_n_modes;
    b.fno_block_precision = o.fno_block_precision;
    b.use_channel_mlp = o.use_channel_mlp;
    b.channel_mlp_dropout = o.channel_mlp_dropout;
    b.channel_mlp_expansion = o.channel_mlp_expansion;
    b.non_linearity = o.non_linearity;
    b.stabilizer = o.stabilizer;
    b.norm = o.norm;
    b.norm_groups = o.norm_groups;
    b.preactivation = o.preactivation;
    b.fno_skip = o.fno_skip;
    b.conv_bias_kernel = o.conv_bias_kernel;
    b.channel_mlp_skip = o.channel_mlp_skip;
    b.separable = o.separable;
    b.factorization = o.factorization;
    b.rank = o.rank;
    b.rank_int = o.rank_int;
    b.fixed_rank_modes = o.fixed_rank_modes;
    b.implementation = o.implementation;
    b.fft_norm = o.fft_norm;
    b.enforce_hermitian_symmetry = o.enforce_hermitian_symmetry;
    return b;
  }
};

// The constructor and forward are defined outside the class, so they are not implicitly inline:
// with NEURALOP_EXTERN_MODELS, other translation units then use the compiled instances instead of
// instantiating the whole model again for inlining (an extern template does not stop that for
// inline members).
template <std::size_t D, class T, class B>
FNO<D, T, B>::FNO(FNOOptions opt, Generator& gen)
    : opt_(check(std::move(opt))),
      grid_(opt_.positional_embedding == "grid"),
      blocks_(blocks_options(opt_), gen),
      lifting_(lifting_options(opt_), gen),
      projection_(nn::ChannelMLPOptions{.in_channels = opt_.hidden_channels,
                                        .out_channels = opt_.out_channels,
                                        .hidden_channels = int(opt_.projection_channel_ratio * opt_.hidden_channels),
                                        .n_layers = 2,
                                        .non_linearity = opt_.non_linearity},
                  gen) {
  // NeuralOperator builds the padding only for a positive amount, and hands it the raw
  // scaling argument (a number scales every layer, but the padding only once).
  double total = 0;
  for (double f : opt_.domain_padding) total += f;
  if (total > 0) padding_ = std::make_unique<nn::DomainPadding<D, T, B>>(opt_.domain_padding, opt_.resolution_scaling_factor);
  register_module("fno_blocks", blocks_);
  register_module("lifting", lifting_);
  register_module("projection", projection_);
}

template <std::size_t D, class T, class B>
auto FNO<D, T, B>::forward(const V& x, const std::vector<std::optional<Shape<D>>>& output_shapes) const -> V {
  if (x.shape()[1] != opt_.in_channels)
    throw_error<shape_error>("FNO: input ", format_shape(x.shape()), " has ", x.shape()[1], " channels, the model takes ",
                             opt_.in_channels, " (shape [batch, ", opt_.in_channels, ", spatial x ", D, "])");
  if (output_shapes.size() != std::size_t(opt_.n_layers))
    throw_error<value_error>("FNO: output_shape lists ", output_shapes.size(), " shapes for ", opt_.n_layers, " layers");
  const bool ckpt = opt_.activation_checkpointing && training() && is_grad_enabled();
  auto h = grid_ ? embedding_(x) : x;
  if (ckpt) {
    // The lifting's two wide activations are recomputed too. checkpoint() records only when an
    // input requires grad; the lifting's parameters need gradients whether or not x does, so a
    // data input becomes a leaf that requires grad (its small gradient is discarded).
    const V in = h.requires_grad() ? h : V(h.value(), true);
    h = checkpoint([this](const V& v) { return lifting_(v); }, in);
  } else {
    h = lifting_(h);
  }
  if (padding_) h = padding_->pad(h);
  for (int i = 0; i < blocks_.n_layers(); ++i) {
    const auto& os = output_shapes[std::size_t(i)];
    // The graph keeps the lambda until backward recomputes the layer: it captures the model and
    // copies, never the call's locals.
    if (ckpt) h = checkpoint([this, i, os](const V& in) { return blocks_(in, i, os); }, h);
    else h = blocks_(h, i, os);
  }
  if (padding_) h = padding_->unpad(h);
  return projection_(h);
}

// TFNO<D> (neuralop.models.TFNO): FNO with Tucker-factorized spectral weights, rank 0.1 by
// default (TFNOOptions); the same class otherwise.
template <std::size_t D, class T = float, class B = cpu>
class TFNO : public FNO<D, T, B> {
 public:
  explicit TFNO(const TFNOOptions& opt, Generator& gen = default_generator()) : FNO<D, T, B>(to_fno_options(opt), gen) {}
};

// Build-time aid for programs with many translation units: with NEURALOP_EXTERN_MODELS defined,
// the common FNOs are compiled once, in the one file that includes models/fno_instantiate.hpp
// (this project's tests do; users need not).
#if defined(NEURALOP_EXTERN_MODELS) && !defined(NEURALOP_INSTANTIATE_MODELS)
#define NEURALOP_MODEL_INSTANCE(D, T) extern template class FNO<D, T, cpu>;
#include "neuralop/models/fno_instances.def"
#undef NEURALOP_MODEL_INSTANCE
#endif

}  // namespace neuralop
