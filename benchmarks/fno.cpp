// FNO forward and forward + backward on the configurations of the FNO issue, and SpectralConv
// alone on (b). Prints one `result` line per configuration for benchmarks/compare_fno.py, which
// runs the same configurations in PyTorch NeuralOperator in the same run.
//
//   bench_fno [config ...]     (default: all; names a b c d e sc_b)
//
// Memory: the peak bytes of tensors alive at once during a forward + backward (the allocator's
// high-water mark, parameters and inputs included), and the growth of the process's maximum
// resident set over the timed runs.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
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

template <std::size_t D, class Layer, class Input>
void time_it(const char* name, Layer& layer, const Input& x, int reps) {
  const double rss0 = max_rss_mb();
  const double fwd = bench::median_seconds(
      [&] {
        NoGradGuard ng;
        auto y = layer(x);
        (void)y;
      },
      reps, 1);
  cpu::reset_peak_memory();
  const double base = double(cpu::memory_stats().in_use);
  const double fwdbwd = bench::median_seconds(
      [&] {
        layer.zero_grad();
        auto y = layer(x);
        sum(y).backward();
      },
      reps, 1);
  const double peak_mb = (double(cpu::memory_stats().peak_in_use) - base) / 1e6;
  std::printf("  %-6s forward %9.2f ms   forward+backward %9.2f ms   peak tensors %8.1f MB   max RSS growth %8.1f MB\n",
              name, 1e3 * fwd, 1e3 * fwdbwd, peak_mb, max_rss_mb() - rss0);
  std::printf("result name=%s fwd_ms=%.4f fwdbwd_ms=%.4f peak_mb=%.2f rss_mb=%.2f\n", name, 1e3 * fwd, 1e3 * fwdbwd, peak_mb,
              max_rss_mb() - rss0);
  std::fflush(stdout);
}

template <std::size_t D>
void run_fno(const char* name, index_t batch, int hidden, std::vector<int> modes, Shape<D> size, int reps) {
  manual_seed(0);
  FNO<D> model({.n_modes = modes, .in_channels = 1, .out_channels = 1, .hidden_channels = hidden});
  Shape<D + 2> xs{};
  xs[0] = batch;
  xs[1] = 1;
  for (std::size_t i = 0; i < D; ++i) xs[i + 2] = size[i];
  Var<float, D + 2> x(Tensor<float, D + 2>::normal(xs));
  time_it<D>(name, model, x, reps);
}

}  // namespace

int main(int argc, char** argv) {
  auto want = [&](const char* n) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; ++i)
      if (std::strcmp(argv[i], n) == 0) return true;
    return false;
  };
  std::printf("FNO (4 layers, 1 in / 1 out, defaults), float32, %d threads\n", cpu::num_threads());
  if (want("a")) run_fno<2>("a", 32, 32, {16, 16}, {16, 16}, 7);
  if (want("b")) run_fno<2>("b", 16, 64, {16, 16}, {64, 64}, 5);
  if (want("c")) run_fno<2>("c", 8, 64, {32, 32}, {128, 128}, 3);
  if (want("d")) run_fno<1>("d", 32, 64, {16}, {1024}, 5);
  if (want("e")) run_fno<3>("e", 4, 32, {8, 8, 8}, {32, 32, 32}, 3);
  if (want("sc_b")) {
    manual_seed(0);
    nn::SpectralConv<2> conv({.in_channels = 64, .out_channels = 64, .n_modes = {16, 16}});
    Var<float, 4> x(Tensor<float, 4>::normal({16, 64, 64, 64}));
    time_it<2>("sc_b", conv, x, 5);
  }
}
