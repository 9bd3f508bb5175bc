// Module and Parameter: layers own their parameters (Vars that require grad) and register them,
// and their sub-layers, under NeuralOperator's names, so that named_parameters() / state_dict()
// keys equal PyTorch's `model.state_dict()` keys and load_state_dict reads a .pt file directly.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/autograd/var.hpp"
#include "neuralop/io/state_dict.hpp"

namespace neuralop::nn {

// The type-erased face of a parameter: what state_dicts, optimizers and counters need.
class ParameterBase {
 public:
  virtual ~ParameterBase() = default;
  virtual io::DType dtype() const = 0;
  virtual std::vector<index_t> shape() const = 0;
  virtual index_t numel() const = 0;
  virtual io::RawTensor to_raw() const = 0;
  // Copies t in (shape must match exactly; a real dtype converts to the parameter's, as
  // torch's copy_ does); `name` is the full state_dict key, for messages.
  virtual void load(const io::RawTensor& t, const std::string& name) = 0;
  virtual void zero_grad() = 0;
  // The accumulated gradient (a copy), or nullopt before any backward reached the parameter.
  virtual std::optional<io::RawTensor> grad_raw() const = 0;

  // Values and gradients as flat host bytes in the parameter's dtype (row-major; a complex
  // element is its real then imaginary part), whatever the backend: what data-parallel training
  // moves between processes. host_nbytes() bytes each; grad_to_host needs has_grad().
  virtual bool has_grad() const { return false; }
  virtual std::size_t host_nbytes() const = 0;
  virtual void value_to_host(void* dst) const = 0;
  virtual void value_from_host(const void* src) = 0;
  virtual void grad_to_host(void* /*dst*/) const {
    throw_error<value_error>("grad_to_host: this state entry has no gradient");
  }
  // Replaces the gradient (a new tensor: the old one may be shared by a graph).
  virtual void grad_from_host(const void* /*src*/) {
    throw_error<value_error>("grad_from_host: this state entry has no gradient");
  }
  // The autograd leaf whose gradient this entry holds (for add_grad_ready_hook), or null.
  virtual VarImplBase* autograd_leaf() const { return nullptr; }

  // The same bytes in the memory of the entry's backend (backend_name(): B::name), without a
  // trip through the host: device memory for cuda (copies queued on the backend's stream, so
  // `dst`/`src` must stay valid until that stream reaches them), host memory for cpu (the host
  // copies above). What NCCL data-parallel training moves. The defaults suit an entry held in
  // host memory.
  virtual const char* backend_name() const { return "cpu"; }
  virtual void value_to_backend(void* dst) const { value_to_host(dst); }
  virtual void value_from_backend(const void* src) { value_from_host(src); }
  virtual void grad_to_backend(void* dst) const { grad_to_host(dst); }
  // Replaces the gradient, as grad_from_host.
  virtual void grad_from_backend(const void* src) { grad_from_host(src); }
};

template <TensorScalar T, std::size_t R, class B = cpu>
class Parameter final : public ParameterBase {
 public:
  Parameter() = default;
  explicit Parameter(Tensor<T, R, B> value) : var(std::move(value), true) {}

  Var<T, R, B> var;

  io::DType dtype() const override { return io::dtype_of<T>; }
  std::vector<index_t> shape() const override { return {var.shape().begin(), var.shape().end()}; }
  index_t numel() const override { return var.value().numel(); }
  io::RawTensor to_raw() const override { return io::RawTensor::from_tensor(var.value()); }
  void load(const io::RawTensor& t, const std::string& name) override {
    if (t.shape != shape())
      throw_error<shape_error>("load_state_dict: '", name, "' has shape ", format_shape(t.shape), " in the file, the model's is ",
                               format_shape(shape()));
    const bool convert = !io::is_complex_dtype(t.dtype) && !is_complex_v<T>;
    auto v = t.template to_tensor<T, R>(convert, "load_state_dict: '" + name + "'").template to<B>();
    NoGradGuard ng;
    var.mutable_value().assign(v);
  }
  void zero_grad() override { var.zero_grad(); }
  std::optional<io::RawTensor> grad_raw() const override {
    if (!var.has_grad()) return std::nullopt;
    return io::RawTensor::from_tensor(var.grad());
  }
  bool has_grad() const override { return var.has_grad(); }
  std::size_t host_nbytes() const override { return static_cast<std::size_t>(numel()) * sizeof(T); }
  void value_to_host(void* dst) const override {
    B::template copy_to_host<T>(static_cast<T*>(dst), var.value().data(), static_cast<std::size_t>(numel()));
  }
  void value_from_host(const void* src) override {
    B::template copy_from_host<T>(var.mutable_value().data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
  }
  void grad_to_host(void* dst) const override {
    const auto& g = var.grad();
    B::template copy_to_host<T>(static_cast<T*>(dst), g.data(), static_cast<std::size_t>(numel()));
  }
  void grad_from_host(const void* src) override {
    auto g = Tensor<T, R, B>::empty(var.shape());
    B::template copy_from_host<T>(g.data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
    var.slot().grad = std::move(g);
  }
  VarImplBase* autograd_leaf() const override { return &var.slot(); }
  const char* backend_name() const override { return B::name; }
  void value_to_backend(void* dst) const override {
    B::template copy<T>(static_cast<T*>(dst), var.value().data(), static_cast<std::size_t>(numel()));
  }
  void value_from_backend(const void* src) override {
    B::template copy<T>(var.mutable_value().data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
  }
  void grad_to_backend(void* dst) const override {
    B::template copy<T>(static_cast<T*>(dst), var.grad().data(), static_cast<std::size_t>(numel()));
  }
  void grad_from_backend(const void* src) override {
    auto g = Tensor<T, R, B>::empty(var.shape());
    B::template copy<T>(g.data(), static_cast<const T*>(src), static_cast<std::size_t>(numel()));
    var.slot().grad = std::move(g);
  }
  // The Var, as expressions use it: y = x * p.
  operator const Var<T, R, B>&() const { return var; }  // NOLINT(google-explicit-constructor)
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Registration stores addresses of members: a module stays where it was built.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // (state_dict key, parameter) in PyTorch's order: own parameters, then sub-modules'.
  std::vector<std::pair<std::string, ParameterBase*>> named_parameters(const std::string& prefix = "") const {
    std::vector<std::pair<std::string, ParameterBase*>> out;
    collect(prefix, out);
    return out;
  }
  std::vector<ParameterBase*> parameters() const {
    std::vector<ParameterBase*> out;
    for (auto& [n, p] : named_parameters()) out.push_back(p);
    return out;
  }
  // The number of scalar parameters (a complex one counts once, as torch's numel).
  index_t n_parameters() const {
    index_t n = 0;
    for (auto* p : parameters()) n += p->numel();
    return n;
  }
  // NeuralOperator's count_model_params: a complex parameter entry counts twice (real and
  // imaginary part), the number its examples print (191,881 for plot_FNO_darcy's FNO).
  index_t count_model_params() const {
    index_t n = 0;
    for (auto* p : parameters()) n += p->numel() * (io::is_complex_dtype(p->dtype()) ? 2 : 1);
    return n;
  }
  void zero_grad() {
    for (auto* p : parameters()) p->zero_grad();
  }

  virtual void train(bool on = true) {
    training_ = on;
    for (auto& [n, m] : children_) m->train(on);
  }
  void eval() { train(false); }
  bool training() const { return training_; }

  // This module's state_dict prefix ("fno_blocks.convs.0"); "" for the top module.
  std::string path() const {
    if (!parent_) return "";
    const std::string p = parent_->path();
    return p.empty() ? name_ : p + "." + name_;
  }
  // "SpectralConv 'fno_blocks.convs.0'" (or just the type for a top module), for messages.
  std::string where(const char* type) const {
    const std::string p = path();
    return p.empty() ? std::string(type) : std::string(type) + " '" + p + "'";
  }

  // Buffers (BatchNorm's running statistics): state that is saved and loaded but not trained.
  std::vector<std::pair<std::string, ParameterBase*>> named_buffers(const std::string& prefix = "") const {
    std::vector<std::pair<std::string, ParameterBase*>> out;
    collect_state(prefix, out, false);
    return out;
  }

  // Parameters and buffers in torch's state_dict order: per module its parameters, then its
  // buffers, then its sub-modules'.
  io::StateDict state_dict() const {
    io::StateDict sd;
    for (auto& [n, p] : named_state()) sd.set(n, p->to_raw());
    return sd;
  }
  // Every parameter and buffer must be in sd with its exact shape; with strict, sd must hold
  // nothing else (NeuralOperator's "_metadata" aside). Errors name the keys and shapes.
  void load_state_dict(const io::StateDict& sd, bool strict = true) {
    const auto params = named_state();
    std::vector<std::string> missing, unexpected;
    for (auto& [n, p] : params)
      if (!sd.contains(n)) missing.push_back(n);
    if (strict)
      for (const auto& [n, t] : sd) {
        bool known = false;
        for (auto& [pn, p] : params) known = known || pn == n;
        if (!known) unexpected.push_back(n);
      }
    if (!missing.empty() || !unexpected.empty())
      throw_error<value_error>("load_state_dict from ", sd.where(), ": ", list("missing keys", missing),
                               !missing.empty() && !unexpected.empty() ? "; " : "", list("unexpected keys", unexpected));
    for (auto& [n, p] : params) p->load(sd.at(n), n);
  }

 protected:
  void register_parameter(std::string name, ParameterBase& p) { params_.emplace_back(std::move(name), &p); }
  void register_buffer(std::string name, ParameterBase& b) { buffers_.emplace_back(std::move(name), &b); }
  void register_module(std::string name, Module& m) {
    m.parent_ = this;
    m.name_ = name;
    children_.emplace_back(std::move(name), &m);
  }

 private:
  std::vector<std::pair<std::string, ParameterBase*>> params_, buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
  const Module* parent_ = nullptr;
  std::string name_;

  void collect(const std::string& prefix, std::vector<std::pair<std::string, ParameterBase*>>& out) const {
    for (auto& [n, p] : params_) out.emplace_back(prefix + n, p);
    for (auto& [n, m] : children_) m->collect(prefix + n + ".", out);
  }
  std::vector<std::pair<std::string, ParameterBase*>> named_state() const {
    std::vector<std::pair<std::string, ParameterBase*>> out;
    collect_state("", out, true);
    return out;
  }
  void collect_state(const std::string& prefix, std::vector<std::pair<std::string, ParameterBase*>>& out, bool params) const {
    if (params)
      for (auto& [n, p] : params_) out.emplace_back(prefix + n, p);
    for (auto& [n, b] : buffers_) out.emplace_back(prefix + n, b);
    for (auto& [n, m] : children_) m->collect_state(prefix + n + ".", out, params);
  }
  static std::string list(const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return "";
    std::string s = std::string(what) + " (" + std::to_string(keys.size()) + "): ";
    for (std::size_t i = 0; i < keys.size() && i < 8; ++i) s += (i ? ", '" : "'") + keys[i] + "'";
    if (keys.size() > 8) s += ", ...";
    return s;
  }
};

}  // namespace neuralop::nn
