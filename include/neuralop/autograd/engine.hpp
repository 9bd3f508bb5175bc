// backward(): walk the graph from a result in reverse creation order (the tape), call each
// node's reverse rule once all its consumers have contributed, and free what is done.
#pragma once

#include <algorithm>
#include <memory>
#include <unordered_set>
#include <vector>

#include "neuralop/autograd/grad_mode.hpp"
#include "neuralop/autograd/node.hpp"

namespace neuralop::detail {

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
  NoGradGuard no_grad;  // reverse rules compute with plain tensors; never record
  for (VarImplBase* v : order) {
    if (!v->has_pass_grad()) continue;  // no gradient reached this branch
    v->grad_fn->backward(*v);
    if (!retain_graph) v->grad_fn->release();
    v->finish_pass();
  }
}

}  // namespace neuralop::detail
