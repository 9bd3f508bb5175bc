// Activation checkpointing (torch.utils.checkpoint): checkpoint(fn, inputs...) runs fn without
// recording and keeps only its inputs; backward runs fn again, recorded, and backpropagates
// through that graph. fn's activations are traded for one more forward of fn.
#pragma once

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "neuralop/autograd/function.hpp"
#include "neuralop/autograd/grad_mode.hpp"
#include "neuralop/autograd/var.hpp"
#include "neuralop/core/rng.hpp"

namespace neuralop {

struct CheckpointOptions {
  // Replay the random draws of the first run in the recomputation (dropout masks), from
  // default_generator() and the generators listed here.
  bool preserve_rng_state = true;
  std::vector<Generator*> generators = {};
};

namespace detail {

template <class V>
struct is_var : std::false_type {};
template <TensorScalar T, std::size_t R, class B>
struct is_var<Var<T, R, B>> : std::true_type {};

// Sets the thread's recomputation flag for a scope and puts the previous value back.
class RecomputingGuard {
 public:
  explicit RecomputingGuard(bool on) : previous_(recomputing_flag()) { recomputing_flag() = on; }
  ~RecomputingGuard() { recomputing_flag() = previous_; }
  RecomputingGuard(const RecomputingGuard&) = delete;
  RecomputingGuard& operator=(const RecomputingGuard&) = delete;

 private:
  bool previous_;
};

// The states of the generators fn may draw from, saved before its first run.
struct RngSnapshot {
  std::vector<Generator*> generators;
  std::vector<Generator::State> states;

  static RngSnapshot take(const CheckpointOptions& opt) {
    RngSnapshot s;
    if (!opt.preserve_rng_state) return s;
    s.generators.push_back(&default_generator());
    for (Generator* g : opt.generators)
      if (g && g != &default_generator()) s.generators.push_back(g);
    for (Generator* g : s.generators) s.states.push_back(g->state());
    return s;
  }
};

// For the recomputation: the saved states in, and the current ones back afterwards, so that the
// draws after the checkpointed forward do not depend on whether backward recomputed.
class RngReplay {
 public:
  explicit RngReplay(const RngSnapshot& s) : s_(s) {
    for (std::size_t k = 0; k < s_.generators.size(); ++k) {
      now_.push_back(s_.generators[k]->state());
      s_.generators[k]->set_state(s_.states[k]);
    }
  }
  ~RngReplay() {
    for (std::size_t k = 0; k < s_.generators.size(); ++k) s_.generators[k]->set_state(now_[k]);
  }
  RngReplay(const RngReplay&) = delete;
  RngReplay& operator=(const RngReplay&) = delete;

 private:
  const RngSnapshot& s_;
  std::vector<Generator::State> now_;
};

template <class T, std::size_t R, class B>
Var<T, R, B> checkpoint_leaf(const Saved<T, R, B>& s, const GradSlot<T, R, B>& slot) {
  return Var<T, R, B>(s.get("checkpoint"), slot->requires_grad);
}
template <class Saves, class Slots, std::size_t... I>
auto checkpoint_leaves(const Saves& saved, const Slots& slots, std::index_sequence<I...>) {
  return std::make_tuple(checkpoint_leaf(std::get<I>(saved), std::get<I>(slots))...);
}
template <class Leaves, class Slots, std::size_t... I>
void pass_leaf_grads(const Leaves& leaves, const Slots& slots, std::index_sequence<I...>) {
  auto pass = [](const auto& leaf, const auto& slot) {
    if (slot->requires_grad && leaf.has_grad()) slot->accumulate_grad(leaf.grad());
  };
  (pass(std::get<I>(leaves), std::get<I>(slots)), ...);
}

}  // namespace detail

// fn(inputs...) -> Var, with the memory of fn's intermediate results freed after the forward.
// In backward, fn runs again (is_recomputing() true, the random generators replayed) on
// detached copies of the saved inputs, and the incoming gradient is backpropagated through the
// new graph: into the inputs and into every parameter fn uses. The gradients are bitwise those
// of fn(inputs...) without checkpointing when the inputs have no other use recorded after this
// call (a sum of gradients is then added in the same order).
//
// fn is kept (by value) until backward: what it refers to (a module, options) must outlive the
// graph, and it must compute the same function again (same modules, same mode). Inputs must not
// be changed in place before backward (that throws, as for any saved value). The saved inputs go
// through saved-tensor hooks (activation offload) like any saved value; the recomputation in
// backward saves without hooks, since its values are used at once. Without grad mode
// fn just runs; when no input requires grad, fn runs recorded as usual (its parameters still get
// gradients, nothing is saved).
template <class F, class... In>
  requires(sizeof...(In) > 0 && (detail::is_var<In>::value && ...))
auto checkpoint(const CheckpointOptions& opt, F fn, const In&... inputs) {
  using Out = std::invoke_result_t<F&, const In&...>;
  static_assert(detail::is_var<Out>::value, "checkpoint: fn must return a Var");
  using T = typename Out::value_type;
  using B = typename Out::backend_type;
  constexpr std::size_t R = Out::rank;

  if (!is_grad_enabled() || !(inputs.requires_grad() || ...)) return Out(std::invoke(fn, inputs...));

  detail::RngSnapshot rng = detail::RngSnapshot::take(opt);
  Out first;
  {
    NoGradGuard no_grad;
    first = std::invoke(fn, inputs...);
  }
  if (!first.defined()) throw_error<value_error>("checkpoint: fn returned a null Var");
  const Shape<R> out_shape = first.shape();
  auto reverse = [fn = std::move(fn), rng = std::move(rng), out_shape,
                  saved = std::make_tuple(Saved<typename In::value_type, In::rank, typename In::backend_type>(inputs)...),
                  slots = std::make_tuple(inputs.slot_ptr()...)](const Tensor<T, R, B>& g) mutable {
    // The recomputed graph starts at detached inputs, which collect the inputs' gradients.
    auto leaves = detail::checkpoint_leaves(saved, slots, std::index_sequence_for<In...>{});
    Out out;
    {
      detail::RecomputingGuard recomputing(true);
      EnableGradGuard grad;
      SavedTensorHooksGuard no_hooks(nullptr);  // the recomputed values are used at once
      detail::RngReplay replay(rng);
      out = std::apply([&](const auto&... x) { return std::invoke(fn, x...); }, leaves);
    }
    if (!out.defined()) throw_error<value_error>("checkpoint: fn returned a null Var when recomputed");
    if (out.shape() != out_shape)
      throw_error<shape_error>("checkpoint: fn returned shape ", format_shape(out.shape()), " when recomputed, ",
                               format_shape(out_shape), " in the forward (fn must compute the same function again)");
    if (!out.requires_grad())
      throw_error<autograd_error>("checkpoint: the result of fn, ", out.slot().describe(),
                                  ", does not require grad when recomputed with grad enabled: it does not depend on "
                                  "fn's inputs or parameters (a detached or constant result)");
    out.backward(g);
    detail::pass_leaf_grads(leaves, slots, std::index_sequence_for<In...>{});
  };
  return record_op("checkpoint", first.value(), std::move(reverse), inputs...);
}

template <class F, class... In>
  requires(sizeof...(In) > 0 && (detail::is_var<In>::value && ...))
auto checkpoint(F fn, const In&... inputs) {
  return checkpoint(CheckpointOptions{}, std::move(fn), inputs...);
}

}  // namespace neuralop
