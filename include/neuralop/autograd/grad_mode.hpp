// Whether operations record the graph (per thread), and the no-grad scope that turns it off.
#pragma once

namespace neuralop {

namespace detail {
inline bool& grad_mode_flag() {
  thread_local bool enabled = true;
  return enabled;
}
inline bool& recomputing_flag() {
  thread_local bool recomputing = false;
  return recomputing;
}
}  // namespace detail

inline bool is_grad_enabled() { return detail::grad_mode_flag(); }
// True while checkpoint() runs a function again in backward (autograd/checkpoint.hpp): layers
// with side effects (BatchNorm's running statistics) skip them, the first run made them.
inline bool is_recomputing() { return detail::recomputing_flag(); }

// RAII scope: inside it nothing is recorded (evaluation, data processing, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(detail::grad_mode_flag()) { detail::grad_mode_flag() = false; }
  ~NoGradGuard() { detail::grad_mode_flag() = previous_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// RAII scope that re-enables recording inside a no-grad region.
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(detail::grad_mode_flag()) { detail::grad_mode_flag() = true; }
  ~EnableGradGuard() { detail::grad_mode_flag() = previous_; }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace neuralop
