// backward(): walk the graph from a result in reverse creation order (the tape), call each
// node's reverse rule once all its consumers have contributed, and free what is done.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "neuralop/autograd/grad_mode.hpp"
#include "neuralop/autograd/node.hpp"

namespace neuralop {

// Runs `hook` during every later backward pass that reaches `leaf` (a Var without grad_fn,
// e.g. a Parameter's), right after the last node of that pass that adds to the leaf's gradient:
// from then on the pass leaves the gradient alone, so it may be read (data-parallel training
// starts reducing it while the rest of backward runs). Not called from a pass that does not
// reach the leaf, and never from a pass that contains a checkpoint (its recomputation adds to
// parameters from inside the node; their last contribution is not known in advance), nor
// from the backward run inside such a recomputation. Returns an id for remove_grad_ready_hook.
inline std::uint64_t add_grad_ready_hook(VarImplBase& leaf, std::function<void()> hook) {
  static std::atomic<std::uint64_t> next{1};
  const std::uint64_t id = next.fetch_add(1, std::memory_order_relaxed);
  leaf.grad_ready_hooks.emplace_back(id, std::move(hook));
  return id;
}
inline void remove_grad_ready_hook(VarImplBase& leaf, std::uint64_t id) {
  std::erase_if(leaf.grad_ready_hooks, [id](const auto& h) { return h.first == id; });
}

namespace detail {

inline int& backward_depth() {
  thread_local int depth = 0;
  return depth;
}

inline void run_backward(const std::shared_ptr<VarImplBase>& root, bool retain_graph) {
  // Collect every result reachable from root; refuse up front if part of the graph is gone.
  std::vector<VarImplBase*> order;
  std::unordered_set<VarImplBase*> seen;
  std::vector<VarImplBase*> stack{root.get()};
  seen.insert(root.get());
  while (!stack.empty()) {
    VarImplBase* v = stack.back();
    stack.pop_back();
    if (!v->grad_fn) continue;
    if (v->grad_fn->released)
      throw_error<autograd_error>("backward: the graph through ", v->describe(), " (op '", v->grad_fn->name(),
                                  "') was already used by a backward and freed; pass "
                                  "BackwardOptions{.retain_graph = true} to the first backward to run it again");
    order.push_back(v);
    for (const auto& in : v->grad_fn->inputs)
      if (seen.insert(in.get()).second) stack.push_back(in.get());
  }
  // Reverse creation order: every consumer of a value runs before the value's own node.
  std::sort(order.begin(), order.end(), [](const VarImplBase* a, const VarImplBase* b) { return a->seq > b->seq; });
  // Leaves with grad-ready hooks, by the position of the last node that takes them as input.
  // Only in an outermost pass without checkpoints (see add_grad_ready_hook).
  std::vector<std::vector<VarImplBase*>> ready_after;
  const bool outermost = backward_depth() == 0;
  bool nested = false;
  for (VarImplBase* v : order) nested = nested || std::string_view(v->grad_fn->name()) == "checkpoint";
  if (outermost && !nested) {
    std::unordered_map<VarImplBase*, std::size_t> last;
    for (std::size_t i = 0; i < order.size(); ++i)
      for (const auto& in : order[i]->grad_fn->inputs)
        if (!in->grad_fn && !in->grad_ready_hooks.empty()) last[in.get()] = i;
    if (!last.empty()) {
      ready_after.resize(order.size());
      for (const auto& [leaf, i] : last) ready_after[i].push_back(leaf);
      // The same order on every process that runs the same graph (the map's order is not).
      for (auto& leaves : ready_after)
        std::sort(leaves.begin(), leaves.end(), [](const VarImplBase* a, const VarImplBase* b) { return a->seq < b->seq; });
    }
  }
  struct Depth {
    Depth() { ++backward_depth(); }
    ~Depth() { --backward_depth(); }
  } depth;
  NoGradGuard no_grad;  // reverse rules compute with plain tensors; never record
  for (std::size_t i = 0; i < order.size(); ++i) {
    VarImplBase* v = order[i];
    if (v->has_pass_grad()) {  // otherwise no gradient reached this branch
      v->grad_fn->backward(*v);
      if (!retain_graph) v->grad_fn->release();
      v->finish_pass();
    }
    if (!ready_after.empty())
      for (VarImplBase* leaf : ready_after[i])
        for (const auto& h : leaf->grad_ready_hooks) h.second();
  }
}

}  // namespace detail
}  // namespace neuralop
