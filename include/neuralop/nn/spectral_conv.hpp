// SpectralConv<D, T>: NeuralOperator's spectral convolution (neuralop.layers.spectral_convolution):
// FFT, keep the low modes (centred on non-last axes after fftshift, the first ones on the last
// axis), multiply each kept mode by its own in x out matrix (dense or tltorch-factorized weight,
// or per channel when separable), place back, inverse transform, add the bias. T real: real data
// (rfftn); T complex: NeuralOperator's complex_data=True (fftn).
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/nn/factorized_contract.hpp"
#include "neuralop/nn/factorized_tensor.hpp"
#include "neuralop/nn/module.hpp"
#include "neuralop/ops/fft.hpp"
#include "neuralop/ops/matmul.hpp"
#include "neuralop/ops/spectral_contract.hpp"
#include "neuralop/ops/spectral_modes.hpp"
#include "neuralop/ops/shape_ops.hpp"

namespace neuralop::nn {

// NeuralOperator's keyword arguments, names and defaults (those not listed are not supported yet).
// Every member has a default initializer, so designated initializers compile cleanly under -Wextra.
struct SpectralConvOptions {
  int in_channels = 0;
  int out_channels = 0;
  std::vector<int> n_modes = {};                    // per spatial axis (the last is halved inside)
  std::optional<std::vector<int>> max_n_modes = {};  // as given: NOT halved (NeuralOperator's rule)
  bool bias = true;
  std::optional<std::vector<double>> resolution_scaling_factor = {};  // one per axis, or one for all
  // false: neuraloperator 2.0.0 as released on PyPI (the reference); true: the Hermitian inverse
  // of newer NeuralOperator sources (see docs/nn.md).
  bool enforce_hermitian_symmetry = false;
  std::optional<double> init_std = {};              // nullopt: "auto" = sqrt(2 / (in + out))
  std::string fft_norm = "forward";
  // Weight factorization (tltorch's FactorizedTensor): "" or "dense", "tucker", "cp", "tt"
  // (case-insensitive). rank: a fraction of the dense parameter count (SpectralConv's default in
  // neuraloperator 2.0.0 is 0.5; FNO passes its own rank, 1.0 by default); rank_int, when set,
  // is NeuralOperator's integer rank instead (a Python int). implementation: "reconstructed"
  // (SpectralConv's default; FNOBlocks passes "factorized"). fixed_rank_modes: Tucker keeps
  // mode 0 (in_channels) at full rank.
  std::string factorization = "";
  double rank = 0.5;
  std::optional<int> rank_int = {};
  std::string implementation = "reconstructed";
  bool fixed_rank_modes = false;
  bool separable = false;  // per-channel weight [in, modes...], needs in == out
  // complex_data is not an option: it is SpectralConv<D, std::complex<float>> (T complex).
  // Complex data only. false: neuraloperator 2.0.0: the last axis, although fftshifted, is sliced
  // from its start (frequencies -N/2 ...) and not shifted back, so an input frequency f comes out
  // at f + N/2 (mod N); in 1-D nothing is shifted and frequencies 0..k-1 are kept. true: every
  // axis keeps the centred frequencies -k/2 .. (k+1)/2 - 1 and is shifted back (ifftshift).
  bool complex_center_last_axis = false;
};

namespace detail {
// Python's round(): half to even.
inline index_t round_half_even(double v) { return static_cast<index_t>(std::nearbyint(v)); }
}  // namespace detail

template <std::size_t D, class T = float, class B = cpu>
class SpectralConv : public Module {
  static_assert(D >= 1, "SpectralConv: at least one spatial axis");
  static constexpr std::size_t R = D + 2;  // [batch, channels, spatial...]
  static constexpr bool complex_data = is_complex_v<T>;
  using Real = real_t<T>;
  using C = std::complex<Real>;

 public:
  using FullWeight = FactorizedTensor<C, D + 2, B>;  // [in, out, modes...]
  using SeparableWeight = FactorizedTensor<C, D + 1, B>;  // [in, modes...]

  explicit SpectralConv(SpectralConvOptions opt, Generator& gen = default_generator()) : opt_(std::move(opt)) {
    if (opt_.in_channels <= 0 || opt_.out_channels <= 0)
      throw_error<value_error>("SpectralConv: in_channels ", opt_.in_channels, " and out_channels ", opt_.out_channels,
                               " must be positive");
    norm_ = fft_norm(opt_.fft_norm);
    const Factorization kind = factorization(opt_.factorization, "SpectralConv");
    if (opt_.implementation != "reconstructed" && opt_.implementation != "factorized")
      throw_error<value_error>("SpectralConv: implementation '", opt_.implementation,
                               "' is not \"reconstructed\" or \"factorized\"");
    factorized_ = opt_.implementation == "factorized";
    if (opt_.separable && opt_.in_channels != opt_.out_channels)
      throw_error<value_error>("SpectralConv: separable needs in_channels == out_channels, got in_channels=",
                               opt_.in_channels, " and out_channels=", opt_.out_channels);
    if (!complex_data && opt_.complex_center_last_axis)
      throw_error<value_error>("SpectralConv: complex_center_last_axis applies to complex data only (T complex)");
    set_n_modes(opt_.n_modes);
    if (opt_.max_n_modes) {
      if (opt_.max_n_modes->size() != D)
        throw_error<value_error>("SpectralConv: max_n_modes has ", opt_.max_n_modes->size(), " entries for ", D, " spatial axes");
      for (std::size_t i = 0; i < D; ++i) max_modes_[i] = (*opt_.max_n_modes)[i];
    } else {
      max_modes_ = modes_;
    }
    for (std::size_t i = 0; i < D; ++i)
      if (max_modes_[i] <= 0) throw_error<value_error>("SpectralConv: max_n_modes must be positive, got ", max_modes_[i]);
    if (opt_.resolution_scaling_factor) {
      const auto& r = *opt_.resolution_scaling_factor;
      if (r.size() != 1 && r.size() != D)
        throw_error<value_error>("SpectralConv: resolution_scaling_factor has ", r.size(), " entries for ", D, " axes");
      scaling_ = std::vector<double>(D, r[0]);
      if (r.size() == D) scaling_ = r;
    }
    const double sigma = opt_.init_std ? *opt_.init_std : std::sqrt(2.0 / double(opt_.in_channels + opt_.out_channels));
    // tltorch's FactorizedTensor.new(shape, rank, factorization, fixed_rank_modes=[0] or None),
    // then normal_(0, sigma) (complex: each part N(0, sigma^2 / 2)); created before the bias.
    FactorizedTensorOptions fo;
    fo.factorization = kind;
    fo.rank = RankSpec{opt_.rank, opt_.rank_int};
    if (opt_.fixed_rank_modes) fo.fixed_rank_modes = {0};
    fo.std = sigma;
    if (opt_.separable) {
      Shape<D + 1> ws{};
      ws[0] = opt_.in_channels;
      for (std::size_t i = 0; i < D; ++i) ws[i + 1] = max_modes_[i];
      sep_ = std::make_unique<SeparableWeight>(ws, fo, gen, "SpectralConv");
    } else {
      Shape<R> ws{};
      ws[0] = opt_.in_channels;
      ws[1] = opt_.out_channels;
      for (std::size_t i = 0; i < D; ++i) ws[i + 2] = max_modes_[i];
      full_ = std::make_unique<FullWeight>(ws, fo, gen, "SpectralConv");
    }
    if (opt_.bias) {
      Shape<D + 1> bs{};
      bs.fill(1);
      bs[0] = opt_.out_channels;
      bias_ = Parameter<Real, D + 1, B>(Tensor<Real, D + 1, B>::normal(bs, 0, Real(sigma), gen));
      register_parameter("bias", bias_);  // torch lists it first: the weight is a sub-module there
    }
    if (full_) register_module("weight", *full_);
    else register_module("weight", *sep_);
  }

  // n_modes can change between calls (incremental training), up to max_n_modes.
  void set_n_modes(const std::vector<int>& n_modes) {
    if (n_modes.size() != D)
      throw_error<value_error>("SpectralConv: n_modes has ", n_modes.size(), " entries for ", D, " spatial axes");
    for (std::size_t i = 0; i < D; ++i) {
      if (n_modes[i] <= 0) throw_error<value_error>("SpectralConv: n_modes must be positive, got ", n_modes[i]);
      modes_[i] = n_modes[i];
    }
    if (!complex_data) modes_[D - 1] = modes_[D - 1] / 2 + 1;  // real-FFT half spectrum
  }
  const std::array<index_t, D>& n_modes() const { return modes_; }  // internal (last halved for real data)
  const std::array<index_t, D>& max_n_modes() const { return max_modes_; }
  bool separable() const { return opt_.separable; }
  Factorization factorization_kind() const { return full_ ? full_->factorization() : sep_->factorization(); }

  // The dense non-separable weight [in, out, modes...] ("weight.tensor").
  Parameter<C, R, B>& weight() {
    if (!full_ || full_->factorization() != Factorization::dense)
      throw_error<value_error>(where("SpectralConv"), ": weight() is the dense [in, out, modes...] weight, this layer's is ",
                               opt_.separable ? "separable " : "", name(factorization_kind()),
                               "; use factorized_weight() or separable_weight()");
    return full_->tensor();
  }
  // The (possibly factorized) weight [in, out, modes...]; separable layers: [in, modes...].
  FullWeight& factorized_weight() {
    if (!full_) throw_error<value_error>(where("SpectralConv"), ": the weight is separable; use separable_weight()");
    return *full_;
  }
  SeparableWeight& separable_weight() {
    if (!sep_) throw_error<value_error>(where("SpectralConv"), ": the weight is not separable; use factorized_weight()");
    return *sep_;
  }
  Parameter<Real, D + 1, B>& bias() { return bias_; }

  Var<T, R, B> operator()(const Var<T, R, B>& x, std::optional<Shape<D>> output_shape = std::nullopt) const {
    return forward(x, output_shape);
  }
  Var<T, R, B> forward(const Var<T, R, B>& x, std::optional<Shape<D>> output_shape = std::nullopt) const {
    const Shape<R>& xs = x.shape();
    if (xs[1] != opt_.in_channels)
      throw_error<shape_error>(where("SpectralConv"), ": input ", format_shape(xs), " has ", xs[1],
                               " channels, the layer takes ", opt_.in_channels);
    if (output_shape)
      for (std::size_t i = 0; i < D; ++i)
        if ((*output_shape)[i] <= 0)
          throw_error<value_error>(where("SpectralConv"), ": output_shape ", format_shape(*output_shape), " must be positive");
    const bool centre_all = complex_data && opt_.complex_center_last_axis;
    // Axes whose kept modes are centred on frequency 0 (after fftshift); the others keep 0..k-1.
    std::array<bool, D> centred{};
    for (std::size_t i = 0; i < D; ++i) centred[i] = i + 1 < D || centre_all;
    std::array<index_t, D> fft_size{}, kept{}, start{};
    for (std::size_t i = 0; i < D; ++i) {
      fft_size[i] = (!complex_data && i + 1 == D) ? xs[i + 2] / 2 + 1 : xs[i + 2];
      start[i] = max_modes_[i] - std::min(fft_size[i], modes_[i]);
      kept[i] = max_modes_[i] - start[i];
    }
    // Rows of the weight: sliced from its centre ([start/2, M - ceil(start/2))) except on the
    // last axis of real data (from its start).
    std::array<std::pair<index_t, index_t>, D> wr{};
    for (std::size_t i = 0; i < D; ++i) {
      const bool from_start = !complex_data && i + 1 == D;
      wr[i] = from_start ? std::pair<index_t, index_t>{0, kept[i]}
                         : std::pair<index_t, index_t>{start[i] / 2, max_modes_[i] - (start[i] + 1) / 2};
    }
    // Output size: output_shape, else round(N * scaling), else the input's.
    std::array<index_t, D> S{}, N{};
    for (std::size_t i = 0; i < D; ++i) {
      N[i] = xs[i + 2];
      S[i] = output_shape ? (*output_shape)[i]
                          : scaling_.empty() ? xs[i + 2] : detail::round_half_even(double(xs[i + 2]) * scaling_[i]);
    }
    if constexpr (!complex_data) {
      // Only the kept modes are transformed (ops/spectral_modes.hpp): the numbers of slicing
      // fftshift(rfftn(x)), and of fftshift (2.0.0) or ifftshift (Hermitian variant) and irfftn
      // with s = S of the zero-padded product, without forming either full spectrum.
      const auto X = rfft_modes<D>(x, kept, norm_);
      const auto Y = full_ ? contract(X, *full_, wr) : contract(X, *sep_, wr);  // [B, out, k...]
      auto out = irfft_modes<D>(Y, N, S, norm_,
                                opt_.enforce_hermitian_symmetry ? ModesPlacement::exact : ModesPlacement::neuralop);
      if (opt_.bias) out = out + bias_.var;
      return out;
    } else {
      // Spectrum, shifted so that frequency 0 sits at n/2 on the shifted axes: 2.0.0 shifts every
      // axis, the last included, when d > 1; then the kept modes.
      auto X = fftn<D>(x, norm_);
      const int n_shift = centre_all ? int(D) : D > 1 ? int(D) : 0;
      if (n_shift > 0) X = fftshift(X, 2, n_shift);
      for (std::size_t i = 0; i < D; ++i) {
        const int ax = int(i + 2);
        const index_t c = fft_size[i] / 2;  // index of frequency 0 after the shift
        if (centred[i]) X = slice(X, ax, c - kept[i] / 2, c - kept[i] / 2 + kept[i]);
        else if (kept[i] < fft_size[i]) X = slice(X, ax, 0, kept[i]);
      }
      auto Y = full_ ? contract(X, *full_, wr) : contract(X, *sep_, wr);  // [B, out, k...]
      // Back into a zero spectrum of the input's size.
      Pads<R> pads{};
      for (std::size_t i = 0; i < D; ++i) {
        const index_t before = centred[i] ? fft_size[i] / 2 - kept[i] / 2 : 0;
        pads[i + 2] = {before, fft_size[i] - kept[i] - before};
      }
      Y = pad(Y, pads);
      // 2.0.0: fftshift (again, not ifftshift) of the non-last axes only, so the last axis stays
      // shifted by N/2; then ifftn with s = S. Centred variant: ifftshift of every axis.
      if (centre_all) Y = ifftshift(Y, 2, int(D));
      else if constexpr (D > 1) Y = fftshift(Y, 2, int(D - 1));
      auto out = ifftn<D>(Y, norm_, 2, S);
      if (opt_.bias) return Var<C, R, B>(out + cast<C>(bias_.var));  // real bias, complex output
      return out;
    }
  }

 private:
  SpectralConvOptions opt_;
  FftNorm norm_ = FftNorm::forward;
  bool factorized_ = false;
  std::array<index_t, D> modes_{}, max_modes_{};
  std::vector<double> scaling_;
  std::unique_ptr<FullWeight> full_;
  std::unique_ptr<SeparableWeight> sep_;
  Parameter<Real, D + 1, B> bias_;

  // X [B, in, k...] with the weight restricted to the mode rows `wr` -> [B, out, k...].
  template <std::size_t K>
  Var<C, R, B> contract(const Var<C, R, B>& X, const FactorizedTensor<C, K, B>& w,
                        const std::array<std::pair<index_t, index_t>, D>& wr) const {
    std::array<std::pair<index_t, index_t>, K> ranges{};
    for (std::size_t k = 0; k + D < K; ++k) ranges[k] = {0, w.shape()[k]};  // channel axes: whole
    for (std::size_t i = 0; i < D; ++i) ranges[K - D + i] = wr[i];
    const auto f = w.view(ranges);
    if constexpr (K == R) {
      // "factorized" contracts with the factors; "reconstructed" (and Dense) rebuilds the weight.
      if (factorized_ && f.kind != Factorization::dense) return contract_factorized(X, f);
      return spectral_contract_dense(X, to_tensor(f));
    } else {
      return contract_separable(X, f);
    }
  }
};

}  // namespace neuralop::nn
