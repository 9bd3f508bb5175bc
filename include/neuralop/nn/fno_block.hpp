// FNOBlocks (neuralop.layers.fno_block): n_layers Fourier layers sharing one options set, each
//   h = act(conv_i(x) + fno_skip_i(x));  y = act(channel_mlp_i(h) + channel_mlp_skip_i(x))
// with no activation after the last layer (post-activation form, NeuralOperator's default).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/nn/channel_mlp.hpp"
#include "neuralop/nn/skip_connections.hpp"
#include "neuralop/nn/spectral_conv.hpp"

namespace neuralop::nn {

struct FNOBlocksOptions {
  int in_channels = 0;
  int out_channels = 0;
  std::vector<int> n_modes = {};
  int n_layers = 1;
  std::optional<std::vector<int>> max_n_modes = {};
  std::optional<std::vector<double>> resolution_scaling_factor = {};  // one per axis (all layers)
  bool use_channel_mlp = true;
  double channel_mlp_expansion = 0.5;
  Activation non_linearity = Activation::gelu;
  std::string fno_skip = "linear";
  std::string channel_mlp_skip = "soft-gating";
  std::string fft_norm = "forward";
  bool enforce_hermitian_symmetry = false;
};

namespace detail {
inline int round_half_even_int(double v) { return static_cast<int>(std::nearbyint(v)); }
}  // namespace detail

template <std::size_t D, class T = float, class B = cpu>
class FNOBlocks : public Module {
 public:
  explicit FNOBlocks(FNOBlocksOptions opt, Generator& gen = default_generator()) : opt_(std::move(opt)) {
    if (opt_.n_layers < 1) throw_error<value_error>("FNOBlocks: n_layers ", opt_.n_layers, " must be >= 1");
    const auto fno_skip = skip_type(opt_.fno_skip);
    const auto mlp_skip = skip_type(opt_.channel_mlp_skip);
    // Sub-modules are created list by list, as torch registers its ModuleLists.
    for (int i = 0; i < opt_.n_layers; ++i) {
      SpectralConvOptions c;
      c.in_channels = opt_.in_channels;
      c.out_channels = opt_.out_channels;
      c.n_modes = opt_.n_modes;
      c.max_n_modes = opt_.max_n_modes;
      c.resolution_scaling_factor = opt_.resolution_scaling_factor;
      c.fft_norm = opt_.fft_norm;
      c.enforce_hermitian_symmetry = opt_.enforce_hermitian_symmetry;
      convs_.push_back(std::make_unique<SpectralConv<D, T, B>>(c, gen));
      register_module("convs." + std::to_string(i), *convs_.back());
    }
    if (fno_skip)
      for (int i = 0; i < opt_.n_layers; ++i) {
        fno_skips_.push_back(std::make_unique<SkipConnection<D, T, B>>(opt_.in_channels, opt_.out_channels, *fno_skip, gen));
        register_module("fno_skips." + std::to_string(i), *fno_skips_.back());
      }
    if (opt_.use_channel_mlp) {
      for (int i = 0; i < opt_.n_layers; ++i) {
        ChannelMLPOptions m;
        m.in_channels = opt_.out_channels;
        m.hidden_channels = detail::round_half_even_int(opt_.out_channels * opt_.channel_mlp_expansion);
        channel_mlp_.push_back(std::make_unique<ChannelMLP<T, B>>(m, gen));  // always GELU inside
        register_module("channel_mlp." + std::to_string(i), *channel_mlp_.back());
      }
      if (mlp_skip)
        for (int i = 0; i < opt_.n_layers; ++i) {
          mlp_skips_.push_back(std::make_unique<SkipConnection<D, T, B>>(opt_.in_channels, opt_.out_channels, *mlp_skip, gen));
          register_module("channel_mlp_skips." + std::to_string(i), *mlp_skips_.back());
        }
    }
  }

  int n_layers() const { return opt_.n_layers; }
  SpectralConv<D, T, B>& conv(int i) { return *convs_.at(std::size_t(i)); }
  void set_n_modes(const std::vector<int>& n_modes) {
    for (auto& c : convs_) c->set_n_modes(n_modes);
  }

  // Layer `index` on x (output size: output_shape, else the conv's scaling, else x's).
  Var<T, D + 2, B> operator()(const Var<T, D + 2, B>& x, int index, std::optional<Shape<D>> output_shape = std::nullopt) const {
    if (index < 0 || index >= opt_.n_layers)
      throw_error<value_error>("FNOBlocks: layer index ", index, " out of range (", opt_.n_layers, " layers)");
    const auto i = std::size_t(index);
    const bool last = index == opt_.n_layers - 1;
    if (opt_.resolution_scaling_factor || output_shape)
      throw_error<value_error>("FNOBlocks: resolution scaling and output_shape need resampled skips, not supported yet");
    auto h = (*convs_[i])(x, output_shape);
    if (!fno_skips_.empty()) h = Var<T, D + 2, B>(h + (*fno_skips_[i])(x));
    if (!last) h = activate(opt_.non_linearity, h);
    if (opt_.use_channel_mlp) {
      auto m = (*channel_mlp_[i])(h);
      h = mlp_skips_.empty() ? m : Var<T, D + 2, B>(m + (*mlp_skips_[i])(x));
    }
    if (!last) h = activate(opt_.non_linearity, h);
    return h;
  }

 private:
  FNOBlocksOptions opt_;
  std::vector<std::unique_ptr<SpectralConv<D, T, B>>> convs_;
  std::vector<std::unique_ptr<SkipConnection<D, T, B>>> fno_skips_, mlp_skips_;
  std::vector<std::unique_ptr<ChannelMLP<T, B>>> channel_mlp_;
};

}  // namespace neuralop::nn
