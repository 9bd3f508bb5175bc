// DictUnitGaussianNormalizer: NeuralOperator's DictTransform of UnitGaussianNormalizers, one per
// named field, each applied to its range of channels; channels no field covers come out ZERO.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/data/unit_gaussian_normalizer.hpp"
#include "neuralop/ops/shape_ops.hpp"

namespace neuralop::data {

// Channels [begin, end) of the channel axis (Python's slice(begin, end) on that axis).
struct ChannelRange {
  index_t begin = 0;
  index_t end = 0;
  index_t size() const { return end - begin; }
};

template <TensorScalar T, std::size_t R, class B = cpu>
class DictUnitGaussianNormalizer {
 public:
  using normalizer_type = UnitGaussianNormalizer<T, R, B>;
  struct Field {
    std::string name;
    std::shared_ptr<normalizer_type> normalizer;
    ChannelRange input;                   // input_mappings[name]: the field's channels of x
    std::optional<ChannelRange> output;   // return_mappings[name]: channels of the field's result
                                          // kept (relative to it); unset = all of them
  };

  // Fields are applied in order; where input ranges overlap the later field's result is kept (the
  // later assignment `out[indices] = encoded` overwrites).
  explicit DictUnitGaussianNormalizer(std::vector<Field> fields, int channel_dim = 1)
      : fields_(std::move(fields)), channel_dim_(channel_dim) {
    if (channel_dim < 0 || channel_dim >= int(R))
      throw_error<value_error>("DictUnitGaussianNormalizer: channel_dim ", channel_dim, " is out of range for rank-", R, " data");
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      const Field& f = fields_[i];
      if (!f.normalizer) throw_error<value_error>("DictUnitGaussianNormalizer: field '", f.name, "' has no normalizer");
      for (std::size_t j = 0; j < i; ++j)
        if (fields_[j].name == f.name) throw_error<value_error>("DictUnitGaussianNormalizer: field '", f.name, "' appears twice");
      if (f.input.begin < 0 || f.input.end <= f.input.begin)
        throw_error<value_error>("DictUnitGaussianNormalizer: field '", f.name, "' has the empty or negative channel range [",
                                 f.input.begin, ", ", f.input.end, ")");
      if (f.output && (f.output->begin < 0 || f.output->size() != f.input.size()))
        throw_error<value_error>("DictUnitGaussianNormalizer: field '", f.name, "': its return mapping [", f.output->begin, ", ",
                                 f.output->end, ") must select as many channels (", f.input.size(),
                                 ") as its input mapping [", f.input.begin, ", ", f.input.end, ")");
    }
  }

  const std::vector<Field>& fields() const { return fields_; }
  const normalizer_type& operator[](const std::string& name) const {
    for (const Field& f : fields_)
      if (f.name == name) return *f.normalizer;
    throw_error<value_error>("DictUnitGaussianNormalizer: no field '", name, "'");
  }

  template <class X>
  X transform(const X& x) const {
    return apply(x, false);
  }
  template <class X>
  X inverse_transform(const X& x) const {
    return apply(x, true);
  }

 private:
  std::vector<Field> fields_;
  int channel_dim_;

  static Tensor<T, R, B> zeros_like(const Tensor<T, R, B>& x, const Shape<R>& s) {
    (void)x;
    return Tensor<T, R, B>::zeros(s);
  }
  static Var<T, R, B> zeros_like(const Var<T, R, B>&, const Shape<R>& s) { return Var<T, R, B>(Tensor<T, R, B>::zeros(s)); }

  // X is Tensor<T, R, B> or Var<T, R, B>. Each channel takes the last field covering it; runs of
  // channels with the same source are sliced from that field's result and concatenated.
  template <class X>
  X apply(const X& x, bool inverse) const {
    const Shape<R> s = x.shape();
    const index_t C = s[static_cast<std::size_t>(channel_dim_)];
    std::vector<int> owner(static_cast<std::size_t>(C), -1);
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      const Field& f = fields_[i];
      if (f.input.end > C)
        throw_error<shape_error>("DictUnitGaussianNormalizer: field '", f.name, "' takes channels [", f.input.begin, ", ",
                                 f.input.end, ") of data of shape ", format_shape(s), " (", C, " channels on axis ",
                                 channel_dim_, ")");
      for (index_t c = f.input.begin; c < f.input.end; ++c) owner[static_cast<std::size_t>(c)] = int(i);
    }
    std::vector<std::optional<X>> results(fields_.size());
    std::vector<X> parts;
    for (index_t c = 0; c < C;) {
      const int o = owner[static_cast<std::size_t>(c)];
      index_t e = c + 1;
      while (e < C && owner[static_cast<std::size_t>(e)] == o) ++e;
      if (o < 0) {
        Shape<R> zs = s;
        zs[static_cast<std::size_t>(channel_dim_)] = e - c;
        parts.push_back(zeros_like(x, zs));
      } else {
        const Field& f = fields_[static_cast<std::size_t>(o)];
        auto& r = results[static_cast<std::size_t>(o)];
        if (!r) {
          const X in = slice(x, channel_dim_, f.input.begin, f.input.end);
          X out = inverse ? f.normalizer->inverse_transform(in) : f.normalizer->transform(in);
          if (f.output) out = slice(out, channel_dim_, f.output->begin, f.output->end);
          r = std::move(out);
        }
        parts.push_back(slice(*r, channel_dim_, c - f.input.begin, e - f.input.begin));
      }
      c = e;
    }
    if (parts.size() == 1) return parts[0];
    return concat(std::span<const X>(parts), channel_dim_);
  }
};

}  // namespace neuralop::data
