// The graph: every recorded result has a gradient slot (VarImpl) holding the Node that made
// it; nodes hold the slots of their inputs, never their values (values a reverse rule needs
// are saved explicitly). The "tape" is this graph read in reverse creation order, so
// dropping a result frees its history and an unused branch costs nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/core/shape.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

struct VarImplBase;

class Node {
 public:
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // Read the gradient of `out` (the result this node produced) and accumulate into inputs.
  virtual void backward(VarImplBase& out) = 0;
  // Drop saved values after a backward without retain_graph.
  virtual void release() = 0;

  std::vector<std::shared_ptr<VarImplBase>> inputs;  // slots of the inputs that require grad
  bool released = false;
};

namespace detail {
inline std::uint64_t next_sequence() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

// The differentiation state of one Var (shared by its copies): gradient, producing node.
struct VarImplBase {
  virtual ~VarImplBase() = default;
  virtual bool has_grad() const = 0;
  virtual void clear_grad() = 0;
  virtual std::string describe() const = 0;
  // The gradient flowing through the current backward pass (results of ops only).
  virtual bool has_pass_grad() const = 0;
  // End of this result's part of the pass: keep the flowing gradient if retain_grad, drop it.
  virtual void finish_pass() = 0;

  std::shared_ptr<Node> grad_fn;  // null for leaves
  std::uint64_t seq = detail::next_sequence();
  bool requires_grad = false;
  bool retain_grad = false;
  // Leaves only: called once per backward pass, right after the last node of that pass that
  // can add to this leaf's gradient has run (see add_grad_ready_hook).
  std::vector<std::pair<std::uint64_t, std::function<void()>>> grad_ready_hooks;
};

template <class T, std::size_t R, class B>
struct VarImpl final : VarImplBase {
  explicit VarImpl(const Shape<R>& s) : shape(s) {}

  Shape<R> shape;
  Tensor<T, R, B> grad;       // accumulated across backward calls (leaves; retain_grad results)
  Tensor<T, R, B> pass_grad;  // results of ops: dL/d(this) within one backward pass

  bool has_grad() const override { return grad.defined(); }
  void clear_grad() override { grad = Tensor<T, R, B>(); }
  bool has_pass_grad() const override { return pass_grad.defined(); }
  void finish_pass() override {
    if (retain_grad && pass_grad.defined()) add_into(grad, pass_grad);
    pass_grad = Tensor<T, R, B>();
  }
  // Where contributions go now: a leaf's gradient, or the pass gradient of an op's result.
  Tensor<T, R, B>& target() { return grad_fn ? pass_grad : grad; }
  std::string describe() const override {
    return detail::cat("Var(", dtype_name<T>(), ", shape ", format_shape(shape), ")");
  }

  // grad += g. The first gradient is adopted without a copy; later ones add in place only
  // when nobody else holds the gradient tensor (it may be shared with another input or user).
  void accumulate_grad(const Tensor<T, R, B>& g) {
    if (!g.defined() || g.shape() != shape)
      throw_error<shape_error>("backward: gradient of shape ", g.defined() ? format_shape(g.shape()) : "null",
                               " for ", describe());
    add_into(target(), g);
  }

 private:
  static void add_into(Tensor<T, R, B>& acc, const Tensor<T, R, B>& g) {
    if (!acc.defined()) acc = g;
    else if (acc.storage().use_count() == 1) acc += g;
    else acc = acc + g;
  }
};

template <class T, std::size_t R, class B>
using GradSlot = std::shared_ptr<VarImpl<T, R, B>>;

}  // namespace neuralop
