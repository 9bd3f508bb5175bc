// The Darcy flow solver: -div(a grad u) = f on (0,1)^2, u = 0 on the boundary, 5-point finite
// differences on the node grid, conjugate gradients preconditioned by a Galerkin multigrid V-cycle.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "neuralop/core/error.hpp"

namespace neuralop::data::generators {

struct DarcySolverOptions {
  double tol = 1e-10;        // on the relative residual ||f - A u|| / ||f|| (2-norm over interior nodes)
  int max_iterations = 200;  // CG iterations; exceeding it throws
  // The coefficient on the face between two nodes. "arithmetic" (a1 + a2)/2 is the FNO paper's
  // discretisation (solve_gwf.m), so default data match the benchmark's; "harmonic"
  // 2 a1 a2 / (a1 + a2) is the flux-continuous choice for a coefficient that jumps between nodes.
  std::string face_average = "arithmetic";
};

struct DarcySolveStats {
  int iterations = 0;
  double relative_residual = 0;
};

// The 5-point finite-difference solver on the (N+1)^2 nodes (i/N, j/N), N a power of two >= 2:
//   sum over the 4 faces of node p:  a_face (u_p - u_neighbour) = h^2 f_p,   h = 1/N,
// i.e. the equation times h^2 (an SPD system in the (N-1)^2 interior unknowns). CG is
// preconditioned by one multigrid V-cycle: bilinear interpolation P, restriction P^T, Galerkin
// coarse operators P^T A P (9-point below the finest level; they follow coefficient jumps that a
// rediscretisation would blur) down to one unknown, solved exactly; one forward lexicographic
// Gauss-Seidel sweep before and one backward sweep after the coarse correction, so the V-cycle is
// a symmetric positive definite operator, as CG requires. Not thread-safe: one object per thread.
class DarcySolver {
 public:
  explicit DarcySolver(int n) : n_(n) {
    if (n < 2 || (n & (n - 1)) != 0) throw_error<value_error>("DarcySolver: n (cells per axis) must be a power of two >= 2, got ", n);
    for (int nl = n; nl >= 2; nl /= 2) {
      Level L;
      L.n = nl;
      const std::size_t m2 = std::size_t(nl + 1) * (nl + 1);
      L.x.assign(m2, 0.0);
      L.b.assign(m2, 0.0);
      L.r.assign(m2, 0.0);
      L.inv_diag.assign(m2, 0.0);
      if (nl != n) L.st.assign(m2 * 9, 0.0);
      levels_.push_back(std::move(L));
    }
    const std::size_t m2 = std::size_t(n + 1) * (n + 1);
    ex_.assign(m2, 0.0);
    ey_.assign(m2, 0.0);
    diag_.assign(m2, 0.0);
    for (auto* v : {&r_, &z_, &p_, &q_}) v->assign(m2, 0.0);
    t_.assign(std::size_t(n) + 1, 0.0);
    w_.assign(std::size_t(n) + 1, 0.0);
    zero_.assign(std::size_t(n) + 2, 0.0);
  }

  int n() const { return n_; }

  // a, f, u: (N+1)^2 node values, row-major: v[i * (N+1) + j] at (x, y) = (i/N, j/N). a > 0 at
  // every node; f is read at interior nodes; u gets the solution, zero on the boundary.
  DarcySolveStats solve(std::span<const double> a, std::span<const double> f, std::span<double> u,
                        const DarcySolverOptions& o = {}) {
    const int n = n_, m = n + 1;
    const std::size_t m2 = std::size_t(m) * m;
    if (a.size() != m2 || f.size() != m2 || u.size() != m2)
      throw_error<value_error>("DarcySolver::solve: a, f, u must have (n+1)^2 = ", m2, " values, got ", a.size(), ", ",
                               f.size(), ", ", u.size());
    if (!(o.tol > 0) || !(o.tol < 1)) throw_error<value_error>("DarcySolver::solve: tol must be in (0, 1), got ", o.tol);
    if (o.max_iterations < 1) throw_error<value_error>("DarcySolver::solve: max_iterations must be >= 1, got ", o.max_iterations);
    const bool harmonic = o.face_average == "harmonic";
    if (!harmonic && o.face_average != "arithmetic")
      throw_error<value_error>("DarcySolver::solve: face_average must be \"arithmetic\" or \"harmonic\", got \"", o.face_average, "\"");
    for (std::size_t p = 0; p < m2; ++p)
      if (!(a[p] > 0) || !std::isfinite(a[p]))
        throw_error<value_error>("DarcySolver::solve: the coefficient a must be positive and finite, got a = ", a[p],
                                 " at node (", p / m, ", ", p % m, ")");
    auto face = [harmonic](double a1, double a2) { return harmonic ? 2 * a1 * a2 / (a1 + a2) : 0.5 * (a1 + a2); };
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        const std::size_t p = std::size_t(i) * m + j;
        ex_[p] = i < n ? face(a[p], a[p + m]) : 0.0;
        ey_[p] = j < n ? face(a[p], a[p + 1]) : 0.0;
      }
    setup_levels();

    // CG on the interior; boundary entries of every vector stay zero.
    const double h2 = 1.0 / (double(n) * n);
    double bnorm2 = 0;
    std::fill(u.begin(), u.end(), 0.0);
    std::fill(r_.begin(), r_.end(), 0.0);
    for (int i = 1; i < n; ++i)
      for (int j = 1; j < n; ++j) {
        const std::size_t p = std::size_t(i) * m + j;
        if (!std::isfinite(f[p])) throw_error<value_error>("DarcySolver::solve: f must be finite, got ", f[p], " at node (", i, ", ", j, ")");
        r_[p] = h2 * f[p];
        bnorm2 += r_[p] * r_[p];
      }
    if (bnorm2 == 0) return {0, 0.0};
    const double bnorm = std::sqrt(bnorm2);
    vcycle(0, r_.data(), z_.data());
    p_ = z_;
    double rz = dot(r_, z_);
    for (int it = 1; it <= o.max_iterations; ++it) {
      residual<true, false>(0, nullptr, p_.data(), q_.data());
      const double alpha = rz / dot(p_, q_);
      double rr = 0;
      for (int i = 1; i < n; ++i)
        for (int j = 1; j < n; ++j) {
          const std::size_t p = std::size_t(i) * m + j;
          u[p] += alpha * p_[p];
          r_[p] -= alpha * q_[p];
          rr += r_[p] * r_[p];
        }
      const double rel = std::sqrt(rr) / bnorm;
      if (rel <= o.tol) return {it, rel};
      if (it == o.max_iterations)
        throw_error<error>("DarcySolver::solve: not converged: relative residual ", rel, " after max_iterations = ",
                           o.max_iterations, " (tol = ", o.tol, ", n = ", n, ")");
      vcycle(0, r_.data(), z_.data());
      const double rz_new = dot(r_, z_), beta = rz_new / rz;
      rz = rz_new;
      for (std::size_t p = 0; p < m2; ++p) p_[p] = z_[p] + beta * p_[p];
    }
    return {o.max_iterations, 0.0};  // unreachable
  }

 private:
  struct Level {
    int n = 0;
    std::vector<double> st;  // 9-point stencil, st[((di + 1) * 3 + (dj + 1)) * (n+1)^2 + p] = A(p, p + (di, dj))
    std::vector<double> x, b, r, inv_diag;
  };

  // The fine operator's row at interior node (i, j) as a 9-point stencil.
  void fine_row(int i, int j, double s[9]) const {
    const int m = n_ + 1;
    const std::size_t p = std::size_t(i) * m + j;
    for (int d = 0; d < 9; ++d) s[d] = 0;
    s[1] = -ex_[p - m];
    s[7] = -ex_[p];
    s[3] = -ey_[p - 1];
    s[5] = -ey_[p];
    s[4] = ex_[p - m] + ex_[p] + ey_[p - 1] + ey_[p];
  }

  // Galerkin A_c = P^T A P, gathered per coarse node C (fine node F = 2C):
  //   T(g) = sum_{f near F} P(f, C) A(f, g)           on the 5 x 5 fine patch around F,
  //   A_c(C, C + D) = sum_g T(g) P(g, C + D),          P(g, C') = w(g_i - 2C'_i) w(g_j - 2C'_j),
  // with the bilinear weights w(0) = 1, w(+-1) = 1/2. Entries towards boundary nodes come out too;
  // they only ever multiply the zero boundary values.
  template <class Row>
  static void galerkin(int nf, const Row& row, Level& C) {
    const int nc = nf / 2;
    const std::size_t mc = std::size_t(nc) + 1;
    static constexpr double w[3] = {0.5, 1.0, 0.5};
    for (int I = 1; I < nc; ++I)
      for (int J = 1; J < nc; ++J) {
        double T[5][5] = {};
        double s[9];
        for (int fi = -1; fi <= 1; ++fi)
          for (int fj = -1; fj <= 1; ++fj) {
            row(2 * I + fi, 2 * J + fj, s);
            const double pf = w[fi + 1] * w[fj + 1];
            for (int di = -1; di <= 1; ++di)
              for (int dj = -1; dj <= 1; ++dj) T[fi + di + 2][fj + dj + 2] += pf * s[(di + 1) * 3 + dj + 1];
          }
        const std::size_t pc = std::size_t(I) * mc + std::size_t(J), m2c = mc * mc;
        for (int Di = -1; Di <= 1; ++Di)
          for (int Dj = -1; Dj <= 1; ++Dj) {
            // g - F - 2D in [-1, 1]^2, i.e. patch index gi = 2 + 2 Di + ei.
            double acc = 0;
            for (int ei = -1; ei <= 1; ++ei) {
              const int gi = 2 + 2 * Di + ei;
              if (gi < 0 || gi > 4) continue;
              for (int ej = -1; ej <= 1; ++ej) {
                const int gj = 2 + 2 * Dj + ej;
                if (gj < 0 || gj > 4) continue;
                acc += T[gi][gj] * w[ei + 1] * w[ej + 1];
              }
            }
            C.st[std::size_t((Di + 1) * 3 + Dj + 1) * m2c + pc] = acc;
          }
      }
  }

  void setup_levels() {
    const int m = n_ + 1;
    auto& F = levels_[0];
    for (int i = 1; i < n_; ++i)
      for (int j = 1; j < n_; ++j) {
        const std::size_t p = std::size_t(i) * m + j;
        diag_[p] = ex_[p - m] + ex_[p] + ey_[p - 1] + ey_[p];
        F.inv_diag[p] = 1.0 / diag_[p];
      }
    for (std::size_t l = 1; l < levels_.size(); ++l) {
      const Level& Fl = levels_[l - 1];
      Level& C = levels_[l];
      if (l == 1) galerkin(n_, [this](int i, int j, double* s) { fine_row(i, j, s); }, C);
      else {
        const int mf = Fl.n + 1;
        const std::size_t m2f = std::size_t(mf) * std::size_t(mf);
        galerkin(Fl.n, [&Fl, mf, m2f](int i, int j, double* s) {
          for (std::size_t k = 0; k < 9; ++k) s[k] = Fl.st[k * m2f + std::size_t(i) * std::size_t(mf) + std::size_t(j)];
        }, C);
      }
      const int mc = C.n + 1;
      for (int i = 1; i < C.n; ++i)
        for (int j = 1; j < C.n; ++j) C.inv_diag[std::size_t(i) * mc + j] = 1.0 / C.st[4 * std::size_t(mc) * mc + std::size_t(i) * mc + j];
    }
  }

  // The 9 stencil arrays of a coarse level (structure of arrays, so rows vectorise).
  struct Stencil9 {
    const double* s[9];
    Stencil9(const Level& L) {
      const std::size_t m2 = std::size_t(L.n + 1) * std::size_t(L.n + 1);
      for (int k = 0; k < 9; ++k) s[k] = L.st.data() + std::size_t(k) * m2;
    }
  };

  // out = b - A x on the interior of level l (out = A x when HasB is false, b unused).
  template <bool Fine, bool HasB>
  void residual(std::size_t l, const double* b, const double* x, double* out) const {
    const Level& L = levels_[l];
    const std::size_t n = std::size_t(L.n), m = n + 1;
    for (std::size_t i = 1; i < n; ++i) {
      const std::size_t r0 = i * m;
      const double* __restrict xc = x + r0;
      const double* __restrict xs = x + r0 - m;
      const double* __restrict xn = x + r0 + m;
      double* __restrict o = out + r0;
      const double* __restrict bb = HasB ? b + r0 : nullptr;
      if constexpr (Fine) {
        const double *__restrict d = diag_.data() + r0, *__restrict es = ex_.data() + r0 - m, *__restrict en = ex_.data() + r0,
                     *__restrict ey = ey_.data() + r0;
        for (std::size_t j = 1; j < n; ++j) {
          const double ax = d[j] * xc[j] - es[j] * xs[j] - en[j] * xn[j] - ey[j - 1] * xc[j - 1] - ey[j] * xc[j + 1];
          o[j] = HasB ? bb[j] - ax : ax;
        }
      } else {
        const Stencil9 S(L);
        const double* st[9];
        for (int k = 0; k < 9; ++k) st[k] = S.s[k] + r0;
        residual_row9<HasB>(n, bb, st, xs, xc, xn, o);
      }
    }
  }
  template <bool HasB>
  static void residual_row9(std::size_t n, const double* __restrict bb, const double* const* st, const double* __restrict xs,
                            const double* __restrict xc, const double* __restrict xn, double* __restrict o) {
    const double *__restrict s0 = st[0], *__restrict s1 = st[1], *__restrict s2 = st[2], *__restrict s3 = st[3],
                 *__restrict s4 = st[4], *__restrict s5 = st[5], *__restrict s6 = st[6], *__restrict s7 = st[7],
                 *__restrict s8 = st[8];
    for (std::size_t j = 1; j < n; ++j) {
      const double ax = s0[j] * xs[j - 1] + s1[j] * xs[j] + s2[j] * xs[j + 1] + s3[j] * xc[j - 1] + s4[j] * xc[j] +
                        s5[j] * xc[j + 1] + s6[j] * xn[j - 1] + s7[j] * xn[j] + s8[j] * xn[j + 1];
      o[j] = HasB ? bb[j] - ax : ax;
    }
  }

  // The vectorisable half of a Gauss-Seidel row (see gauss_seidel), one function per stencil so
  // that every array is a restrict-qualified argument. xo / eo: the in-row neighbour that still
  // holds its old value and its coupling; ep: the coupling to the neighbour updated just before.
  static void gs_row5(std::size_t n, const double* __restrict bb, const double* __restrict inv, const double* __restrict es,
                      const double* __restrict xs, const double* __restrict en, const double* __restrict xn,
                      const double* __restrict eo, const double* __restrict xo, const double* __restrict ep,
                      double* __restrict t, double* __restrict w) {
    for (std::size_t j = 1; j < n; ++j) {
      t[j] = (bb[j] + es[j] * xs[j] + en[j] * xn[j] + eo[j] * xo[j]) * inv[j];
      w[j] = ep[j] * inv[j];
    }
  }
  static void gs_row9(std::size_t n, const double* __restrict bb, const double* __restrict inv, const double* const* s,
                      const double* __restrict xs, const double* __restrict xn, const double* __restrict so,
                      const double* __restrict xo, const double* __restrict sp, double* __restrict t, double* __restrict w) {
    const double *__restrict s0 = s[0], *__restrict s1 = s[1], *__restrict s2 = s[2], *__restrict s6 = s[6], *__restrict s7 = s[7],
                 *__restrict s8 = s[8];
    for (std::size_t j = 1; j < n; ++j) {
      const double other = s0[j] * xs[j - 1] + s1[j] * xs[j] + s2[j] * xs[j + 1] + s6[j] * xn[j - 1] + s7[j] * xn[j] +
                           s8[j] * xn[j + 1] + so[j] * xo[j];
      t[j] = (bb[j] - other) * inv[j];
      w[j] = -sp[j] * inv[j];
    }
  }

  // Gauss-Seidel sweeps x_p = (b_p - sum_{q != p} A_pq x_q) / A_pp in lexicographic order,
  // forward or backward (the adjoint of the forward sweep). Within a row only the neighbour just
  // updated (j - 1 forward, j + 1 backward) is new, so each row is split into a vectorisable pass
  // t_j = (b_p - the other terms) / A_pp, w_j = -A_p,prev / A_pp and the recurrence
  // x_j = t_j + w_j x_prev: one fused multiply-add on the critical path instead of the whole stencil.
  // Zero: x starts at 0 (the pre-smoothing sweep of a V-cycle), so the neighbours not yet
  // updated are read from a zero row and x needs no clearing.
  template <bool Fine, bool Forward, bool Zero = false>
  void gauss_seidel(std::size_t l, const double* b, double* x) {
    const Level& L = levels_[l];
    const std::size_t n = std::size_t(L.n), m = n + 1;
    double* t = t_.data();
    double* w = w_.data();
    for (std::size_t ii = 1; ii < n; ++ii) {
      const std::size_t r0 = (Forward ? ii : n - ii) * m;
      const double* xc = x + r0;
      const double* z = zero_.data();
      const double* xo = Zero ? z : Forward ? xc + 1 : xc - 1;
      const double* xn = Zero ? z : xc + m;
      if constexpr (Fine) {
        const double* ey = ey_.data() + r0;
        gs_row5(n, b + r0, L.inv_diag.data() + r0, ex_.data() + r0 - m, xc - m, Zero ? z : ex_.data() + r0, xn,
                Zero ? z : Forward ? ey : ey - 1, xo, Forward ? ey - 1 : ey, t, w);
      } else {
        const Stencil9 S(L);
        const double* s[9];
        for (int k = 0; k < 9; ++k) s[k] = Zero && k >= 6 ? z : S.s[k] + r0;
        gs_row9(n, b + r0, L.inv_diag.data() + r0, s, xc - m, xn, Zero ? z : Forward ? s[5] : s[3], xo, Forward ? s[3] : s[5], t, w);
      }
      // The boundary neighbour is zero; the running value stays in a register.
      double* xr = x + r0;
      double v = 0;
      if constexpr (Forward)
        for (std::size_t j = 1; j < n; ++j) xr[j] = v = t[j] + w[j] * v;
      else
        for (std::size_t j = n - 1; j >= 1; --j) xr[j] = v = t[j] + w[j] * v;
    }
  }

  // x = V(l) b: the V-cycle as a linear operator (zero initial guess).
  void vcycle(std::size_t l, const double* b, double* x) {
    Level& L = levels_[l];
    const int n = L.n, m = n + 1;
    if (n == 2) {  // one unknown
      x[m + 1] = b[m + 1] * L.inv_diag[std::size_t(m) + 1];
      return;
    }
    if (l == 0) {
      gauss_seidel<true, true, true>(l, b, x);
      residual<true, true>(l, b, x, L.r.data());
    } else {
      gauss_seidel<false, true, true>(l, b, x);
      residual<false, true>(l, b, x, L.r.data());
    }
    Level& C = levels_[l + 1];
    const std::size_t nc = std::size_t(C.n), mc = nc + 1, mf = std::size_t(m);
    // b_c = P^T r: full weighting without the 1/4 (the Galerkin operator carries the scale),
    // as the column weights (1/2, 1, 1/2) over three fine rows, then the same along the row.
    double* v = t_.data();
    for (std::size_t I = 1; I < nc; ++I) {
      const double *r = L.r.data() + 2 * I * mf, *rs = r - mf, *rn = r + mf;
      for (std::size_t j = 0; j < mf; ++j) v[j] = r[j] + 0.5 * (rs[j] + rn[j]);
      double* bc = C.b.data() + I * mc;
      for (std::size_t J = 1; J < nc; ++J) bc[J] = v[2 * J] + 0.5 * (v[2 * J - 1] + v[2 * J + 1]);
    }
    vcycle(l + 1, C.b.data(), C.x.data());
    // x += P x_c (bilinear): fine row i takes the mean of coarse rows floor(i/2) and ceil(i/2)
    // (the same row twice when i is even), then interpolates along the row.
    double* cs = w_.data();
    for (std::size_t i = 1; i + 1 < mf; ++i) {
      const double* c0 = C.x.data() + (i / 2) * mc;
      const double* c1 = C.x.data() + ((i + 1) / 2) * mc;
      for (std::size_t J = 0; J < mc; ++J) cs[J] = 0.5 * (c0[J] + c1[J]);
      double* xr = x + i * mf;
      for (std::size_t J = 1; J < nc; ++J) xr[2 * J] += cs[J];
      for (std::size_t J = 0; J < nc; ++J) xr[2 * J + 1] += 0.5 * (cs[J] + cs[J + 1]);
    }
    if (l == 0) gauss_seidel<true, false>(l, b, x);
    else gauss_seidel<false, false>(l, b, x);
  }

  // Four partial sums: vectorisable, and the same order on every machine.
  static double dot(const std::vector<double>& x, const std::vector<double>& y) {
    const double *__restrict a = x.data(), *__restrict b = y.data();
    const std::size_t n = x.size(), n4 = n / 4 * 4;
    double s[4] = {0, 0, 0, 0};
    for (std::size_t p = 0; p < n4; p += 4)
      for (int k = 0; k < 4; ++k) s[k] += a[p + k] * b[p + k];
    for (std::size_t p = n4; p < n; ++p) s[0] += a[p] * b[p];
    return (s[0] + s[1]) + (s[2] + s[3]);
  }

  int n_;
  std::vector<Level> levels_;
  std::vector<double> ex_, ey_, diag_;  // face coefficients (i,j)-(i+1,j) and (i,j)-(i,j+1); their sums
  std::vector<double> r_, z_, p_, q_;  // CG vectors
  std::vector<double> t_, w_;           // one row of a Gauss-Seidel sweep (or of restriction, prolongation)
  std::vector<double> zero_;            // a row of zeros
};

// The generator's options. Defaults: the FNO paper's data (GRF alpha = 2, tau = 3, a = 12 where
// the field is >= 0 and 3 elsewhere, f = 1) solved on 257^2 nodes.

}  // namespace neuralop::data::generators
