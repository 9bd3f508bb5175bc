// DomainPadding (neuralop.layers.padding): zero-pads every spatial axis on both sides by
// p_i = round(fraction_i N_i) (half to even) before the Fourier layers, so that their periodic
// convolutions see a non-periodic domain, and removes q_i = round(p_i r_i) on each side after
// them, r = the resolution scaling the layers apply in between.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "neuralop/nn/scaling_factor.hpp"
#include "neuralop/ops/shape_ops.hpp"

namespace neuralop::nn {

template <std::size_t D, class T = float, class B = cpu>
class DomainPadding {
  static constexpr std::size_t R = D + 2;

 public:
  // domain_padding: one fraction for every axis ({f}) or one per axis; resolution_scaling_factor:
  // as FNO passes it (None: 1; a number; one factor per axis).
  explicit DomainPadding(std::vector<double> domain_padding, ScalingFactor resolution_scaling_factor = {})
      : fractions_(std::move(domain_padding)) {
    if (fractions_.size() == 1) fractions_.assign(D, fractions_[0]);
    if (fractions_.size() != D)
      throw_error<value_error>("DomainPadding: domain_padding has ", fractions_.size(), " entries; give one, or one per spatial axis (", D, ")");
    for (double f : fractions_)
      if (!(f >= 0)) throw_error<value_error>("DomainPadding: domain_padding ", f, " must be >= 0");
    scaling_ = resolution_scaling_factor.per_axis(D, "DomainPadding");
  }

  // Zero padding p_i on both sides of spatial axis i; remembers how to unpad the output that
  // the layers make of it (round(r_i (N_i + 2 p_i)) per axis).
  Var<T, R, B> pad(const Var<T, R, B>& x) const {
    Pads<R> pads{};
    Shape<D> expected{}, q{};
    for (std::size_t i = 0; i < D; ++i) {
      const index_t n = x.shape()[i + 2];
      const index_t p = round_even(fractions_[i] * double(n));
      pads[i + 2] = {p, p};
      q[i] = round_even(double(p) * scaling_[i]);
      expected[i] = round_even(scaling_[i] * double(n + 2 * p));
    }
    {
      std::lock_guard lock(mutex_);
      unpad_[expected] = q;
    }
    return neuralop::pad(x, pads);
  }

  // Removes round(p_i r_i) on both sides; x must have a shape that pad() announced.
  Var<T, R, B> unpad(const Var<T, R, B>& x) const {
    Shape<D> s{};
    for (std::size_t i = 0; i < D; ++i) s[i] = x.shape()[i + 2];
    Shape<D> q{};
    {
      std::lock_guard lock(mutex_);
      const auto it = unpad_.find(s);
      if (it == unpad_.end()) {
        std::string known;
        for (const auto& [k, v] : unpad_) known += (known.empty() ? "" : ", ") + format_shape(k);
        throw_error<shape_error>("DomainPadding: unpad of ", format_shape(x.shape()),
                                 ": no pad() produced spatial size ", format_shape(s), " (expected one of: ", known.empty() ? "none" : known,
                                 "); the layers' output size must be round(scaling * padded size)");
      }
      q = it->second;
    }
    Var<T, R, B> y = x;
    for (std::size_t i = 0; i < D; ++i)
      if (q[i] > 0) y = slice(y, int(i + 2), q[i], s[i] - q[i]);
    return y;
  }

  const std::vector<double>& domain_padding() const { return fractions_; }

 private:
  static index_t round_even(double v) { return static_cast<index_t>(std::nearbyint(v)); }
  std::vector<double> fractions_, scaling_;
  mutable std::mutex mutex_;
  mutable std::map<Shape<D>, Shape<D>> unpad_;
};

}  // namespace neuralop::nn
