// gradcheck: compare reverse-mode gradients with central finite differences in double
// precision. Outputs of any shape are projected on a fixed random direction r (L = Re sum
// conj(r) * out), so one backward checks the full vector-Jacobian product. Complex inputs are
// perturbed in their real and imaginary parts: the expected gradient is dL/dRe + i dL/dIm.
#pragma once

#include <cmath>
#include <complex>
#include <sstream>
#include <string>
#include <tuple>

#include "neuralop/autograd/autograd.hpp"

namespace neuralop {

struct GradcheckOptions {
  double eps = 1e-6;    // finite-difference step
  double atol = 1e-6;   // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-4;
  std::uint64_t seed = 1234;  // of the projection direction
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string report;  // the first mismatches, one per line
  explicit operator bool() const { return ok; }
};

namespace detail {

// Re sum conj(r) * out, accumulated on the host in double.
template <class T, std::size_t R, class B>
double projected(const Tensor<T, R, B>& out, const Tensor<T, R, B>& r) {
  const auto o = out.to_vector(), w = r.to_vector();
  double acc = 0;
  for (std::size_t i = 0; i < o.size(); ++i) {
    if constexpr (is_complex_v<T>) acc += (std::conj(w[i]) * o[i]).real();
    else acc += w[i] * o[i];
  }
  return acc;
}

}  // namespace detail

// f(inputs...) -> Var of any shape; inputs are double or complex<double> Vars with
// requires_grad set. Their gradients are overwritten.
template <class F, class... Vs>
GradcheckResult gradcheck(F&& f, Vs&... inputs) {
  return gradcheck_with(GradcheckOptions{}, std::forward<F>(f), inputs...);
}

template <class F, class... Vs>
GradcheckResult gradcheck_with(const GradcheckOptions& opt, F&& f, Vs&... inputs) {
  static_assert(((std::is_same_v<real_t<typename Vs::value_type>, double>) && ...),
                "gradcheck: inputs must be double or complex<double> for meaningful finite differences");
  GradcheckResult res;
  (inputs.zero_grad(), ...);
  auto out = f(inputs...);
  using O = decltype(out);
  using OT = typename O::value_type;
  static_assert(std::is_same_v<real_t<OT>, double>, "gradcheck: the function must return a double or complex<double> Var");
  Generator gen(opt.seed);
  const auto r = O::tensor_type::normal(out.shape(), 0.0, 1.0, gen);
  if (!out.requires_grad()) {
    res.ok = false;
    res.report = "gradcheck: the output does not require grad";
    return res;
  }
  // The seed r is dL/d(out) for L = Re sum conj(r) * out, in torch's convention.
  out.backward(r);
  std::ostringstream report;
  int shown = 0, input_index = 0;
  auto check_input = [&](auto& v) {
    using V = std::remove_reference_t<decltype(v)>;
    using T = typename V::value_type;
    const bool has = v.has_grad();
    const auto analytic = has ? v.grad().to_vector() : std::vector<T>(static_cast<std::size_t>(v.numel()), T(0));
    auto& val = v.mutable_value();
    T* p = val.data();
    for (index_t k = 0; k < val.numel(); ++k) {
      auto numeric_part = [&](T delta) {
        const T orig = p[k];
        NoGradGuard ng;
        p[k] = orig + delta;
        const double lp = detail::projected(f(inputs...).value(), r);
        p[k] = orig - delta;
        const double lm = detail::projected(f(inputs...).value(), r);
        p[k] = orig;
        return (lp - lm) / (2 * opt.eps);
      };
      T numeric;
      if constexpr (is_complex_v<T>) numeric = T(numeric_part(T(opt.eps, 0)), numeric_part(T(0, opt.eps)));
      else numeric = numeric_part(T(opt.eps));
      const double err = std::abs(analytic[static_cast<std::size_t>(k)] - numeric);
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (!(err <= opt.atol + opt.rtol * std::abs(numeric))) {
        res.ok = false;
        if (shown++ < 8)
          report << "input " << input_index << " element " << k << ": analytic " << analytic[static_cast<std::size_t>(k)]
                 << " numeric " << numeric << " (|diff| " << err << ")\n";
      }
    }
    ++input_index;
  };
  (check_input(inputs), ...);
  res.report = report.str();
  return res;
}

}  // namespace neuralop
