// Recording explicit (non-elementwise) ops: record_op wraps a forward result and a reverse
// rule (a callable receiving dL/d(result)) into a graph node when any input requires grad.
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "neuralop/autograd/grad_mode.hpp"
#include "neuralop/autograd/node.hpp"
#include "neuralop/autograd/saved.hpp"
#include "neuralop/autograd/var.hpp"

namespace neuralop {

namespace detail {

template <class T, std::size_t R, class B, class F>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, F f) : name_(name), f_(std::move(f)) {}
  const char* name() const override { return name_; }
  void backward(VarImplBase& out) override { (*f_)(static_cast<VarImpl<T, R, B>&>(out).pass_grad); }
  void release() override {
    f_.reset();
    released = true;
  }

 private:
  const char* name_;
  std::optional<F> f_;  // its captures are the saved values
};

inline void collect_inputs(std::vector<std::shared_ptr<VarImplBase>>&) {}
template <class V, class... Rest>
void collect_inputs(std::vector<std::shared_ptr<VarImplBase>>& out, const V& v, const Rest&... rest) {
  if constexpr (requires { v.slot_ptr(); }) {
    if (v.requires_grad()) out.push_back(v.slot_ptr());
  } else {  // a range of Vars
    for (const auto& x : v)
      if (x.requires_grad()) out.push_back(x.slot_ptr());
  }
  collect_inputs(out, rest...);
}

}  // namespace detail

// Var result of an op named `name` with value `value`; `reverse(grad_out)` accumulates into
// the inputs' slots (see accumulate_grad). Inputs are Vars or ranges of Vars. The reverse rule
// should capture slots (Var::slot_ptr), sizes, and the tensors it reads as Saved values, never
// Vars or plain tensors: a captured Var keeps its value alive for as long as the graph lives,
// and only a Saved value is checked for in-place changes and goes through saved-tensor hooks
// (activation offload).
template <class T, std::size_t R, class B, class F, class... In>
Var<T, R, B> record_op(const char* name, Tensor<T, R, B> value, F&& reverse, const In&... inputs) {
  Var<T, R, B> out(std::move(value));
  if (!is_grad_enabled()) return out;
  std::vector<std::shared_ptr<VarImplBase>> ins;
  detail::collect_inputs(ins, inputs...);
  if (ins.empty()) return out;
  auto node = std::make_shared<detail::FunctionNode<T, R, B, std::decay_t<F>>>(name, std::forward<F>(reverse));
  node->inputs = std::move(ins);
  out.slot().grad_fn = std::move(node);
  out.slot().requires_grad = true;
  return out;
}

// Add g to the gradient of the Var owning `slot`, if it takes part in differentiation.
template <class T, std::size_t R, class B>
void accumulate_grad(const GradSlot<T, R, B>& slot, const Tensor<T, R, B>& g) {
  if (slot->requires_grad) slot->accumulate_grad(g);
}

}  // namespace neuralop
