// Companion of calibrate_darcy.py: writes generated Darcy data as raw float32 for the calibration,
// and measures the solver (convergence orders, per-sample timings) for docs/generators.md.
//   darcy_sample_stats preset fno_paper|neuralop_files N SEED RES OUT_PREFIX
//   darcy_sample_stats custom N SEED SOLVE_RES RES ALPHA TAU A_HIGH A_LOW FORCING OUT_PREFIX
//       -> OUT_PREFIX.x.f32, OUT_PREFIX.y.f32, each [N, RES, RES] row-major
//   darcy_sample_stats bench   -> text: orders of a manufactured solution, ms per sample
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numbers>
#include <string>

#include "neuralop/data/generators/darcy_generator.hpp"

namespace gen = neuralop::data::generators;

static void write(const std::string& path, const neuralop::Tensor<float, 3>& t) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(t.data()), std::streamsize(t.numel() * sizeof(float)));
}

static int bench() {
  using clk = std::chrono::steady_clock;
  const double pi = std::numbers::pi;
  // -div(a grad u) = f, a = 1 + sin(2 pi x) cos(3 pi y) / 2, u = sin(pi x) sin(2 pi y) (as the tests)
  double prev = 0;
  for (int n : {16, 32, 64, 128, 256, 512}) {
    const int m = n + 1;
    std::vector<double> a(std::size_t(m) * m), f(a.size()), u(a.size()), ue(a.size());
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        const double x = double(i) / n, y = double(j) / n;
        const std::size_t p = std::size_t(i) * m + j;
        const double A = 1 + 0.5 * std::sin(2 * pi * x) * std::cos(3 * pi * y);
        const double ax = pi * std::cos(2 * pi * x) * std::cos(3 * pi * y), ay = -1.5 * pi * std::sin(2 * pi * x) * std::sin(3 * pi * y);
        const double U = std::sin(pi * x) * std::sin(2 * pi * y);
        a[p] = A, ue[p] = U;
        f[p] = 5 * pi * pi * A * U - (ax * pi * std::cos(pi * x) * std::sin(2 * pi * y) + ay * 2 * pi * std::sin(pi * x) * std::cos(2 * pi * y));
      }
    gen::DarcySolver s(n);
    const auto st = s.solve(a, f, u);
    double e = 0;
    for (std::size_t p = 0; p < u.size(); ++p) e = std::max(e, std::abs(u[p] - ue[p]));
    std::printf("manufactured N=%d iterations=%d max_error=%.4e order=%.3f\n", n, st.iterations, e, prev > 0 ? std::log2(prev / e) : 0.0);
    prev = e;
  }
  for (const char* preset : {"fno_paper", "neuralop_files"}) {
    for (int n : {64, 128, 256, 512}) {
      gen::DarcyGeneratorOptions o = std::string(preset) == "fno_paper" ? gen::DarcyGeneratorOptions{} : gen::DarcyGeneratorOptions::neuralop_files();
      o.solve_resolution = n;
      o.resolutions = {16};
      gen::DarcySampler S(o);
      const int reps = n <= 128 ? 100 : n == 256 ? 40 : 10;
      double tg = 0, tt = 0;
      int its = 0;
      gen::NeumannGrf2d g(n, {o.alpha, o.tau});
      std::vector<double> field(std::size_t(n + 1) * (n + 1));
      for (int r = 0; r < reps; ++r) {
        const auto t0 = clk::now();
        g.sample(1, std::uint64_t(r), field);
        const auto t1 = clk::now();
        its += S.sample(1, std::uint64_t(r)).iterations;
        const auto t2 = clk::now();
        tg += std::chrono::duration<double>(t1 - t0).count();
        tt += std::chrono::duration<double>(t2 - t1).count();
      }
      std::printf("timing preset=%s N=%d grf_ms=%.2f sample_ms=%.2f solve_ms=%.2f iterations=%.1f\n", preset, n, 1e3 * tg / reps,
                  1e3 * tt / reps, 1e3 * (tt - tg) / reps, double(its) / reps);
    }
  }
  return 0;
}

static int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s preset fno_paper|neuralop_files N SEED RES OUT_PREFIX\n"
                       "       %s custom N SEED SOLVE_RES RES ALPHA TAU A_HIGH A_LOW FORCING OUT_PREFIX\n"
                       "       %s bench\n", argv0, argv0, argv0);
  return 2;
}

int main(int argc, char** argv) {
  const std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "bench") return bench();
  gen::DarcyGeneratorOptions o;
  long n = 0;
  unsigned long long seed = 0;
  std::string out;
  if (mode == "preset" && argc == 7) {
    const std::string name = argv[2];
    if (name == "neuralop_files") o = gen::DarcyGeneratorOptions::neuralop_files();
    else if (name != "fno_paper") return usage(argv[0]);
    n = std::atol(argv[3]);
    seed = std::strtoull(argv[4], nullptr, 10);
    o.resolutions = {std::atoi(argv[5])};
    out = argv[6];
  } else if (mode == "custom" && argc == 12) {
    n = std::atol(argv[2]);
    seed = std::strtoull(argv[3], nullptr, 10);
    o.solve_resolution = std::atoi(argv[4]);
    o.resolutions = {std::atoi(argv[5])};
    o.alpha = std::atof(argv[6]);
    o.tau = std::atof(argv[7]);
    o.coeff_high = std::atof(argv[8]);
    o.coeff_low = std::atof(argv[9]);
    o.forcing = std::atof(argv[10]);
    out = argv[11];
  } else {
    return usage(argv[0]);
  }
  const auto d = gen::generate_darcy(n, o, seed);
  write(out + ".x.f32", d[0].x);
  write(out + ".y.f32", d[0].y);
  return 0;
}
