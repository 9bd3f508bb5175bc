// SpectralConv<D>: NeuralOperator's spectral convolution (neuralop.layers.spectral_convolution),
// real-data path with a dense complex weight: rfftn, keep the low modes (centred on non-last
// axes after fftshift, the first ones on the last axis), multiply each kept mode by its own
// in x out matrix, place back, inverse transform (Hermitian path), add the bias.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/nn/module.hpp"
#include "neuralop/ops/fft.hpp"
#include "neuralop/ops/matmul.hpp"
#include "neuralop/ops/spectral_contract.hpp"
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
  // (case-insensitive). rank: a fraction of the dense parameter count; rank_int, when set, is
  // NeuralOperator's integer rank instead. implementation: "reconstructed" (NeuralOperator's
  // SpectralConv default; FNOBlocks passes "factorized"). fixed_rank_modes: Tucker keeps mode 0.
  std::string factorization = "";
  double rank = 1.0;
  std::optional<int> rank_int = {};
  std::string implementation = "reconstructed";
  bool fixed_rank_modes = false;
  bool separable = false;  // depthwise weight [in, modes...], needs in == out
  // complex_data is not an option: it is SpectralConv<D, std::complex<float>> (T complex).
};

namespace detail {
// Python's round(): half to even.
inline index_t round_half_even(double v) { return static_cast<index_t>(std::nearbyint(v)); }

// Keeps the real part of the entries at `index` of the last axis (Y[..., index].imag = 0). Its
// adjoint does the same to the gradient.
template <class C, std::size_t R, class B>
Var<C, R, B> zero_imag_at(const Var<C, R, B>& y, index_t index) {
  auto keep_real = [index](Tensor<C, R, B> t) {
    auto v = t.slice(int(R - 1), index, index + 1);
    v.assign((v + conj(v)) * C(0.5));
    return t;
  };
  return record_op(
      "zero_imag", keep_real(y.value().clone()),
      [ys = y.slot_ptr(), keep_real](const Tensor<C, R, B>& g) { ys->accumulate_grad(keep_real(g.clone())); }, y);
}
}  // namespace detail

template <std::size_t D, class T = float, class B = cpu>
class SpectralConv : public Module {
  static_assert(D >= 1, "SpectralConv: at least one spatial axis");
  static constexpr std::size_t R = D + 2;  // [batch, channels, spatial...]
  using C = std::complex<T>;

 public:
  explicit SpectralConv(SpectralConvOptions opt, Generator& gen = default_generator()) : opt_(std::move(opt)) {
    if (opt_.in_channels <= 0 || opt_.out_channels <= 0)
      throw_error<value_error>("SpectralConv: in_channels ", opt_.in_channels, " and out_channels ", opt_.out_channels,
                               " must be positive");
    norm_ = fft_norm(opt_.fft_norm);
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
    Shape<R> ws{};
    ws[0] = opt_.in_channels;
    ws[1] = opt_.out_channels;
    for (std::size_t i = 0; i < D; ++i) ws[i + 2] = max_modes_[i];
    // Complex normal(0, sigma): real and imaginary parts each N(0, sigma^2 / 2), as torch (and
    // as Tensor::normal does for complex types).
    weight_ = Parameter<C, R, B>(Tensor<C, R, B>::normal(ws, 0, T(sigma), gen));
    if (opt_.bias) {
      Shape<D + 1> bs{};
      bs.fill(1);
      bs[0] = opt_.out_channels;
      bias_ = Parameter<T, D + 1, B>(Tensor<T, D + 1, B>::normal(bs, 0, T(sigma), gen));
      register_parameter("bias", bias_);  // torch lists it first: the weight is a sub-module there
    }
    register_parameter("weight.tensor", weight_);
  }

  // n_modes can change between calls (incremental training), up to max_n_modes.
  void set_n_modes(const std::vector<int>& n_modes) {
    if (n_modes.size() != D)
      throw_error<value_error>("SpectralConv: n_modes has ", n_modes.size(), " entries for ", D, " spatial axes");
    for (std::size_t i = 0; i < D; ++i) {
      if (n_modes[i] <= 0) throw_error<value_error>("SpectralConv: n_modes must be positive, got ", n_modes[i]);
      modes_[i] = n_modes[i];
    }
    modes_[D - 1] = modes_[D - 1] / 2 + 1;  // real-FFT half spectrum
  }
  const std::array<index_t, D>& n_modes() const { return modes_; }  // internal (last halved)
  const std::array<index_t, D>& max_n_modes() const { return max_modes_; }
  Parameter<C, R, B>& weight() { return weight_; }
  Parameter<T, D + 1, B>& bias() { return bias_; }

  Var<T, R, B> operator()(const Var<T, R, B>& x, std::optional<Shape<D>> output_shape = std::nullopt) const {
    return forward(x, output_shape);
  }
  Var<T, R, B> forward(const Var<T, R, B>& x, std::optional<Shape<D>> output_shape = std::nullopt) const {
    const Shape<R>& xs = x.shape();
    if (xs[1] != opt_.in_channels)
      throw_error<shape_error>(where("SpectralConv"), ": input ", format_shape(xs), " has ", xs[1],
                               " channels, the layer takes ", opt_.in_channels);
    std::array<index_t, D> fft_size{}, kept{}, start{};
    for (std::size_t i = 0; i < D; ++i) {
      fft_size[i] = i + 1 == D ? xs[i + 2] / 2 + 1 : xs[i + 2];
      start[i] = max_modes_[i] - std::min(fft_size[i], modes_[i]);
      kept[i] = max_modes_[i] - start[i];
    }
    // Spectrum, low modes centred on the non-last axes.
    auto X = rfftn<D>(x, norm_);
    if constexpr (D > 1) X = fftshift(X, 2, int(D - 1));
    auto W = weight_.var;
    for (std::size_t i = 0; i < D; ++i) {
      const int ax = int(i + 2);
      const index_t c = fft_size[i] / 2;  // index of frequency 0 after the shift
      if (i + 1 < D) {
        X = slice(X, ax, c - kept[i] / 2, c - kept[i] / 2 + kept[i]);
        if (start[i] > 0) W = slice(W, ax, start[i] / 2, max_modes_[i] - (start[i] + 1) / 2);
      } else {
        if (kept[i] < fft_size[i]) X = slice(X, ax, 0, kept[i]);
        if (start[i] > 0) W = slice(W, ax, 0, kept[i]);
      }
    }
    auto Y = spectral_contract_dense(X, W);  // [B, out, k...]
    // Back into a zero spectrum of the input's size, then to standard order.
    Pads<R> pads{};
    for (std::size_t i = 0; i < D; ++i) {
      const index_t before = i + 1 < D ? fft_size[i] / 2 - kept[i] / 2 : 0;
      pads[i + 2] = {before, fft_size[i] - kept[i] - before};
    }
    Y = pad(Y, pads);
    // Output size: output_shape, else round(N * scaling), else the input's.
    std::array<index_t, D> S{};
    for (std::size_t i = 0; i < D; ++i)
      S[i] = output_shape ? (*output_shape)[i]
                          : scaling_.empty() ? xs[i + 2] : detail::round_half_even(double(xs[i + 2]) * scaling_[i]);
    Var<T, R, B> out;
    if (!opt_.enforce_hermitian_symmetry) {
      // neuraloperator 2.0.0 (PyPI): fftshift again (not ifftshift: the two differ on odd sizes)
      // and one irfftn with s = S.
      if constexpr (D > 1) Y = fftshift(Y, 2, int(D - 1));
      out = irfftn<D>(Y, S, norm_);
    } else {
      // Newer NeuralOperator sources: back to standard order with ifftshift, complex inverse over
      // the non-last axes, keep the real part of bin 0 and (even S_last) of the last bin, real
      // inverse of the last axis.
      if constexpr (D > 1) {
        Y = ifftshift(Y, 2, int(D - 1));
        std::array<index_t, D - 1> s0{};
        for (std::size_t i = 0; i + 1 < D; ++i) s0[i] = S[i];
        Y = ifftn<D - 1>(Y, norm_, 2, s0);
      }
      Y = detail::zero_imag_at(Y, 0);
      if (S[D - 1] % 2 == 0) Y = detail::zero_imag_at(Y, Y.shape()[R - 1] - 1);
      out = irfftn<1>(Y, {S[D - 1]}, norm_);
    }
    if (opt_.bias) out = out + bias_.var;
    return out;
  }

 private:
  SpectralConvOptions opt_;
  FftNorm norm_ = FftNorm::forward;
  std::array<index_t, D> modes_{}, max_modes_{};
  std::vector<double> scaling_;
  Parameter<C, R, B> weight_;
  Parameter<T, D + 1, B> bias_;
};

}  // namespace neuralop::nn
