// DictDataset: samples that are dicts of named tensors (NeuralOperator's DictDataset, whose
// items are data_list[i] updated with a `constant` dict), batched by stacking each field as
// torch's default collate does; fields(x_key, y_key) views it as {x, y} batches for the Trainer.
#pragma once

#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/data/tensor_dataset.hpp"

namespace neuralop::data {

// A batch of named fields, each stacked along a new axis 0.
template <TensorScalar T, std::size_t R, class B = cpu>
struct DictBatch {
  std::map<std::string, Tensor<T, R + 1, B>> fields;

  const Tensor<T, R + 1, B>& at(const std::string& key) const {
    const auto it = fields.find(key);
    if (it == fields.end()) {
      std::string have;
      for (const auto& [k, v] : fields) have += (have.empty() ? "" : ", ") + k;
      throw_error<value_error>("DictBatch: no field '", key, "' (fields: ", have, ")");
    }
    return it->second;
  }
  index_t size() const { return fields.empty() ? 0 : fields.begin()->second.shape()[0]; }
};

// Sample i = data_list[i] with every entry of `constant` added (replacing a field of the same
// name, as dict.update). Every sample must have the same fields with the same shapes, so that
// they stack; this is checked at construction, naming the sample and the field.
template <TensorScalar T, std::size_t R, class B = cpu>
class DictDataset {
 public:
  using Sample = std::map<std::string, Tensor<T, R, B>>;
  using batch_type = DictBatch<T, R, B>;

  explicit DictDataset(std::vector<Sample> data_list, Sample constant = {})
      : samples_(std::move(data_list)), constant_(std::move(constant)) {
    if (samples_.empty()) throw_error<value_error>("DictDataset: data_list is empty");
    for (auto& s : samples_)
      for (const auto& [k, v] : constant_) s[k] = v;
    const Sample& first = samples_.front();
    for (std::size_t i = 0; i < samples_.size(); ++i) {
      const Sample& s = samples_[i];
      for (const auto& [k, v] : s) {
        if (!v.defined()) throw_error<value_error>("DictDataset: sample ", i, " field '", k, "' is an undefined tensor");
        const auto it = first.find(k);
        if (it == first.end())
          throw_error<value_error>("DictDataset: sample ", i, " has field '", k, "' that sample 0 lacks");
        if (it->second.shape() != v.shape())
          throw_error<shape_error>("DictDataset: field '", k, "' of sample ", i, " has shape ", format_shape(v.shape()),
                                   " but sample 0's has ", format_shape(it->second.shape()), " (samples must stack)");
      }
      if (s.size() != first.size()) throw_error<value_error>("DictDataset: sample ", i, " has ", s.size(), " fields, sample 0 has ", first.size());
    }
  }

  index_t size() const { return static_cast<index_t>(samples_.size()); }
  const Sample& operator[](index_t i) const {
    if (i < 0 || i >= size()) throw_error<value_error>("DictDataset: sample index ", i, " out of range for ", size(), " samples");
    return samples_[static_cast<std::size_t>(i)];
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (const auto& [name, v] : samples_.front()) k.push_back(name);
    return k;
  }

  batch_type get(std::span<const index_t> indices) const {
    batch_type b;
    for (const auto& [k, v0] : samples_.front()) b.fields.emplace(k, stack(k, indices));
    return b;
  }

  // Field `key` of the samples `indices`, stacked: [indices.size(), shape...].
  Tensor<T, R + 1, B> stack(const std::string& key, std::span<const index_t> indices) const {
    const auto it = samples_.front().find(key);
    if (it == samples_.front().end()) {
      std::string have;
      for (const auto& k : keys()) have += (have.empty() ? "" : ", ") + k;
      throw_error<value_error>("DictDataset: no field '", key, "' (fields: ", have, ")");
    }
    Shape<R + 1> s;
    s[0] = static_cast<index_t>(indices.size());
    for (std::size_t a = 0; a < R; ++a) s[a + 1] = it->second.shape()[a];
    auto out = Tensor<T, R + 1, B>::empty(s);
    const index_t row = it->second.numel();
    for (std::size_t j = 0; j < indices.size(); ++j) {
      const Tensor<T, R, B>& t = (*this)[indices[j]].at(key);
      B::template copy<T>(out.data() + static_cast<index_t>(j) * row, t.data(), static_cast<std::size_t>(row));
    }
    return out;
  }

 private:
  std::vector<Sample> samples_;
  Sample constant_;
};

// A DictDataset seen as {x, y} batches (the Trainer's Batch) through two of its fields.
template <TensorScalar T, std::size_t R, class B = cpu>
class DictFieldsDataset {
 public:
  using batch_type = Batch<T, R + 1, R + 1, B>;
  DictFieldsDataset(DictDataset<T, R, B> ds, std::string x_key = "x", std::string y_key = "y")
      : ds_(std::move(ds)), x_(std::move(x_key)), y_(std::move(y_key)) {
    const index_t idx[1] = {0};
    (void)ds_.stack(x_, idx);  // both fields must exist: the error names the missing one
    (void)ds_.stack(y_, idx);
  }
  index_t size() const { return ds_.size(); }
  batch_type get(std::span<const index_t> indices) const { return {ds_.stack(x_, indices), ds_.stack(y_, indices)}; }
  const DictDataset<T, R, B>& dict() const { return ds_; }

 private:
  DictDataset<T, R, B> ds_;
  std::string x_, y_;
};

}  // namespace neuralop::data
