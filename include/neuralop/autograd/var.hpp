// Var<T, Rank, Backend>: a tensor that may carry a gradient. Elementwise expressions of Vars
// materialise in one fused pass and record one graph node with a fused backward.
#pragma once

#include <memory>
#include <type_traits>

#include "neuralop/autograd/grad_mode.hpp"
#include "neuralop/autograd/node.hpp"
#include "neuralop/tensor/expr.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

template <TensorScalar T, std::size_t R, class B = cpu>
class Var;

struct BackwardOptions {
  bool retain_graph = false;  // keep saved values so that backward can run through the graph again
};

namespace detail {
void run_backward(const std::shared_ptr<VarImplBase>& root, bool retain_graph);
template <class X, std::size_t R>
void record_elementwise(const std::shared_ptr<VarImplBase>& out, const X& x, const Shape<R>& shape);
}  // namespace detail

template <TensorScalar T, std::size_t R, class B>
class Var {
 public:
  using value_type = T;
  using backend_type = B;
  using tensor_type = Tensor<T, R, B>;
  static constexpr std::size_t rank = R;

  Var() = default;
  // A leaf holding `value`; with requires_grad it receives gradients in backward().
  Var(tensor_type value, bool requires_grad = false)  // NOLINT(google-explicit-constructor)
      : d_(std::make_shared<Data>()) {
    if (!value.defined()) throw_error<value_error>("Var: constructed from a null tensor");
    d_->slot = std::make_shared<VarImpl<T, R, B>>(value.shape());
    d_->value = std::move(value);
    d_->slot->requires_grad = requires_grad;
  }

  // Materialise an elementwise expression of Vars (and tensors, scalars) in one pass and record
  // one node whose backward is one fused pass too.
  template <Expression E>
    requires(expr_t<E>::has_var && !std::is_same_v<std::remove_cvref_t<E>, Var>)
  Var(const E& e) {  // NOLINT(google-explicit-constructor)
    using X = expr_t<E>;
    static_assert(std::is_same_v<typename X::value_type, T>, "neuralop: expression dtype differs from the Var's");
    static_assert(X::rank == R, "neuralop: expression rank differs from the Var's");
    static_assert(std::is_same_v<typename X::backend, B>, "neuralop: expression backend differs from the Var's");
    const X x = to_expr(e);
    *this = Var(detail::materialize(x, "Var"));
    if (is_grad_enabled()) detail::record_elementwise(d_->slot, x, shape());
  }
  template <Expression E>
    requires(expr_t<E>::has_var && !std::is_same_v<std::remove_cvref_t<E>, Var>)
  Var& operator=(const E& e) {
    return *this = Var(e);
  }

  bool defined() const { return d_ != nullptr; }
  const tensor_type& value() const { return data().value; }
  // The value for in-place updates (optimizers, initialisation) under NoGradGuard. Changing it
  // while a recorded graph still needs it makes that graph's backward throw.
  tensor_type& mutable_value() { return data().value; }
  const Shape<R>& shape() const { return value().shape(); }
  index_t size(int axis) const { return value().size(axis); }
  index_t numel() const { return value().numel(); }

  bool requires_grad() const { return slot().requires_grad; }
  Var& set_requires_grad(bool on) {
    if (slot().grad_fn && !on)
      throw_error<autograd_error>("set_requires_grad(false): ", slot().describe(),
                                  " is the result of an operation; use detach()");
    slot().requires_grad = on;
    return *this;
  }
  bool is_leaf() const { return slot().grad_fn == nullptr; }
  const char* grad_fn_name() const { return slot().grad_fn ? slot().grad_fn->name() : ""; }

  bool has_grad() const { return slot().has_grad(); }
  const tensor_type& grad() const {
    if (!slot().has_grad())
      throw_error<autograd_error>("grad(): ", slot().describe(), " has no gradient (",
                                  slot().requires_grad ? "call backward() first, or retain_grad() for non-leaves"
                                                       : "requires_grad is false",
                                  ")");
    return slot().grad;
  }
  void zero_grad() { slot().clear_grad(); }
  // Keep this non-leaf's gradient after backward (leaves always keep theirs).
  Var& retain_grad() {
    slot().retain_grad = true;
    return *this;
  }
  // The same value, cut from the graph.
  Var detach() const { return Var(value(), false); }

  // Backpropagate from a single-element result (seed 1).
  void backward(BackwardOptions opt = {}) const {
    if (numel() != 1)
      throw_error<autograd_error>("backward: ", slot().describe(), " has ", numel(),
                                  " elements; backward() without a seed needs a single-element result "
                                  "(pass a gradient seed of shape ", format_shape(shape()), ")");
    backward(tensor_type::ones(shape()), opt);
  }
  // Backpropagate with an explicit seed dL/d(this), shaped like this.
  void backward(const tensor_type& seed, BackwardOptions opt = {}) const {
    if (is_recomputing())
      throw_error<autograd_error>("backward: called while checkpoint() recomputes a function (a checkpointed "
                                  "function must not call backward itself)");
    if (!slot().requires_grad)
      throw_error<autograd_error>("backward: ", slot().describe(),
                                  " does not require grad (no input of its graph has requires_grad = true)");
    if (!seed.defined() || seed.shape() != shape())
      throw_error<shape_error>("backward: seed of shape ", seed.defined() ? format_shape(seed.shape()) : "null",
                               " for ", slot().describe());
    // Adopted, not copied: gradients are never accumulated in place into a buffer that
    // someone else (here the caller) still holds.
    slot().accumulate_grad(seed);
    detail::run_backward(d_->slot, opt.retain_graph);
  }

  // The gradient slot: what graph nodes hold of their inputs (not the value).
  const GradSlot<T, R, B>& slot_ptr() const { return data().slot; }
  VarImpl<T, R, B>& slot() const { return *data().slot; }

 private:
  struct Data {
    tensor_type value;
    GradSlot<T, R, B> slot;
  };
  Data& data() const {
    if (!d_) throw_error<value_error>("Var: use of a null (default-constructed) Var");
    return *d_;
  }
  std::shared_ptr<Data> d_;
};

// Leaf of an expression that reads a Var (and may receive its gradient). Holding the leaf
// keeps the value alive: the fused backward recomputes from it.
template <class T, std::size_t R, class B>
struct VarLeaf {
  using value_type = T;
  using backend = B;
  static constexpr std::size_t rank = R;
  static constexpr bool has_var = true;
  template <std::size_t N>
  using kernel_type = kexpr::Leaf<T, N>;

  GradSlot<T, R, B> slot;
  TensorLeaf<T, R, B> leaf;

  template <std::size_t N>
  void broadcast_shape(Shape<N>& out, bool& first, const char* op) const {
    leaf.broadcast_shape(out, first, op);
  }
  template <std::size_t N>
  kernel_type<N> kernel(const Shape<N>& out) const {
    return leaf.kernel(out);
  }
  template <class F>
  void visit_leaves(F&& f) const {
    f(*this);
  }
  const TensorLeaf<T, R, B>& tensor_leaf() const { return leaf; }
};

template <TensorScalar T, std::size_t R, class B>
struct expr_traits<Var<T, R, B>> {
  static constexpr bool value = true;
  static VarLeaf<T, R, B> make(const Var<T, R, B>& v) {
    const auto& t = v.value();
    return {v.slot_ptr(), TensorLeaf<T, R, B>{t.storage(), t.data(), t.shape(), t.strides()}};
  }
};
template <class T, std::size_t R, class B>
struct expr_traits<VarLeaf<T, R, B>> {
  static constexpr bool value = true;
  static VarLeaf<T, R, B> make(const VarLeaf<T, R, B>& l) { return l; }
};

// eval(expr) of an expression with Vars gives a Var.
template <Expression E>
  requires(expr_t<E>::has_var)
auto eval(const E& e) {
  using X = expr_t<E>;
  return Var<typename X::value_type, X::rank, typename X::backend>(e);
}

}  // namespace neuralop
