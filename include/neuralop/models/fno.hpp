// FNO<D> (neuralop.models.FNO): grid positional embedding, lifting ChannelMLP, n_layers Fourier
// layers (FNOBlocks), projection ChannelMLP; NeuralOperator's option names, defaults and
// state_dict keys, one implementation for every dimension D.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "neuralop/nn/embeddings.hpp"
#include "neuralop/nn/fno_block.hpp"

namespace neuralop {

struct FNOOptions {
  std::vector<int> n_modes = {};
  int in_channels = 0;
  int out_channels = 0;
  int hidden_channels = 0;
  int n_layers = 4;
  double lifting_channel_ratio = 2;
  double projection_channel_ratio = 2;
  std::string positional_embedding = "grid";  // "grid" or "none"
  nn::Activation non_linearity = nn::Activation::gelu;
  bool use_channel_mlp = true;
  double channel_mlp_expansion = 0.5;
  std::string channel_mlp_skip = "soft-gating";
  std::string fno_skip = "linear";
  std::optional<std::vector<int>> max_n_modes = {};
  std::string fft_norm = "forward";  // SpectralConv's, NeuralOperator's default
  bool enforce_hermitian_symmetry = false;
};

template <std::size_t D, class T = float, class B = cpu>
class FNO : public nn::Module {
 public:
  explicit FNO(FNOOptions opt, Generator& gen = default_generator())
      : opt_(check(std::move(opt))),
        grid_(opt_.positional_embedding == "grid"),
        blocks_(blocks_options(opt_), gen),
        lifting_({.in_channels = opt_.in_channels + (grid_ ? int(D) : 0),
                  .out_channels = opt_.hidden_channels,
                  .hidden_channels = int(opt_.lifting_channel_ratio * opt_.hidden_channels),
                  .n_layers = 2,
                  .non_linearity = opt_.non_linearity},
                 gen),
        projection_({.in_channels = opt_.hidden_channels,
                     .out_channels = opt_.out_channels,
                     .hidden_channels = int(opt_.projection_channel_ratio * opt_.hidden_channels),
                     .n_layers = 2,
                     .non_linearity = opt_.non_linearity},
                    gen) {
    register_module("fno_blocks", blocks_);
    register_module("lifting", lifting_);
    register_module("projection", projection_);
  }

  Var<T, D + 2, B> operator()(const Var<T, D + 2, B>& x) const { return forward(x); }
  Var<T, D + 2, B> forward(const Var<T, D + 2, B>& x) const {
    if (x.shape()[1] != opt_.in_channels)
      throw_error<shape_error>("FNO: input ", format_shape(x.shape()), " has ", x.shape()[1], " channels, the model takes ",
                               opt_.in_channels, " (shape [batch, ", opt_.in_channels, ", spatial x ", D, "])");
    auto h = grid_ ? embedding_(x) : x;
    h = lifting_(h);
    for (int i = 0; i < blocks_.n_layers(); ++i) h = blocks_(h, i);
    return projection_(h);
  }
  Var<T, D + 2, B> forward(const Tensor<T, D + 2, B>& x) const { return forward(Var<T, D + 2, B>(x)); }

  nn::FNOBlocks<D, T, B>& fno_blocks() { return blocks_; }
  void set_n_modes(const std::vector<int>& n_modes) { blocks_.set_n_modes(n_modes); }

 private:
  FNOOptions opt_;
  bool grid_;
  nn::GridEmbeddingND<D, T, B> embedding_;
  nn::FNOBlocks<D, T, B> blocks_;
  nn::ChannelMLP<T, B> lifting_, projection_;

  static FNOOptions check(FNOOptions o) {
    if (o.n_modes.size() != D)
      throw_error<value_error>("FNO<", D, ">: n_modes has ", o.n_modes.size(), " entries; one per spatial axis is needed");
    if (o.in_channels <= 0 || o.out_channels <= 0 || o.hidden_channels <= 0)
      throw_error<value_error>("FNO: in_channels ", o.in_channels, ", out_channels ", o.out_channels, " and hidden_channels ",
                               o.hidden_channels, " must be positive");
    if (o.positional_embedding != "grid" && o.positional_embedding != "none")
      throw_error<value_error>("FNO: positional_embedding '", o.positional_embedding, "' is not \"grid\" or \"none\"");
    return o;
  }
  static nn::FNOBlocksOptions blocks_options(const FNOOptions& o) {
    nn::FNOBlocksOptions b;
    b.in_channels = b.out_channels = o.hidden_channels;
    b.n_modes = o.n_modes;
    b.n_layers = o.n_layers;
    b.max_n_modes = o.max_n_modes;
    b.use_channel_mlp = o.use_channel_mlp;
    b.channel_mlp_expansion = o.channel_mlp_expansion;
    b.non_linearity = o.non_linearity;
    b.fno_skip = o.fno_skip;
    b.channel_mlp_skip = o.channel_mlp_skip;
    b.fft_norm = o.fft_norm;
    b.enforce_hermitian_symmetry = o.enforce_hermitian_symmetry;
    return b;
  }
};

}  // namespace neuralop
