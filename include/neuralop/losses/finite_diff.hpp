// Finite differences along one axis, differentiable (NeuralOperator's FiniteDiff, used by
// H1Loss): second-order central differences inside, periodic wrap-around or third-order
// one-sided stencils at the two boundaries.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "neuralop/autograd/function.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop::losses {

namespace detail {

// The rows of the 1-D derivative matrix along an axis of length n, in NeuralOperator's
// arithmetic: out[i] = (sum_k c_k u[j_k]) / den, the sum taken left to right as torch does.
//   order 1: inside (u[i+1] - u[i-1]) / (2h); boundaries (-11u0 + 18u1 - 9u2 + 2u3) / (6h) and
//            (-2u[n-4] + 9u[n-3] - 18u[n-2] + 11u[n-1]) / (6h)
//   order 2: inside (u[i+1] - 2u[i] + u[i-1]) / h^2; boundaries (2u0 - 5u1 + 4u2 - u3) / h^2 and
//            (-u[n-4] + 4u[n-3] - 5u[n-2] + 2u[n-1]) / h^2
// Periodic: the inside rule at every i with indices mod n (torch.roll).
struct FdRule {
  int order = 1;
  bool periodic = true;
  double h = 1.0;
  double den_inside() const { return order == 1 ? 2.0 * h : h * h; }
  double den_boundary() const { return order == 1 ? 6.0 * h : h * h; }
  std::array<double, 4> left() const {
    return order == 1 ? std::array<double, 4>{-11, 18, -9, 2} : std::array<double, 4>{2, -5, 4, -1};
  }
  std::array<double, 4> right() const {  // on u[n-4], ..., u[n-1]
    return order == 1 ? std::array<double, 4>{-2, 9, -18, 11} : std::array<double, 4>{-1, 4, -5, 2};
  }
};

inline void check_fd(const FdRule& r, index_t n, const char* op, const std::string& shape) {
  if (r.order != 1 && r.order != 2)
    throw_error<value_error>(op, ": order must be 1 or 2 (NeuralOperator's FiniteDiff), got ", r.order);
  if (!r.periodic && n < 4)
    throw_error<shape_error>(op, ": the non-periodic stencil needs at least 4 points along the axis, input shape ",
                             shape, " has ", n);
}

// u[a:b] along `axis`, as an expression leaf.
template <class T, std::size_t R, class B>
auto sl(const Tensor<T, R, B>& u, int axis, index_t a, index_t b) {
  return u.slice(axis, a, b);
}

template <class T, std::size_t R, class B>
Tensor<T, R, B> fd_forward(const Tensor<T, R, B>& u, int axis, const FdRule& r) {
  const index_t n = u.shape()[static_cast<std::size_t>(axis)];
  auto out = Tensor<T, R, B>::empty(u.shape());
  const T di = T(r.den_inside());
  if (r.periodic && n == 1) return out.fill(T(0));
  if (r.order == 1) {
    if (n > 2) out.slice(axis, 1, n - 1).assign((sl(u, axis, 2, n) - sl(u, axis, 0, n - 2)) / di);
  } else {
    if (n > 2)
      out.slice(axis, 1, n - 1)
          .assign((sl(u, axis, 2, n) - T(2) * sl(u, axis, 1, n - 1) + sl(u, axis, 0, n - 2)) / di);
  }
  if (r.periodic) {  // the wrapped rows i = 0 and i = n - 1
    const auto u0 = sl(u, axis, 0, 1), u1 = sl(u, axis, 1, 2);
    const auto ul = sl(u, axis, n - 1, n), ul1 = sl(u, axis, n - 2, n - 1);
    if (r.order == 1) {
      out.slice(axis, 0, 1).assign((u1 - ul) / di);
      out.slice(axis, n - 1, n).assign((u0 - ul1) / di);
    } else {
      out.slice(axis, 0, 1).assign((u1 - T(2) * u0 + ul) / di);
      out.slice(axis, n - 1, n).assign((u0 - T(2) * ul + ul1) / di);
    }
  } else {
    const T db = T(r.den_boundary());
    const auto c = r.left(), e = r.right();
    out.slice(axis, 0, 1).assign((T(c[0]) * sl(u, axis, 0, 1) + T(c[1]) * sl(u, axis, 1, 2) +
                                  T(c[2]) * sl(u, axis, 2, 3) + T(c[3]) * sl(u, axis, 3, 4)) / db);
    out.slice(axis, n - 1, n).assign((T(e[0]) * sl(u, axis, n - 4, n - 3) + T(e[1]) * sl(u, axis, n - 3, n - 2) +
                                      T(e[2]) * sl(u, axis, n - 2, n - 1) + T(e[3]) * sl(u, axis, n - 1, n)) / db);
  }
  return out;
}

// The transpose of fd_forward (its reverse rule): gu[j] = sum_i (c_ij / den_i) g[i].
template <class T, std::size_t R, class B>
Tensor<T, R, B> fd_transpose(const Tensor<T, R, B>& g, int axis, const FdRule& r) {
  const index_t n = g.shape()[static_cast<std::size_t>(axis)];
  Tensor<T, R, B> gu(g.shape());
  if (r.periodic && n == 1) return gu;
  const T di = T(r.den_inside());
  auto add = [&](index_t dst, index_t src, index_t len, T coef) {  // gu[dst:dst+len] += coef * g[src:src+len] / den
    if (len <= 0) return;
    auto v = gu.slice(axis, dst, dst + len);
    v.assign(v + coef * (sl(g, axis, src, src + len) / di));
  };
  // Rows i in [lo, hi) use the inside rule: +u[i+1], -u[i-1] (order 1) or +u[i+1], -2u[i], +u[i-1].
  const index_t lo = r.periodic ? 0 : 1, hi = r.periodic ? n : n - 1;
  const T mid = r.order == 1 ? T(0) : T(-2);
  const T lower = r.order == 1 ? T(-1) : T(1);
  if (r.periodic) {
    // row i touches (i + 1) mod n and (i - 1) mod n: split each shift into its two contiguous runs
    add(1, 0, n - 1, T(1));  // i -> i + 1 for i < n - 1
    add(0, n - 1, 1, T(1));  // i = n - 1 -> 0
    add(0, 1, n - 1, lower); // i -> i - 1 for i > 0
    add(n - 1, 0, 1, lower); // i = 0 -> n - 1
    if (r.order == 2) add(0, 0, n, mid);
    return gu;
  }
  add(lo + 1, lo, hi - lo, T(1));
  add(lo - 1, lo, hi - lo, lower);
  if (r.order == 2) add(lo, lo, hi - lo, mid);
  const T db = T(r.den_boundary());
  const auto c = r.left(), e = r.right();
  for (index_t k = 0; k < 4; ++k) {
    auto v0 = gu.slice(axis, k, k + 1);
    v0.assign(v0 + T(c[static_cast<std::size_t>(k)]) * (sl(g, axis, 0, 1) / db));
    auto v1 = gu.slice(axis, n - 4 + k, n - 3 + k);
    v1.assign(v1 + T(e[static_cast<std::size_t>(k)]) * (sl(g, axis, n - 1, n) / db));
  }
  return gu;
}

}  // namespace detail

// d^order u / dx^order along `axis` with grid step h (periodic: central differences with
// wrap-around, as NeuralOperator's default; otherwise one-sided third-order boundary stencils).
template <TensorScalar T, std::size_t R, class B>
Tensor<T, R, B> finite_diff(const Tensor<T, R, B>& u, int axis, double h, int order = 1, bool periodic = true) {
  static_assert(!is_complex_v<T>, "neuralop: finite_diff is defined for real tensors");
  if (!u.defined()) throw_error<value_error>("finite_diff: the input tensor is null");
  const int a = static_cast<int>(normalize_axis(axis, R, "finite_diff"));
  const detail::FdRule r{order, periodic, h};
  detail::check_fd(r, u.shape()[static_cast<std::size_t>(a)], "finite_diff", format_shape(u.shape()));
  return detail::fd_forward(u, a, r);
}
template <TensorScalar T, std::size_t R, class B>
Var<T, R, B> finite_diff(const Var<T, R, B>& u, int axis, double h, int order = 1, bool periodic = true) {
  auto out = finite_diff(u.value(), axis, h, order, periodic);
  const int a = static_cast<int>(normalize_axis(axis, R, "finite_diff"));
  const detail::FdRule r{order, periodic, h};
  return record_op(
      "finite_diff", std::move(out),
      [us = u.slot_ptr(), a, r](const Tensor<T, R, B>& g) { accumulate_grad(us, detail::fd_transpose(g, a, r)); }, u);
}

struct FiniteDiffOptions {
  std::vector<double> h = {1.0};  // one step for every axis, or one per axis (x, y, z)
  bool periodic_in_x = true;
  bool periodic_in_y = true;
  bool periodic_in_z = true;
};

// NeuralOperator's FiniteDiff(dim=D): x is axis -D, y axis -D+1, z axis -D+2 (so in 2-D "x" is
// axis -2, the rows, and "y" the last axis).
template <std::size_t D>
class FiniteDiff {
  static_assert(D >= 1 && D <= 3, "neuralop: FiniteDiff is defined for 1, 2 and 3 dimensions");

 public:
  explicit FiniteDiff(FiniteDiffOptions o = {}) : o_(std::move(o)) {
    if (o_.h.size() != 1 && o_.h.size() != D)
      throw_error<value_error>("FiniteDiff<", D, ">: h must hold 1 or ", D, " steps, got ", o_.h.size());
  }
  template <class U>
  auto dx(const U& u, int order = 1) const {
    return along<0>(u, order);
  }
  template <class U>
    requires(D >= 2)
  auto dy(const U& u, int order = 1) const {
    return along<1>(u, order);
  }
  template <class U>
    requires(D >= 3)
  auto dz(const U& u, int order = 1) const {
    return along<2>(u, order);
  }
  double h(std::size_t j) const { return o_.h.size() == 1 ? o_.h[0] : o_.h[j]; }
  bool periodic(std::size_t j) const { return j == 0 ? o_.periodic_in_x : j == 1 ? o_.periodic_in_y : o_.periodic_in_z; }

 private:
  template <std::size_t J, class U>
  auto along(const U& u, int order) const {
    static_assert(std::remove_cvref_t<U>::rank >= D, "neuralop: FiniteDiff<D> needs inputs of rank >= D");
    return finite_diff(u, static_cast<int>(J) - static_cast<int>(D), h(J), order, periodic(J));
  }
  FiniteDiffOptions o_;
};

}  // namespace neuralop::losses
