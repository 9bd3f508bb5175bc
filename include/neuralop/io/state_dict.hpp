// StateDict: a model's parameters by name (PyTorch's state_dict), read from and written to .pt,
// .safetensors and .npz files; NeuralOperator's "_metadata" entry is kept beside the tensors.
#pragma once

#include <algorithm>
#include <concepts>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "neuralop/io/npy.hpp"
#include "neuralop/io/pt.hpp"
#include "neuralop/io/safetensors.hpp"

namespace neuralop::io {

class StateDict {
 public:
  using Entry = std::pair<std::string, RawTensor>;

  StateDict() = default;
  explicit StateDict(std::string where) : where_(std::move(where)) {}

  // Adds or replaces; order is first insertion, as in an OrderedDict.
  void set(const std::string& name, RawTensor t) {
    if (auto it = index_.find(name); it != index_.end()) {
      entries_[it->second].second = std::move(t);
      return;
    }
    index_.emplace(name, entries_.size());
    entries_.emplace_back(name, std::move(t));
  }
  template <TensorScalar T, std::size_t R, class B>
  void set(const std::string& name, const Tensor<T, R, B>& t) {
    set(name, RawTensor::from_tensor(t));
  }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  std::size_t size() const { return entries_.size(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& [k, _] : entries_) n.push_back(k);
    return n;
  }
  const RawTensor& at(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end())
      throw_error<io_error>(where(), ": no entry '", name, "' (", entries_.size(), " entries",
                            entries_.empty() ? "" : ", the first is '" + entries_.front().first + "'", ")");
    return entries_[it->second].second;
  }
  // The tensor `name` as Tensor<T, R>: rank must match; dtype exactly unless convert.
  template <TensorScalar T, std::size_t R>
  Tensor<T, R> get(const std::string& name, bool convert = false) const {
    return at(name).template to_tensor<T, R>(convert, where() + "['" + name + "']");
  }

  // NeuralOperator's "_metadata" (constructor arguments; may hold opaque Python objects), or None.
  Value metadata;

  std::string where() const { return where_.empty() ? std::string("state_dict") : where_; }

 private:
  std::string where_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

// A dict (or OrderedDict) of str -> tensor, as torch.save(model.state_dict()) holds; the
// "_metadata" entry goes to metadata; any other non-tensor entry is an error naming it.
inline StateDict state_dict_from_value(const Value& v) {
  StateDict sd(v.where());
  if (!v.is_dict()) v.fail("expected a state_dict (a dict of name -> tensor), found ", v.describe());
  for (const auto& [k, x] : v.items()) {
    if (k.kind() != Value::Kind::string) x.fail("state_dict keys must be str, found ", k.describe());
    const std::string name = k.as<std::string>();
    if (name == "_metadata") {
      sd.metadata = x;
      continue;
    }
    if (!x.is_tensor()) x.fail("expected a tensor, found ", x.describe());
    sd.set(name, x.tensor());
  }
  return sd;
}
// An OrderedDict of the tensors (and "_metadata" when it is set and saveable).
inline Value to_value(const StateDict& sd, bool with_metadata = true) {
  Value v = Value::ordered_dict();
  for (const auto& [k, t] : sd) v.append_item(k, t);  // names are unique already
  if (with_metadata && !sd.metadata.is_none()) v.set("_metadata", sd.metadata);
  return v;
}

namespace detail {
inline bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace detail

// Reads a state_dict from a .pt (torch.save), .safetensors or .npz file, told apart by content.
inline StateDict load_state_dict(const std::string& path) {
  const Bytes b = read_file(path);
  const std::string_view head = b.view().substr(0, 4);
  if (head == std::string_view("PK\x03\x04", 4)) {
    const ZipReader zip(b, path);
    const bool torch = std::any_of(zip.entries().begin(), zip.entries().end(),
                                   [](const ZipEntry& e) { return detail::ends_with(e.name, "/data.pkl"); });
    return state_dict_from_value(torch ? load_pt(b, path) : load_npz(b, path));
  }
  if (detail::ends_with(path, ".safetensors")) return state_dict_from_value(load_safetensors(b, path));
  return state_dict_from_value(load_pt(b, path));  // its error says what the file is not
}

// Writes by the file's extension: .safetensors, .npz, anything else torch.save's format.
// Metadata holding opaque Python objects cannot be written and is left out of .pt files then.
inline void save_state_dict(const std::string& path, const StateDict& sd) {
  if (detail::ends_with(path, ".safetensors")) return save_safetensors(path, to_value(sd, false));
  if (detail::ends_with(path, ".npz")) return save_npz(path, to_value(sd, false));
  bool metadata_ok = true;
  std::vector<Value> todo{sd.metadata};
  while (!todo.empty() && metadata_ok) {
    const Value v = std::move(todo.back());
    todo.pop_back();
    if (v.is_opaque() || v.kind() == Value::Kind::bytes) metadata_ok = false;
    else if (v.is_dict())
      for (const auto& [k, c] : v.items()) todo.push_back(c);
    else if (v.is_list() || v.is_tuple())
      for (const auto& c : v.elements()) todo.push_back(c);
  }
  save_pt(path, to_value(sd, metadata_ok));
}

// Module-level helpers, for types with state_dict() / load_state_dict(const StateDict&).
template <class M>
  requires requires(M& m, const StateDict& sd) { m.load_state_dict(sd); }
void load_state_dict(M& module, const std::string& path) {
  module.load_state_dict(load_state_dict(path));
}
template <class M>
  requires requires(const M& m) {
    { m.state_dict() } -> std::convertible_to<StateDict>;
  }
void save_state_dict(const M& module, const std::string& path) {
  save_state_dict(path, module.state_dict());
}

}  // namespace neuralop::io
