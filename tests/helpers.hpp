// Small shared helpers for the tests: element-wise comparisons with tolerances and messages.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "neuralop/base.hpp"

namespace test {

template <class T>
double abs_diff(const T& a, const T& b) {
  return static_cast<double>(std::abs(a - b));
}

// Max |a - b| over two equally long sequences.
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, abs_diff(a[i], b[i]));
  return m;
}

// Max relative error |a - b| / max(|b|, floor).
template <class A, class B>
double max_rel_diff(const A& a, const B& b, double floor = 1e-30) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, abs_diff(a[i], b[i]) / std::max(static_cast<double>(std::abs(b[i])), floor));
  return m;
}

// Runs f under each thread count and restores the previous count.
template <class F>
void with_threads(int n, F&& f) {
  const int prev = neuralop::cpu::num_threads();
  neuralop::cpu::set_num_threads(n);
  try {
    f();
  } catch (...) {
    neuralop::cpu::set_num_threads(prev);
    throw;
  }
  neuralop::cpu::set_num_threads(prev);
}

// The message of the neuralop::error subclass E thrown by f ("" and a failed check otherwise).
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    static_assert(std::is_base_of_v<neuralop::error, E>);
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("unexpected exception type: " << e.what());
    return "";
  }
  FAIL_CHECK("no exception thrown");
  return "";
}

// Relative L2 distance ||a - b|| / ||b|| of two equally long sequences (real or complex).
template <class A, class B>
double rel_l2(const std::vector<A>& a, const std::vector<B>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += std::norm(std::complex<double>(a[i]) - std::complex<double>(b[i]));
    den += std::norm(std::complex<double>(b[i]));
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace test

// gradcheck(f, inputs...) must pass; on failure the report of the first mismatches is shown.
#define GRADCHECK(...)                                  \
  do {                                                  \
    const auto res_ = ::neuralop::gradcheck(__VA_ARGS__); \
    INFO(res_.report);                                  \
    CHECK(res_.ok);                                     \
  } while (0)
