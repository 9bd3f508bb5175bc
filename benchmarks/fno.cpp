// FNO forward and forward + backward on the configurations of the FNO issue, and SpectralConv
// alone on (b). Prints one `result` line per configuration for benchmarks/compare_fno.py, which
// runs the same configurations in PyTorch NeuralOperator in the same run.
//
//   bench_fno [--checkpoint] [--reps N] [config ...]     (default: all; names a b c d e sc_b)
//
// --checkpoint: FNOOptions::activation_checkpointing (each Fourier layer recomputed in backward).
// --reps N: timed runs per configuration (default: per configuration, 3 to 7).
//
// Memory: the peak bytes of tensors alive at once during a forward + backward (the allocator's
// high-water mark, parameters and inputs included), the growth of the process's maximum resident
// set over the timed runs, and per training step the peak resident set (VmHWM, reset before each
// step by writing 5 to /proc/self/clear_refs; the allocator's cache emptied before the first
// step), with the resident set before the configuration ran as its baseline.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "neuralop/models/fno.hpp"

using namespace neuralop;

namespace {

double max_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

// A field of /proc/self/status in MB ("VmRSS", "VmHWM"); -1 where there is none (not Linux).
double proc_status_mb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string k = std::string(key) + ":";
  while (std::getline(f, line))
    if (line.compare(0, k.size(), k) == 0) return std::strtod(line.c_str() + k.size(), nullptr) / 1024.0;  // kB
  return -1;
}
// Resets VmHWM to the current resident set; false where the kernel does not allow it.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return bool(f);
}

template <std::size_t D, class Layer, class Input>
void time_it(const char* name, Layer& layer, const Input& x, int reps) {
  const double rss0 = max_rss_mb();
  const double base_rss = proc_status_mb("VmRSS");
  const double fwd = bench::median_seconds(
      [&] {
        NoGradGuard ng;
        auto y = layer(x);
        (void)y;
      },
      reps, 1);
  cpu::empty_cache();
  cpu::reset_peak_memory();
  const double base = double(cpu::memory_stats().in_use);
  double step_hwm = 0;
  bool hwm_ok = true;
  const double fwdbwd = bench::median_seconds(
      [&] {
        hwm_ok = reset_peak_rss() && hwm_ok;
        layer.zero_grad();
        auto y = layer(x);
        sum(y).backward();
        y = {};
        step_hwm = std::max(step_hwm, proc_status_mb("VmHWM"));
      },
      reps, 1);
  const double peak_mb = (double(cpu::memory_stats().peak_in_use) - base) / 1e6;
  if (!hwm_ok) step_hwm = -1;
  std::printf("  %-6s forward %9.2f ms   forward+backward %9.2f ms   peak tensors %8.1f MB   max RSS growth %8.1f MB\n",
              name, 1e3 * fwd, 1e3 * fwdbwd, peak_mb, max_rss_mb() - rss0);
  std::printf("         step peak RSS %8.1f MB (baseline %6.1f MB, step peak - baseline %8.1f MB)\n", step_hwm, base_rss,
              step_hwm - base_rss);
  std::printf("result name=%s fwd_ms=%.4f fwdbwd_ms=%.4f peak_mb=%.2f rss_mb=%.2f step_peak_rss_mb=%.2f base_rss_mb=%.2f\n",
              name, 1e3 * fwd, 1e3 * fwdbwd, peak_mb, max_rss_mb() - rss0, step_hwm, base_rss);
  std::fflush(stdout);
}

template <std::size_t D>
void run_fno(const char* name, index_t batch, int hidden, std::vector<int> modes, Shape<D> size, int reps, bool ckpt) {
  manual_seed(0);
  FNO<D> model({.n_modes = modes, .in_channels = 1, .out_channels = 1, .hidden_channels = hidden, .activation_checkpointing = ckpt});
  Shape<D + 2> xs{};
  xs[0] = batch;
  xs[1] = 1;
  for (std::size_t i = 0; i < D; ++i) xs[i + 2] = size[i];
  Var<float, D + 2> x(Tensor<float, D + 2>::normal(xs));
  time_it<D>(name, model, x, reps);
}

}  // namespace

int main(int argc, char** argv) {
  bool ckpt = false;
  int reps = 0;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--checkpoint") == 0) {
      ckpt = true;
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
      if (reps < 1) {
        std::fprintf(stderr, "bench_fno: --reps %s must be a positive integer\n", argv[i]);
        return 2;
      }
    } else if (argv[i][0] == '-') {
      std::fprintf(stderr, "bench_fno: unknown option %s (usage: bench_fno [--checkpoint] [--reps N] [config ...])\n", argv[i]);
      return 2;
    } else {
      names.emplace_back(argv[i]);
    }
  }
  auto want = [&](const char* n) { return names.empty() || std::find(names.begin(), names.end(), n) != names.end(); };
  auto r = [&](int n) { return reps > 0 ? reps : n; };
  std::printf("FNO (4 layers, 1 in / 1 out, defaults%s), float32, %d threads\n", ckpt ? ", activation checkpointing" : "",
              cpu::num_threads());
  if (want("a")) run_fno<2>("a", 32, 32, {16, 16}, {16, 16}, r(7), ckpt);
  if (want("b")) run_fno<2>("b", 16, 64, {16, 16}, {64, 64}, r(5), ckpt);
  if (want("c")) run_fno<2>("c", 8, 64, {32, 32}, {128, 128}, r(3), ckpt);
  if (want("d")) run_fno<1>("d", 32, 64, {16}, {1024}, r(5), ckpt);
  if (want("e")) run_fno<3>("e", 4, 32, {8, 8, 8}, {32, 32, 32}, r(3), ckpt);
  if (want("sc_b")) {
    manual_seed(0);
    nn::SpectralConv<2> conv({.in_channels = 64, .out_channels = 64, .n_modes = {16, 16}});
    Var<float, 4> x(Tensor<float, 4>::normal({16, 64, 64, 64}));
    time_it<2>("sc_b", conv, x, r(5));
  }
}
