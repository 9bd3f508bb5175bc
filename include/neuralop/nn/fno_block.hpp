// FNOBlocks (neuralop.layers.fno_block): n_layers Fourier layers sharing one options set. Layer i
// (post-activation, NeuralOperator's default; act skipped after the last layer):
//   h = norm_2i(conv_i(stab(x))) + T(fno_skip_i(x));  h = act(h)
//   y = norm_2i+1(channel_mlp_i(h) + T(channel_mlp_skip_i(x)));  y = act(y)
// pre-activation: x = norm_2i(act(x)); h = act(conv_i(stab(x)) + T(fno_skip_i(x)));
//   y = channel_mlp_i(norm_2i+1(h)) + T(channel_mlp_skip_i(x)).
// T resamples a skip to the layer's output size (conv_i.transform). With complex data
// (T = std::complex<float>, NeuralOperator's complex_data=True) the skips, channel MLPs and norms
// are ComplexValued copies of the real layers, the activation is CGELU and the stabilizer ctanh.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/nn/channel_mlp.hpp"
#include "neuralop/nn/complex.hpp"
#include "neuralop/nn/normalization.hpp"
#include "neuralop/nn/scaling_factor.hpp"
#include "neuralop/nn/skip_connections.hpp"
#include "neuralop/nn/spectral_conv.hpp"
#include "neuralop/ops/resample.hpp"

namespace neuralop::nn {

// NeuralOperator's FNOBlocks keyword arguments and defaults ("" stands for None). Not here:
// complex_data (use T = std::complex<float>), conv_module, decomposition_kwargs.
struct FNOBlocksOptions {
  int in_channels = 0;
  int out_channels = 0;
  std::vector<int> n_modes = {};
  // None, a number, one factor per layer, or one per-axis list per layer.
  ScalingFactor resolution_scaling_factor = {};
  int n_layers = 1;
  std::optional<std::vector<int>> max_n_modes = {};
  std::string fno_block_precision = "full";  // only "full"
  bool use_channel_mlp = true;
  double channel_mlp_dropout = 0;
  double channel_mlp_expansion = 0.5;
  Activation non_linearity = Activation::gelu;
  std::string stabilizer = "";  // "" (None) or "tanh"
  std::string norm = "";        // "" (None), "instance_norm", "group_norm", "batch_norm", "ada_in"
  int norm_groups = 1;          // GroupNorm's groups (neuraloperator 2.0.0 always uses 1)
  std::optional<int> ada_in_features = {};
  bool preactivation = false;
  std::string fno_skip = "linear";
  int conv_bias_kernel = 1;  // > 1 (a Conv{n}d fno skip) is not supported
  std::string channel_mlp_skip = "soft-gating";
  bool separable = false;
  std::string factorization = "";  // "" / "dense", "tucker", "cp", "tt"
  double rank = 1.0;
  std::optional<int> rank_int = {};  // an integer rank instead of the fraction
  bool fixed_rank_modes = false;
  std::string implementation = "factorized";
  std::string fft_norm = "forward";
  bool enforce_hermitian_symmetry = false;
};

namespace detail {
inline int round_half_even_int(double v) { return static_cast<int>(std::nearbyint(v)); }
enum class NormKind { none, instance, group, batch, ada_in };
inline NormKind norm_kind(const std::string& n) {
  if (n.empty() || n == "none") return NormKind::none;
  if (n == "instance_norm") return NormKind::instance;
  if (n == "group_norm") return NormKind::group;
  if (n == "batch_norm") return NormKind::batch;
  if (n == "ada_in") return NormKind::ada_in;
  throw_error<value_error>("FNOBlocks: norm '", n, "' is not None or one of instance_norm, group_norm, batch_norm, ada_in");
}
}  // namespace detail

template <std::size_t D, class T = float, class B = cpu>
class FNOBlocks : public Module {
  using V = Var<T, D + 2, B>;
  using Real = real_t<T>;
  static constexpr bool complex_data = is_complex_v<T>;

 public:
  // A real layer, or two copies of it (ComplexValued) for complex data.
  template <class M>
  using Wrap = std::conditional_t<complex_data, ComplexValued<M>, M>;
  using Skip = Wrap<SkipConnection<D, Real, B>>;
  using MLP = Wrap<ChannelMLP<Real, B>>;

  explicit FNOBlocks(FNOBlocksOptions opt, Generator& gen = default_generator()) : opt_(std::move(opt)) {
    if (opt_.n_layers < 1) throw_error<value_error>("FNOBlocks: n_layers ", opt_.n_layers, " must be >= 1");
    if (opt_.n_modes.size() != D)
      throw_error<value_error>("FNOBlocks<", D, ">: n_modes has ", opt_.n_modes.size(), " entries; one per spatial axis is needed");
    if (opt_.fno_block_precision != "full")
      throw_error<value_error>("FNOBlocks: fno_block_precision '", opt_.fno_block_precision, "' is not supported (only \"full\")");
    if (opt_.stabilizer != "" && opt_.stabilizer != "none" && opt_.stabilizer != "tanh")
      throw_error<value_error>("FNOBlocks: stabilizer '", opt_.stabilizer, "' is not None or \"tanh\"");
    if (opt_.conv_bias_kernel != 1)
      throw_error<value_error>("FNOBlocks: conv_bias_kernel ", opt_.conv_bias_kernel,
                               " > 1 (a Conv", D, "d fno skip) is not supported (neuraloperator 2.0.0 has no such option)");
    detail::check_dropout(opt_.channel_mlp_dropout, "FNOBlocks: channel_mlp_dropout");
    norm_ = detail::norm_kind(opt_.norm);
    if (complex_data && norm_ == detail::NormKind::ada_in)
      throw_error<value_error>("FNOBlocks: norm \"ada_in\" with complex data is not supported (NeuralOperator's ComplexValued has no set_embedding)");
    if (norm_ == detail::NormKind::ada_in && (!opt_.ada_in_features || *opt_.ada_in_features <= 0))
      throw_error<value_error>("FNOBlocks: norm \"ada_in\" needs ada_in_features (the embedding size) > 0");
    scaling_ = opt_.resolution_scaling_factor.per_layer(D, opt_.n_layers, "FNOBlocks");
    const auto fno_skip = skip_type(opt_.fno_skip);
    const auto mlp_skip = skip_type(opt_.channel_mlp_skip);
    // Sub-modules are created list by list, as torch registers its ModuleLists.
    for (int i = 0; i < opt_.n_layers; ++i) {
      SpectralConvOptions c;
      c.in_channels = opt_.in_channels;
      c.out_channels = opt_.out_channels;
      c.n_modes = opt_.n_modes;
      c.max_n_modes = opt_.max_n_modes;
      if (!scaling_.empty()) c.resolution_scaling_factor = scaling_[std::size_t(i)];
      c.enforce_hermitian_symmetry = opt_.enforce_hermitian_symmetry;
      c.fft_norm = opt_.fft_norm;
      c.factorization = opt_.factorization;
      c.rank = opt_.rank;
      c.rank_int = opt_.rank_int;
      c.implementation = opt_.implementation;
      c.fixed_rank_modes = opt_.fixed_rank_modes;
      c.separable = opt_.separable;
      convs_.push_back(std::make_unique<SpectralConv<D, T, B>>(c, gen));
      register_module("convs." + std::to_string(i), *convs_.back());
    }
    if (fno_skip)
      for (int i = 0; i < opt_.n_layers; ++i) {
        fno_skips_.push_back(std::make_unique<Skip>(opt_.in_channels, opt_.out_channels, *fno_skip, gen));
        register_module("fno_skips." + std::to_string(i), *fno_skips_.back());
      }
    if (opt_.use_channel_mlp) {
      for (int i = 0; i < opt_.n_layers; ++i) {
        ChannelMLPOptions m;
        m.in_channels = opt_.out_channels;
        m.hidden_channels = detail::round_half_even_int(opt_.out_channels * opt_.channel_mlp_expansion);
        m.dropout = opt_.channel_mlp_dropout;
        channel_mlp_.push_back(std::make_unique<MLP>(m, gen));  // always GELU inside
        register_module("channel_mlp." + std::to_string(i), *channel_mlp_.back());
      }
      if (mlp_skip)
        for (int i = 0; i < opt_.n_layers; ++i) {
          mlp_skips_.push_back(std::make_unique<Skip>(opt_.in_channels, opt_.out_channels, *mlp_skip, gen));
          register_module("channel_mlp_skips." + std::to_string(i), *mlp_skips_.back());
        }
    }
    // Two norms per layer (norm.2i after the conv, norm.2i+1 after the channel MLP).
    if (norm_ != detail::NormKind::none)
      for (int j = 0; j < 2 * opt_.n_layers; ++j) {
        norms_.push_back(make_norm(gen));
        register_module("norm." + std::to_string(j), *norms_.back());
      }
  }

  int n_layers() const { return opt_.n_layers; }
  const FNOBlocksOptions& options() const { return opt_; }
  SpectralConv<D, T, B>& conv(int i) { return *convs_.at(std::size_t(i)); }
  void set_n_modes(const std::vector<int>& n_modes) {
    for (auto& c : convs_) c->set_n_modes(n_modes);
  }
  // AdaIN embeddings: one for every norm, or one per norm (2 n_layers).
  void set_ada_in_embeddings(const std::vector<Var<T, 1, B>>& e) {
    if (norm_ != detail::NormKind::ada_in) throw_error<value_error>("FNOBlocks: set_ada_in_embeddings needs norm \"ada_in\"");
    if (e.size() != 1 && e.size() != norms_.size())
      throw_error<value_error>("FNOBlocks: set_ada_in_embeddings takes 1 or ", norms_.size(), " embeddings, got ", e.size());
    if constexpr (!complex_data)
      for (std::size_t j = 0; j < norms_.size(); ++j) static_cast<AdaIN<T, B>&>(*norms_[j]).set_embedding(e.size() == 1 ? e[0] : e[j]);
  }

  // Layer `index` on x; output size: output_shape, else round(N r) with the layer's factors,
  // else x's.
  V operator()(const V& x, int index, std::optional<Shape<D>> output_shape = std::nullopt) const {
    if (index < 0 || index >= opt_.n_layers)
      throw_error<value_error>("FNOBlocks: layer index ", index, " out of range (", opt_.n_layers, " layers)");
    if (x.shape()[1] != opt_.in_channels)
      throw_error<shape_error>(where("FNOBlocks"), ": input ", format_shape(x.shape()), " has ", x.shape()[1],
                               " channels, the blocks take ", opt_.in_channels);
    return opt_.preactivation ? forward_pre(x, std::size_t(index), output_shape) : forward_post(x, std::size_t(index), output_shape);
  }

  // SpectralConv.transform for layer i's skips: resample to output_shape, or to round(N r) when
  // the layer has scaling factors. As in NeuralOperator, where the factors are set the resample
  // runs even at an unchanged size (its shape comparison is tuple against list); bicubic and
  // linear interpolation with align_corners are then exact identities, the spectral one (3+
  // axes) an identity up to rounding.
  V transform(const V& s, std::size_t i, const std::optional<Shape<D>>& output_shape) const {
    if (!output_shape && scaling_.empty()) return s;
    Shape<D> target{};
    for (std::size_t d = 0; d < D; ++d)
      target[d] = output_shape ? (*output_shape)[d] : detail::round_half_even(double(s.shape()[d + 2]) * scaling_[i][d]);
    if constexpr (complex_data) {
      throw_error<value_error>(where("FNOBlocks"), ": resolution scaling / output_shape with complex data is not supported (the skips ",
                               format_shape(s.shape()), " would need a complex resample to ", format_shape(target), ")");
    } else {
      return resample(s, target);
    }
  }

 private:
  FNOBlocksOptions opt_;
  detail::NormKind norm_ = detail::NormKind::none;
  std::vector<std::vector<double>> scaling_;  // per layer, per axis; empty: none
  std::vector<std::unique_ptr<SpectralConv<D, T, B>>> convs_;
  std::vector<std::unique_ptr<Skip>> fno_skips_, mlp_skips_;
  std::vector<std::unique_ptr<MLP>> channel_mlp_;
  std::vector<std::unique_ptr<Module>> norms_;

  std::unique_ptr<Module> make_norm(Generator& gen) const {
    switch (norm_) {
      case detail::NormKind::instance: return std::make_unique<Wrap<InstanceNorm<Real, B>>>();
      case detail::NormKind::group: return std::make_unique<Wrap<GroupNorm<Real, B>>>(opt_.norm_groups, opt_.out_channels);
      case detail::NormKind::batch: return std::make_unique<Wrap<BatchNorm<Real, B>>>(opt_.out_channels);
      case detail::NormKind::ada_in:
        if constexpr (!complex_data) return std::make_unique<AdaIN<T, B>>(*opt_.ada_in_features, opt_.out_channels, 1e-5, gen);
        break;
      case detail::NormKind::none: break;
    }
    return nullptr;
  }
  V norm(std::size_t j, const V& x) const {
    const Module& m = *norms_[j];
    switch (norm_) {
      case detail::NormKind::instance: return static_cast<const Wrap<InstanceNorm<Real, B>>&>(m)(x);
      case detail::NormKind::group: return static_cast<const Wrap<GroupNorm<Real, B>>&>(m)(x);
      case detail::NormKind::batch: return static_cast<const Wrap<BatchNorm<Real, B>>&>(m)(x);
      case detail::NormKind::ada_in:
        if constexpr (!complex_data) return static_cast<const AdaIN<T, B>&>(m)(x);
        break;
      case detail::NormKind::none: break;
    }
    return x;
  }
  bool has_norm() const { return norm_ != detail::NormKind::none; }
  V stabilize(const V& x) const {
    if (opt_.stabilizer != "tanh") return x;
    if constexpr (complex_data) return ctanh(x);
    else return V(tanh(x));
  }
  // The non-linearity; CGELU for complex data (NeuralOperator replaces non_linearity there).
  V act(const V& x) const {
    if constexpr (complex_data) return cgelu(x);
    else return activate(opt_.non_linearity, x);
  }

  // Whether the skips are added by add_skip's fused forms: real data, nothing resampled.
  bool skips_fused(const std::optional<Shape<D>>& output_shape) const {
    return !complex_data && !output_shape && scaling_.empty();
  }
  // y + skip_i(x): fused when nothing is resampled, else y + s (s: the skip, transformed).
  V add_skip(const std::vector<std::unique_ptr<Skip>>& skips, const V& y, const V& x, const V& s, bool fused,
             std::size_t i) const {
    if (skips.empty()) return y;
    if constexpr (!complex_data)
      if (fused) return skips[i]->add_to(y, x);
    return V(y + s);
  }

  V forward_post(const V& x, std::size_t i, const std::optional<Shape<D>>& output_shape) const {
    const bool last = i + 1 == std::size_t(opt_.n_layers);
    // Both skips come from the block input. Without resampling they are added in fused form
    // (add_skip); with it, they are computed first, as NeuralOperator does.
    const bool fused = skips_fused(output_shape);
    V s_fno, s_mlp;
    if (!fused && !fno_skips_.empty()) s_fno = transform((*fno_skips_[i])(x), i, output_shape);
    if (!fused && !mlp_skips_.empty()) s_mlp = transform((*mlp_skips_[i])(x), i, output_shape);
    V h = (*convs_[i])(stabilize(x), output_shape);
    if (has_norm()) h = norm(2 * i, h);
    h = add_skip(fno_skips_, h, x, s_fno, fused, i);
    if (!last) h = act(h);
    if constexpr (!complex_data) {
      // gelu(mlp(h) + skip(x)) in one pass (the default FNO's soft-gating skip): the sum is not stored.
      if (opt_.use_channel_mlp && fused && !mlp_skips_.empty() && !has_norm() && !last &&
          opt_.non_linearity == Activation::gelu)
        return mlp_skips_[i]->add_to_gelu((*channel_mlp_[i])(h), x);
    }
    if (opt_.use_channel_mlp) h = add_skip(mlp_skips_, (*channel_mlp_[i])(h), x, s_mlp, fused, i);
    if (has_norm()) h = norm(2 * i + 1, h);  // even without a channel MLP
    if (!last) h = act(h);
    return h;
  }

  V forward_pre(V x, std::size_t i, const std::optional<Shape<D>>& output_shape) const {
    const bool last = i + 1 == std::size_t(opt_.n_layers);
    x = act(x);  // on every layer, the first included
    if (has_norm()) x = norm(2 * i, x);
    const bool fused = skips_fused(output_shape);
    V s_fno, s_mlp;
    if (!fused && !fno_skips_.empty()) s_fno = transform((*fno_skips_[i])(x), i, output_shape);
    if (!fused && !mlp_skips_.empty()) s_mlp = transform((*mlp_skips_[i])(x), i, output_shape);
    V h = (*convs_[i])(stabilize(x), output_shape);
    h = add_skip(fno_skips_, h, x, s_fno, fused, i);
    if (!last) h = act(h);
    if (has_norm()) h = norm(2 * i + 1, h);
    if (opt_.use_channel_mlp) h = add_skip(mlp_skips_, (*channel_mlp_[i])(h), x, s_mlp, fused, i);
    return h;
  }
};

}  // namespace neuralop::nn
