// UnitGaussianNormalizer: NeuralOperator's per-channel / per-pixel / global standardisation
// (x - mean) / (std + eps), fitted at once (unbiased std) or incrementally (partial_fit, with its
// n/(n-1) factor), on tensors and differentiably on Vars; state_dict buffers "mean" and "std".
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/core/shape.hpp"
#include "neuralop/autograd/autograd.hpp"
#include "neuralop/nn/module.hpp"

namespace neuralop::data {

namespace detail {

// A statistics tensor saved in the state_dict (torch's buffer). Loading adopts the file's shape
// while the buffer is empty and otherwise requires it, as torch's load_state_dict does.
template <TensorScalar T, std::size_t R, class B>
class StatBuffer final : public nn::ParameterBase {
 public:
  Tensor<T, R, B> value;

  io::DType dtype() const override { return io::dtype_of<T>; }
  std::vector<index_t> shape() const override { return {value.shape().begin(), value.shape().end()}; }
  index_t numel() const override { return value.numel(); }
  io::RawTensor to_raw() const override { return io::RawTensor::from_tensor(value); }
  void load(const io::RawTensor& t, const std::string& name) override {
    if (value.defined() && t.shape != shape())
      throw_error<shape_error>("load_state_dict: '", name, "' has shape ", format_shape(t.shape),
                               " in the file, the normalizer's is ", format_shape(shape()));
    value = t.template to_tensor<T, R>(!io::is_complex_dtype(t.dtype), "load_state_dict: '" + name + "'").template to<B>();
  }
  void zero_grad() override {}
  std::optional<io::RawTensor> grad_raw() const override { return std::nullopt; }
  std::size_t host_nbytes() const override { return value.defined() ? static_cast<std::size_t>(numel()) * sizeof(T) : 0; }
  void value_to_host(void* dst) const override {
    if (value.defined()) B::template copy_to_host<T>(static_cast<T*>(dst), value.data(), static_cast<std::size_t>(numel()));
  }
  void value_from_host(const void* src) override {
    if (value.defined()) B::template copy_from_host<T>(value.data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
  }
  const char* backend_name() const override { return B::name; }
  void value_to_backend(void* dst) const override {
    if (value.defined()) B::template copy<T>(static_cast<T*>(dst), value.data(), static_cast<std::size_t>(numel()));
  }
  void value_from_backend(const void* src) override {
    if (value.defined()) B::template copy<T>(value.data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
  }
};

// Which axes of a rank-R tensor a normalizer reduces over (NeuralOperator's `dim`; unset = all).
template <std::size_t R>
std::array<bool, R> reduce_mask(const std::optional<std::vector<int>>& dim, const char* where) {
  std::array<bool, R> m{};
  if (!dim) {
    m.fill(true);
    return m;
  }
  for (int d : *dim) {
    if (d < -int(R) || d >= int(R))
      throw_error<value_error>(where, ": dim ", d, " is out of range for rank-", R, " data (expected -", R, "..", R - 1, ")");
    const auto a = static_cast<std::size_t>(d < 0 ? d + int(R) : d);
    if (m[a]) throw_error<value_error>(where, ": dim ", d, " appears more than once");
    m[a] = true;
  }
  return m;
}

// Per output entry (the keepdim shape): the count, sum and sum of squares of x over the masked
// axes, and with `mean` given the sum of squared deviations from it. Double accumulators.
template <class T, std::size_t R>
struct Moments {
  Shape<R> out_shape{};
  index_t count = 1;  // elements per output entry
  std::vector<double> sum, sumsq, dev2;
};
template <class T, std::size_t R>
Moments<T, R> moments(const std::vector<T>& x, const Shape<R>& s, const std::array<bool, R>& mask,
                      const std::vector<double>* mean = nullptr) {
  Moments<T, R> m;
  for (std::size_t a = 0; a < R; ++a) {
    m.out_shape[a] = mask[a] ? 1 : s[a];
    if (mask[a]) m.count *= s[a];
  }
  const auto out_st = contiguous_strides(m.out_shape);
  const auto n_out = static_cast<std::size_t>(neuralop::numel(m.out_shape));
  m.sum.assign(n_out, 0.0);
  m.sumsq.assign(n_out, 0.0);
  if (mean) m.dev2.assign(n_out, 0.0);
  // Odometer over x in row-major order; `o` follows the output entry.
  std::array<index_t, R> idx{};
  index_t o = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = static_cast<double>(x[i]);
    const auto oi = static_cast<std::size_t>(o);
    m.sum[oi] += v;
    m.sumsq[oi] += v * v;
    if (mean) m.dev2[oi] += (v - (*mean)[oi]) * (v - (*mean)[oi]);
    for (std::size_t a = R; a-- > 0;) {
      if (!mask[a]) o += out_st[a];
      if (++idx[a] < s[a]) break;
      if (!mask[a]) o -= out_st[a] * s[a];
      idx[a] = 0;
    }
  }
  return m;
}

template <class T, std::size_t R, class B>
Tensor<T, R, B> host_tensor(const Shape<R>& s, const std::vector<T>& v) {
  return Tensor<T, R, cpu>::from_data(s, std::span<const T>(v)).template to<B>();
}

// Rank R statistics seen by rank-R2 data (R2 >= R): leading axes of size 1, as torch broadcasts.
template <std::size_t R2, TensorScalar T, std::size_t R, class B>
Tensor<T, R2, B> lift_rank(const Tensor<T, R, B>& t) {
  if constexpr (R2 == R) {
    return t;
  } else {
    Shape<R2> s{};
    s.fill(1);
    for (std::size_t a = 0; a < R; ++a) s[R2 - R + a] = t.shape()[a];
    return t.reshape(s);
  }
}

}  // namespace detail

template <TensorScalar T, std::size_t R, class B = cpu>
class UnitGaussianNormalizer : public nn::Module {
  static_assert(!is_complex_v<T>, "UnitGaussianNormalizer: real data only (float or double)");
  static_assert(R >= 1, "UnitGaussianNormalizer: data need a batch axis");

 public:
  using value_type = T;
  using backend_type = B;
  using tensor_type = Tensor<T, R, B>;
  static constexpr std::size_t rank = R;

  // Unfitted. dim: the axes fit() reduces over, batch axis included (NeuralOperator's `dim`;
  // unset = all axes, scalar statistics); eps is added to std.
  explicit UnitGaussianNormalizer(std::optional<std::vector<int>> dim = std::nullopt, double eps = 1e-7)
      : dim_(std::move(dim)), eps_(eps) {
    (void)detail::reduce_mask<R>(dim_, "UnitGaussianNormalizer");
  }
  // With known statistics (shaped like the data with reduced axes of size 1).
  UnitGaussianNormalizer(tensor_type mean, tensor_type stdev, double eps = 1e-7, std::optional<std::vector<int>> dim = std::nullopt)
      : UnitGaussianNormalizer(std::move(dim), eps) {
    if (!mean.defined() || !stdev.defined()) throw_error<value_error>("UnitGaussianNormalizer: mean and std must be defined tensors");
    if (mean.shape() != stdev.shape())
      throw_error<shape_error>("UnitGaussianNormalizer: mean ", format_shape(mean.shape()), " and std ",
                               format_shape(stdev.shape()), " differ in shape");
    set_stats(std::move(mean), std::move(stdev));
  }

  // ---- fitting
  // mean and unbiased std of x over `dim` (keepdim); replaces any earlier statistics.
  void fit(const tensor_type& x) {
    require_data(x, "fit");
    fit_host(x.to_vector(), x.shape());
  }

  // Chunks of `batch_size` samples along axis 0: the first chunk of an unfitted normalizer as
  // fit(); each later one updates the running mean and mean of squares (in T, as NeuralOperator's
  // tensors) and sets std = sqrt(E[x^2] - mean^2) * n / (n - 1), NeuralOperator's factor.
  void partial_fit(const tensor_type& x, index_t batch_size = 1) {
    require_data(x, "partial_fit");
    if (batch_size <= 0)
      throw_error<value_error>("UnitGaussianNormalizer.partial_fit: batch_size must be positive, got ", batch_size);
    const auto h = x.to_vector();
    const index_t n = x.shape()[0], row = x.numel() / n;
    for (index_t c = 0; c < n; c += batch_size) {
      const index_t e = std::min(n, c + batch_size);
      Shape<R> s = x.shape();
      s[0] = e - c;
      std::vector<T> chunk(h.begin() + c * row, h.begin() + e * row);
      if (n_elements_ > 0) incremental_host(chunk, s);
      else fit_host(chunk, s);
    }
  }

  // ---- applying
  // (x - mean) / (std + eps); x of rank R2 >= R broadcasts against the statistics as in torch.
  template <std::size_t R2>
    requires(R2 >= R)
  Tensor<T, R2, B> transform(const Tensor<T, R2, B>& x) const {
    const auto [m, s] = stats_for<R2>(x.shape(), "transform");
    return Tensor<T, R2, B>((x - m) / (s + T(eps_)));
  }
  template <std::size_t R2>
    requires(R2 >= R)
  Var<T, R2, B> transform(const Var<T, R2, B>& x) const {
    const auto [m, s] = stats_for<R2>(x.shape(), "transform");
    return Var<T, R2, B>((x - m) / (s + T(eps_)));
  }
  // x * (std + eps) + mean; on a Var it records the graph (postprocess applies it to outputs).
  template <std::size_t R2>
    requires(R2 >= R)
  Tensor<T, R2, B> inverse_transform(const Tensor<T, R2, B>& x) const {
    const auto [m, s] = stats_for<R2>(x.shape(), "inverse_transform");
    return Tensor<T, R2, B>(x * (s + T(eps_)) + m);
  }
  template <std::size_t R2>
    requires(R2 >= R)
  Var<T, R2, B> inverse_transform(const Var<T, R2, B>& x) const {
    const auto [m, s] = stats_for<R2>(x.shape(), "inverse_transform");
    return Var<T, R2, B>(x * (s + T(eps_)) + m);
  }
  // forward(x) = transform(x)
  template <class X>
  auto operator()(const X& x) const {
    return transform(x);
  }

  // ---- state
  bool fitted() const { return mean_.value.defined(); }
  const tensor_type& mean() const {
    require_fitted("mean");
    return mean_.value;
  }
  const tensor_type& std() const {
    require_fitted("std");
    return std_.value;
  }
  // E[x^2] of the data seen by fit / partial_fit (undefined for given statistics).
  const tensor_type& squared_mean() const { return squared_mean_; }
  // Elements per statistic seen so far (0 for given statistics, as NeuralOperator).
  index_t n_elements() const { return n_elements_; }
  double eps() const { return eps_; }
  const std::optional<std::vector<int>>& dim() const { return dim_; }

  // Reads "mean" and "std" (any shape of rank R while unfitted); with strict nothing else.
  void load_state_dict(const io::StateDict& sd, bool strict = true) {
    for (const char* k : {"mean", "std"})
      if (!sd.contains(k))
        throw_error<value_error>("UnitGaussianNormalizer.load_state_dict from ", sd.where(), ": missing key '", k, "'");
    if (strict)
      for (const auto& [k, t] : sd)
        if (k != "mean" && k != "std")
          throw_error<value_error>("UnitGaussianNormalizer.load_state_dict from ", sd.where(), ": unexpected key '", k, "'",
                                   k == "mask" ? " (masked normalizers are not supported)" : "");
    detail::StatBuffer<T, R, B> m, s;
    m.value = mean_.value;
    s.value = std_.value;
    m.load(sd.at("mean"), "mean");
    s.load(sd.at("std"), "std");
    if (m.value.shape() != s.value.shape())
      throw_error<shape_error>("UnitGaussianNormalizer.load_state_dict: mean ", format_shape(m.value.shape()), " and std ",
                               format_shape(s.value.shape()), " differ in shape");
    set_stats(std::move(m.value), std::move(s.value));
  }

  // A copy on another backend (NeuralOperator's .to(device)).
  template <class B2>
  std::shared_ptr<UnitGaussianNormalizer<T, R, B2>> to() const {
    auto n = std::make_shared<UnitGaussianNormalizer<T, R, B2>>(dim_, eps_);
    if (fitted()) n->copy_state_from(mean_.value.template to<B2>(), std_.value.template to<B2>(),
                                     squared_mean_.defined() ? squared_mean_.template to<B2>() : Tensor<T, R, B2>(), n_elements_);
    return n;
  }
  // (used by to<>())
  void copy_state_from(tensor_type mean, tensor_type stdev, tensor_type squared_mean, index_t n_elements) {
    squared_mean_ = std::move(squared_mean);
    n_elements_ = n_elements;
    set_stats(std::move(mean), std::move(stdev));
  }

 private:
  std::optional<std::vector<int>> dim_;
  double eps_;
  detail::StatBuffer<T, R, B> mean_, std_;
  tensor_type squared_mean_;
  index_t n_elements_ = 0;
  bool registered_ = false;

  void set_stats(tensor_type mean, tensor_type stdev) {
    mean_.value = std::move(mean);
    std_.value = std::move(stdev);
    if (!registered_) {  // buffers are None (absent from the state_dict) until there are statistics
      register_buffer("mean", mean_);
      register_buffer("std", std_);
      registered_ = true;
    }
  }
  void require_fitted(const char* what) const {
    if (!fitted()) throw_error<value_error>("UnitGaussianNormalizer.", what, ": the normalizer has no statistics yet (call fit first)");
  }
  static void require_data(const tensor_type& x, const char* what) {
    if (!x.defined()) throw_error<value_error>("UnitGaussianNormalizer.", what, ": undefined tensor");
  }
  void fit_host(const std::vector<T>& h, const Shape<R>& shape) {
    const auto mask = detail::reduce_mask<R>(dim_, "UnitGaussianNormalizer.fit");
    const auto m0 = detail::moments<T, R>(h, shape, mask);
    const std::size_t n_out = m0.sum.size();
    const double n = double(m0.count);
    std::vector<double> mu(n_out);
    for (std::size_t o = 0; o < n_out; ++o) mu[o] = m0.sum[o] / n;
    const auto m1 = detail::moments<T, R>(h, shape, mask, &mu);  // two passes: the deviations from mu
    std::vector<T> mean(n_out), sq(n_out), sd(n_out);
    for (std::size_t o = 0; o < n_out; ++o) {
      mean[o] = T(mu[o]);
      sq[o] = T(m0.sumsq[o] / n);
      sd[o] = T(std::sqrt(m1.dev2[o] / (n - 1)));  // one element: 0/0, NaN as torch.std
    }
    n_elements_ = m0.count;
    squared_mean_ = detail::host_tensor<T, R, B>(m0.out_shape, sq);
    set_stats(detail::host_tensor<T, R, B>(m0.out_shape, mean), detail::host_tensor<T, R, B>(m0.out_shape, sd));
  }

  void incremental_host(const std::vector<T>& chunk, const Shape<R>& shape) {
    const auto mask = detail::reduce_mask<R>(dim_, "UnitGaussianNormalizer.partial_fit");
    const auto m = detail::moments<T, R>(chunk, shape, mask);
    if (m.out_shape != mean_.value.shape())
      throw_error<shape_error>("UnitGaussianNormalizer.partial_fit: a chunk of shape ", format_shape(shape),
                               " gives statistics of shape ", format_shape(m.out_shape), ", the normalizer holds ",
                               format_shape(mean_.value.shape()));
    auto mean = mean_.value.to_vector(), sq = squared_mean_.to_vector();
    std::vector<T> sd(mean.size());
    const index_t n_old = n_elements_, n_new = n_old + m.count;
    // The operations of NeuralOperator's update, each rounded to T: (1 / (n + m)) * (n * mean + sum).
    const T inv = T(1.0 / double(n_new)), n_old_t = T(double(n_old));
    for (std::size_t o = 0; o < mean.size(); ++o) {
      const T a = n_old_t * mean[o];
      mean[o] = inv * T(a + T(m.sum[o]));
      const T b = n_old_t * sq[o];
      sq[o] = inv * T(b + T(m.sumsq[o]));
      const T r = std::sqrt(T(sq[o] - T(mean[o] * mean[o])));
      sd[o] = T(r * T(double(n_new))) / T(double(n_new - 1));
    }
    n_elements_ = n_new;
    squared_mean_ = detail::host_tensor<T, R, B>(m.out_shape, sq);
    set_stats(detail::host_tensor<T, R, B>(m.out_shape, mean), detail::host_tensor<T, R, B>(m.out_shape, sd));
  }

  // mean and std lifted to rank R2, checked to broadcast against data of shape s.
  template <std::size_t R2>
  std::pair<Tensor<T, R2, B>, Tensor<T, R2, B>> stats_for(const Shape<R2>& s, const char* what) const {
    require_fitted(what);
    auto m = detail::lift_rank<R2>(mean_.value);
    for (std::size_t a = 0; a < R2; ++a)
      if (m.shape()[a] != 1 && m.shape()[a] != s[a])
        throw_error<shape_error>("UnitGaussianNormalizer.", what, ": data of shape ", format_shape(s),
                                 " do not match statistics of shape ", format_shape(mean_.value.shape()));
    return {std::move(m), detail::lift_rank<R2>(std_.value)};
  }
};

// NeuralOperator's UnitGaussianNormalizer.from_dataset for {"x", "y"} datasets: one normalizer
// per field, partial_fit on each sample with a batch axis of one, in dataset order.
template <class Dataset>
struct DatasetNormalizers {
  using batch_type = typename Dataset::batch_type;
  using T = typename batch_type::value_type;
  using B = typename batch_type::backend_type;
  std::shared_ptr<UnitGaussianNormalizer<T, batch_type::x_rank, B>> x;
  std::shared_ptr<UnitGaussianNormalizer<T, batch_type::y_rank, B>> y;
};
template <class Dataset>
DatasetNormalizers<Dataset> unit_gaussian_normalizers_from_dataset(const Dataset& ds, std::optional<std::vector<int>> dim = std::nullopt,
                                                                   bool fit_x = true, bool fit_y = true) {
  DatasetNormalizers<Dataset> out;
  if (fit_x) out.x = std::make_shared<typename decltype(out.x)::element_type>(dim);
  if (fit_y) out.y = std::make_shared<typename decltype(out.y)::element_type>(dim);
  for (index_t i = 0; i < ds.size(); ++i) {
    const auto b = ds.get(i);
    if (out.x) out.x->partial_fit(b.x);
    if (out.y) out.y->partial_fit(b.y);
  }
  return out;
}

}  // namespace neuralop::data
