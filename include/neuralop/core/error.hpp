// The exception hierarchy: every user-facing failure is a neuralop::error subclass whose
// message names the operation and shows the offending shapes or values.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace neuralop {

struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Shapes or ranks that do not fit the operation (mismatch, broadcasting, bad axis).
struct shape_error : error {
  using error::error;
};
// Values outside an operation's domain (negative sizes, bad options, NaN seeds...).
struct value_error : error {
  using error::error;
};
// Reading or writing files.
struct io_error : error {
  using error::error;
};
// Misuse of the autodiff graph (backward twice, non-scalar without seed, stale inputs).
struct autograd_error : error {
  using error::error;
};
// A backend that is declared but not available in this build or on this machine.
struct backend_error : error {
  using error::error;
};

namespace detail {

template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

}  // namespace detail

// throw_error<shape_error>("op: ", ...): builds the message from streamable pieces.
template <class E, class... Args>
[[noreturn]] void throw_error(Args&&... args) {
  throw E(detail::cat(std::forward<Args>(args)...));
}

}  // namespace neuralop
