// FactorizedTensor<C, K>: a weight tensor of order K stored as tltorch's FactorizedTensor
// (Dense, Tucker, CP or TT; the same state_dict keys and shapes), tensorly's rank rules, tltorch's
// initialisation, slicing by factor rows, and a differentiable dense reconstruction.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/nn/module.hpp"
#include "neuralop/ops/matmul.hpp"
#include "neuralop/ops/shape_ops.hpp"

namespace neuralop::nn {

enum class Factorization { dense, tucker, cp, tt };

// tltorch's names, case-insensitive; "" (NeuralOperator's None) is Dense.
inline Factorization factorization(std::string name, const char* who = "factorization") {
  for (auto& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (name.empty() || name == "dense") return Factorization::dense;
  if (name == "tucker") return Factorization::tucker;
  if (name == "cp") return Factorization::cp;
  if (name == "tt") return Factorization::tt;
  throw_error<value_error>(who, ": unknown factorization '", name, "' (expected \"dense\", \"tucker\", \"cp\" or \"tt\")");
}
constexpr const char* name(Factorization f) {
  return f == Factorization::dense ? "Dense" : f == Factorization::tucker ? "Tucker" : f == Factorization::cp ? "CP" : "TT";
}

// ---------------------------------------------------------------- rank rules (tensorly 0.9/0.10)
// A rank is a fraction of the dense parameter count, or an explicit integer (Python int).
struct RankSpec {
  double fraction = 1.0;
  std::optional<int> explicit_rank = {};
};

namespace detail {
// np.round: half to even.
inline index_t np_round(double v) { return static_cast<index_t>(std::nearbyint(v)); }
inline std::string shape_text(const std::vector<index_t>& s) { return format_shape(s); }
}  // namespace detail

// Tucker: for a fraction rho, the c in [0, max(rho, 1)] with P c^M + (sum_free s_k^2 + sum_fixed
// s_k^2) c = rho P (P = prod s_k over all modes, M = the number of free modes), rank_k =
// max(round(s_k c), 1) on free modes and s_k on fixed ones. tensorly finds c with Brent's method
// (xtol 2e-12); the function is increasing on [0, inf), so bisection to full precision finds the
// same root. An integer r gives r on every free mode.
inline std::vector<index_t> tucker_rank(const std::vector<index_t>& shape, RankSpec rank,
                                        const std::vector<std::size_t>& fixed_modes = {}) {
  const auto fixed = [&](std::size_t k) { return std::find(fixed_modes.begin(), fixed_modes.end(), k) != fixed_modes.end(); };
  std::vector<index_t> out(shape.size());
  if (rank.explicit_rank) {
    for (std::size_t k = 0; k < shape.size(); ++k) out[k] = fixed(k) ? shape[k] : *rank.explicit_rank;
    return out;
  }
  double P = 1, free_sq = 0, fixed_sq = 0;
  int M = 0;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    P *= double(shape[k]);
    if (fixed(k)) {
      fixed_sq += double(shape[k]) * double(shape[k]);
    } else {
      free_sq += double(shape[k]) * double(shape[k]);
      ++M;
    }
  }
  const double rho = rank.fraction;
  const auto f = [&](double c) { return P * std::pow(c, M) + (free_sq + fixed_sq) * c - rho * P; };
  double lo = 0, hi = std::max(rho, 1.0);
  if (f(hi) < 0)
    throw_error<value_error>("tucker rank: no root of the parameter-count equation for shape ", detail::shape_text(shape),
                             " and rank ", rho);
  for (int it = 0; it < 200 && hi - lo > 0; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    (f(mid) < 0 ? lo : hi) = mid;
  }
  const double c = 0.5 * (lo + hi);
  for (std::size_t k = 0; k < shape.size(); ++k)
    out[k] = fixed(k) ? shape[k] : std::max<index_t>(detail::np_round(double(shape[k]) * c), 1);
  return out;
}

// CP: R = round(prod s_k * rho / sum s_k), or the integer given.
inline index_t cp_rank(const std::vector<index_t>& shape, RankSpec rank) {
  if (rank.explicit_rank) return *rank.explicit_rank;
  double P = 1, S = 0;
  for (auto s : shape) {
    P *= double(s);
    S += double(s);
  }
  return detail::np_round(P * rank.fraction / S);
}

// TT (tensorly's non-constant rule): avg_k = (s_k + s_{k+1}) / 2, solve a f^2 + b f = rho P with
// a = sum_{k=1}^{K-2} avg_{k-1} s_k avg_k (order 2: avg_0^2 s_0), b = s_0 avg_0 + s_{K-1} avg_{K-2};
// ranks (1, max(round(avg_k f), 1)..., 1). An integer r gives (1, r, ..., r, 1).
inline std::vector<index_t> tt_rank(const std::vector<index_t>& shape, RankSpec rank) {
  const std::size_t K = shape.size();
  std::vector<index_t> out(K + 1, 1);
  if (K < 2) throw_error<value_error>("tt rank: a tensor-train needs at least 2 modes, shape ", detail::shape_text(shape));
  if (rank.explicit_rank) {
    for (std::size_t k = 1; k < K; ++k) out[k] = *rank.explicit_rank;
    return out;
  }
  std::vector<double> avg(K - 1);
  for (std::size_t k = 0; k + 1 < K; ++k) avg[k] = (double(shape[k]) + double(shape[k + 1])) / 2;
  double a = 0;
  if (K > 2) {
    for (std::size_t k = 1; k + 1 < K; ++k) a += avg[k - 1] * double(shape[k]) * avg[k];
  } else {
    a = avg[0] * avg[0] * double(shape[0]);
  }
  const double b = double(shape[0]) * avg[0] + double(shape[K - 1]) * avg[K - 2];
  double P = 1;
  for (auto s : shape) P *= double(s);
  const double c = -P * rank.fraction;
  const double f = (-b + std::sqrt(b * b - 4 * a * c)) / (2 * a);
  for (std::size_t k = 0; k + 1 < K; ++k) out[k + 1] = std::max<index_t>(detail::np_round(avg[k] * f), 1);
  return out;
}

// ---------------------------------------------------------------- the factors as Vars
// What a contraction needs: the (possibly sliced) factors of one forward pass.
//   dense:  tensor [s_0..s_{K-1}]
//   tucker: tensor = core [r_0..r_{K-1}], mats[k] = U_k [s_k, r_k]
//   cp:     weights [R], mats[k] = U_k [s_k, R]
//   tt:     cores[k] = G_k [r_k, s_k, r_{k+1}]
template <class C, std::size_t K, class B>
struct FactorVars {
  Factorization kind = Factorization::dense;
  Shape<K> shape{};
  Var<C, K, B> tensor;
  Var<C, 1, B> weights;
  std::vector<Var<C, 2, B>> mats;
  std::vector<Var<C, 3, B>> cores;
};

// y[..., o, ...] = sum_i A[o, i] t[..., i, ...] along `axis` (the mode-`axis` product t x_axis A).
template <class C, std::size_t R, class B>
Var<C, R, B> mode_apply(const Var<C, R, B>& t, const Var<C, 2, B>& A, std::size_t axis) {
  const Shape<R>& s = t.shape();
  index_t pre = 1, post = 1;
  for (std::size_t d = 0; d < axis; ++d) pre *= s[d];
  for (std::size_t d = axis + 1; d < R; ++d) post *= s[d];
  Shape<R> so = s;
  so[axis] = A.shape()[0];
  // [pre, n, post] is channel_contract's [batch, channels, positions].
  return reshape(channel_contract(reshape(t, Shape<3>{pre, s[axis], post}), A), so);
}

template <class C, class B>
Var<C, 2, B> transpose(const Var<C, 2, B>& m) {
  return permute(m, {1, 0});
}

// Khatri-Rao product of [s_k, R] factors in order: [prod s_k, R], row (i_0, ..., i_n) holds
// prod_k U_k[i_k, :].
template <class C, class B>
Var<C, 2, B> khatri_rao(const std::vector<Var<C, 2, B>>& us, std::size_t first, std::size_t last) {
  Var<C, 2, B> acc = us[first];
  const index_t R = acc.shape()[1];
  for (std::size_t k = first + 1; k < last; ++k) {
    const index_t p = acc.shape()[0], s = us[k].shape()[0];
    Var<C, 3, B> prod(reshape(acc, Shape<3>{p, 1, R}) * reshape(us[k], Shape<3>{1, s, R}));
    acc = reshape(prod, Shape<2>{p * s, R});
  }
  return acc;
}

// The train G_first ... G_{last-1} as [r_first * prod s_k, r_last].
template <class C, class B>
Var<C, 2, B> tt_chain(const std::vector<Var<C, 3, B>>& cores, std::size_t first, std::size_t last) {
  const auto& g0 = cores[first].shape();
  Var<C, 2, B> acc = reshape(cores[first], Shape<2>{g0[0] * g0[1], g0[2]});
  for (std::size_t k = first + 1; k < last; ++k) {
    const auto& g = cores[k].shape();
    auto m = matmul(acc, reshape(cores[k], Shape<2>{g[0], g[1] * g[2]}));  // [P, s_k r_{k+1}]
    acc = reshape(m, Shape<2>{acc.shape()[0] * g[1], g[2]});
  }
  return acc;
}

// The dense tensor, differentiable in every factor (tensorly's tucker/cp/tt_to_tensor).
template <class C, std::size_t K, class B>
Var<C, K, B> to_tensor(const FactorVars<C, K, B>& f) {
  switch (f.kind) {
    case Factorization::dense: return f.tensor;
    case Factorization::tucker: {
      // W = core x_0 U_0 x_1 U_1 ... x_{K-1} U_{K-1}.
      Var<C, K, B> w = f.tensor;
      for (std::size_t k = 0; k < K; ++k) w = mode_apply(w, f.mats[k], k);
      return w;
    }
    case Factorization::cp: {
      // W[i...] = sum_r lambda_r prod_k U_k[i_k, r]: Khatri-Rao rows times lambda.
      const index_t R = f.weights.shape()[0];
      return reshape(matmul(khatri_rao(f.mats, 0, K), reshape(f.weights, Shape<2>{R, 1})), f.shape);
    }
    case Factorization::tt: return reshape(tt_chain(f.cores, 0, K), f.shape);
  }
  return f.tensor;
}

// ---------------------------------------------------------------- the module
struct FactorizedTensorOptions {
  Factorization factorization = Factorization::dense;
  RankSpec rank = {};
  std::vector<std::size_t> fixed_rank_modes = {};  // Tucker only (tltorch ignores it otherwise)
  double std = 1.0;                                // normal_(0, std) of the whole tensor
};

template <class C, std::size_t K, class B = cpu>
class FactorizedTensor : public Module {
  static_assert(is_complex_v<C> || std::is_floating_point_v<C>);
  static_assert(K >= 1);

 public:
  // `who` names the owner in messages ("SpectralConv 'fno_blocks.convs.0'").
  FactorizedTensor(const Shape<K>& shape, FactorizedTensorOptions opt, Generator& gen = default_generator(),
                   const std::string& who = "FactorizedTensor")
      : kind_(opt.factorization), shape_(shape) {
    const std::vector<index_t> s(shape.begin(), shape.end());
    if (opt.rank.explicit_rank && *opt.rank.explicit_rank <= 0)
      throw_error<value_error>(who, ": rank ", *opt.rank.explicit_rank, " must be positive");
    if (!opt.rank.explicit_rank && !(opt.rank.fraction > 0))
      throw_error<value_error>(who, ": rank ", opt.rank.fraction, " must be a positive fraction");
    using Rl = real_t<C>;
    const auto normal = [&gen](auto shp, double sd) {
      return Tensor<C, std::tuple_size_v<decltype(shp)>, B>::normal(shp, 0, Rl(sd), gen);
    };
    switch (kind_) {
      case Factorization::dense:
        rank_ = s;
        tensor_ = Parameter<C, K, B>(normal(shape, opt.std));
        register_parameter("tensor", tensor_);
        break;
      case Factorization::tucker: {
        rank_ = tucker_rank(s, opt.rank, opt.fixed_rank_modes);
        // tltorch: core and factors ~ N(0, (std / prod_k sqrt(r_k))^(1 / (K + 1))).
        double root = 1;
        for (auto r : rank_) root *= std::sqrt(double(r));
        const double sf = std::pow(opt.std / root, 1.0 / double(K + 1));
        Shape<K> cs{};
        for (std::size_t k = 0; k < K; ++k) cs[k] = rank_[k];
        tensor_ = Parameter<C, K, B>(normal(cs, sf));
        register_parameter("core", tensor_);
        for (std::size_t k = 0; k < K; ++k) add_mat(normal(Shape<2>{s[k], rank_[k]}, sf), k);
        break;
      }
      case Factorization::cp: {
        const index_t R = cp_rank(s, opt.rank);
        if (R < 1)
          throw_error<value_error>(who, ": rank ", opt.rank.fraction, " gives a CP rank of ", R, " for the weight of shape ",
                                   detail::shape_text(s), "; use a larger rank");
        rank_ = {R};
        // tltorch: weights = 1, factors ~ N(0, (std / sqrt(R))^(1 / K)).
        const double sf = std::pow(opt.std / std::sqrt(double(R)), 1.0 / double(K));
        weights_ = Parameter<C, 1, B>(Tensor<C, 1, B>::ones(Shape<1>{R}));
        register_parameter("weights", weights_);
        for (std::size_t k = 0; k < K; ++k) add_mat(normal(Shape<2>{s[k], R}, sf), k);
        break;
      }
      case Factorization::tt: {
        rank_ = tt_rank(s, opt.rank);
        // tltorch: factors ~ N(0, (std / prod r_k)^(1 / K)) (boundary ranks 1 included).
        double prod = 1;
        for (auto r : rank_) prod *= double(r);
        const double sf = std::pow(opt.std / prod, 1.0 / double(K));
        for (std::size_t k = 0; k < K; ++k) {
          cores_.push_back(std::make_unique<Parameter<C, 3, B>>(normal(Shape<3>{rank_[k], s[k], rank_[k + 1]}, sf)));
          register_parameter("factors.factor_" + std::to_string(k), *cores_.back());
        }
        break;
      }
    }
  }

  Factorization factorization() const { return kind_; }
  const Shape<K>& shape() const { return shape_; }
  // Dense: the shape; Tucker: (r_0..r_{K-1}); CP: (R); TT: (1, r_1, ..., r_{K-1}, 1).
  const std::vector<index_t>& rank() const { return rank_; }
  // Dense tensor or Tucker core; CP weights; Tucker/CP factor k; TT core k.
  Parameter<C, K, B>& tensor() { return tensor_; }
  Parameter<C, 1, B>& weights() { return weights_; }
  Parameter<C, 2, B>& factor(std::size_t k) { return *mats_.at(k); }
  Parameter<C, 3, B>& tt_factor(std::size_t k) { return *cores_.at(k); }

  // The factors restricted to rows [ranges[k].first, ranges[k].second) of each mode k (tltorch's
  // __getitem__ with slices: Tucker/CP slice the rows of U_k, TT the middle axis of G_k, Dense the
  // tensor); the reconstruction of the result is the slice of the full tensor.
  FactorVars<C, K, B> view(const std::array<std::pair<index_t, index_t>, K>& ranges) const {
    FactorVars<C, K, B> f;
    f.kind = kind_;
    for (std::size_t k = 0; k < K; ++k) {
      const auto [b, e] = ranges[k];
      if (b < 0 || e > shape_[k] || b >= e)
        throw_error<value_error>("FactorizedTensor: slice [", b, ", ", e, ") of mode ", k, " of shape ", format_shape(shape_));
      f.shape[k] = e - b;
    }
    const auto full = [&](std::size_t k) { return ranges[k].first == 0 && ranges[k].second == shape_[k]; };
    switch (kind_) {
      case Factorization::dense:
        f.tensor = tensor_.var;
        for (std::size_t k = 0; k < K; ++k)
          if (!full(k)) f.tensor = slice(f.tensor, int(k), ranges[k].first, ranges[k].second);
        break;
      case Factorization::tucker:
      case Factorization::cp:
        if (kind_ == Factorization::tucker) f.tensor = tensor_.var;
        else f.weights = weights_.var;
        for (std::size_t k = 0; k < K; ++k)
          f.mats.push_back(full(k) ? mats_[k]->var : slice(mats_[k]->var, 0, ranges[k].first, ranges[k].second));
        break;
      case Factorization::tt:
        for (std::size_t k = 0; k < K; ++k)
          f.cores.push_back(full(k) ? cores_[k]->var : slice(cores_[k]->var, 1, ranges[k].first, ranges[k].second));
        break;
    }
    return f;
  }
  FactorVars<C, K, B> view() const {
    std::array<std::pair<index_t, index_t>, K> all{};
    for (std::size_t k = 0; k < K; ++k) all[k] = {0, shape_[k]};
    return view(all);
  }
  // The dense tensor (differentiable).
  Var<C, K, B> to_tensor() const { return nn::to_tensor(view()); }

 private:
  Factorization kind_;
  Shape<K> shape_;
  std::vector<index_t> rank_;
  Parameter<C, K, B> tensor_;
  Parameter<C, 1, B> weights_;
  // Registration keeps addresses: the parameters live behind pointers.
  std::vector<std::unique_ptr<Parameter<C, 2, B>>> mats_;
  std::vector<std::unique_ptr<Parameter<C, 3, B>>> cores_;

  void add_mat(Tensor<C, 2, B> t, std::size_t k) {
    mats_.push_back(std::make_unique<Parameter<C, 2, B>>(std::move(t)));
    register_parameter("factors.factor_" + std::to_string(k), *mats_.back());
  }
};

}  // namespace neuralop::nn
