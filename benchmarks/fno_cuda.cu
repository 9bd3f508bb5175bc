// FNO forward and forward + backward on the GPU (the cuda backend): the configurations (a)-(e)
// of the FNO issue, the large one of the CUDA issue, SpectralConv alone on (b), and the
// bandwidth of a fused elementwise kernel and of its fused backward. Prints one `result` line
// per configuration for benchmarks/compare_fno_cuda.py, which runs the same configurations with
// PyTorch NeuralOperator on the same GPU in the same run.
//
//   bench_fno_cuda [--reps N] [config ...]     (default: all; names a b c d e large sc_b bw offload)
//
// `offload`: forward + backward of the large configuration with the saved activations kept on the
// device, moved to pinned host memory (OffloadActivationsGuard), and both again with activation
// checkpointing: time, peak device memory and its reduction, bytes moved to the host.
//
// Time: median wall time of a call followed by cuda::synchronize() (the GPU work included).
// Memory: the device allocator's peak of live tensors during forward + backward (parameters
// and input included), and the cudaMalloc calls made by the timed steps (0 in a steady state).
#include <neuralop/cuda.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/optim/adamw.hpp"

using namespace neuralop;

namespace {

template <class Layer, class Input>
void time_it(const char* name, Layer& layer, const Input& x, int reps) {
  const double fwd = bench::median_seconds(
      [&] {
        NoGradGuard ng;
        auto y = layer(x);
        cuda::synchronize();
      },
      reps, 2);
  cuda::reset_peak_memory();
  const double base = double(cuda::memory_stats().in_use);
  std::size_t allocs0 = 0;
  int runs = 0;
  const double fwdbwd = bench::median_seconds(
      [&] {
        if (runs++ == 2) allocs0 = cuda::memory_stats().device_allocs;  // after the warm-up runs
        layer.zero_grad();
        auto y = layer(x);
        sum(y).backward();
        y = {};
        cuda::synchronize();
      },
      reps, 2);
  const auto st = cuda::memory_stats();
  const double peak_mb = (double(st.peak_in_use) - base) / 1e6;
  // A training step: forward + backward + AdamW (NeuralOperator's defaults of the Darcy recipe).
  optim::AdamW opt(layer.parameters(), {.lr = 1e-3, .weight_decay = 1e-4});
  const double train = bench::median_seconds(
      [&] {
        opt.zero_grad();
        auto y = layer(x);
        sum(y).backward();
        y = {};
        opt.step();
        cuda::synchronize();
      },
      reps, 2);
  std::printf("  %-6s forward %9.3f ms   forward+backward %9.3f ms   training step %9.3f ms   peak tensors %9.1f MB   "
              "cudaMalloc in timed steps %zu\n",
              name, 1e3 * fwd, 1e3 * fwdbwd, 1e3 * train, peak_mb, st.device_allocs - allocs0);
  std::printf("result name=%s fwd_ms=%.4f fwdbwd_ms=%.4f peak_mb=%.2f train_ms=%.4f reserved_mb=%.2f steady_mallocs=%zu\n", name,
              1e3 * fwd, 1e3 * fwdbwd, peak_mb, 1e3 * train, double(st.reserved) / 1e6, st.device_allocs - allocs0);
  std::fflush(stdout);
}

template <std::size_t D>
void run_fno(const char* name, index_t batch, int hidden, std::vector<int> modes, Shape<D> size, int reps) {
  manual_seed(0);
  FNO<D, float, cuda> model({.n_modes = modes, .in_channels = 1, .out_channels = 1, .hidden_channels = hidden});
  Shape<D + 2> xs{};
  xs[0] = batch;
  xs[1] = 1;
  for (std::size_t i = 0; i < D; ++i) xs[i + 2] = size[i];
  Var<float, D + 2, cuda> x(Tensor<float, D + 2, cuda>::normal(xs));
  time_it(name, model, x, reps);
}

// y = gelu(x * a + b) over n floats (one read, one write per element), and the fused backward
// of sum(y * r) with respect to x (reads x, r and the output gradient, writes x's gradient).
void run_bandwidth(int reps) {
  const index_t n = index_t(1) << 26;
  auto x = Tensor<float, 1, cuda>::normal({n});
  auto y = Tensor<float, 1, cuda>::empty({n});
  const double t = bench::median_seconds(
      [&] {
        y.assign(gelu(x * 1.5f + 0.25f));
        cuda::synchronize();
      },
      reps, 2);
  Var<float, 1, cuda> xv(x, true);
  const auto r = Tensor<float, 1, cuda>::normal({n});
  const double tb = bench::median_seconds(
      [&] {
        xv.zero_grad();
        Var<float, 1, cuda> out = gelu(xv * 1.5f + 0.25f);
        out.backward(r);
        cuda::synchronize();
      },
      reps, 2);
  const double gb = 2.0 * double(n) * sizeof(float) / 1e9;
  // forward: read x, write y; backward pass: forward (read x, write out) + backward (read x and
  // the seed, write the gradient): 5 arrays.
  std::printf("  bw     gelu(x*a+b) over %lld floats: %8.3f ms, %7.1f GB/s; forward+backward %8.3f ms, %7.1f GB/s\n",
              static_cast<long long>(n), 1e3 * t, gb / t, 1e3 * tb, 2.5 * gb / tb);
  std::printf("result name=bw fwd_ms=%.4f fwd_gbs=%.1f fwdbwd_ms=%.4f fwdbwd_gbs=%.1f\n", 1e3 * t, gb / t, 1e3 * tb, 2.5 * gb / tb);
  std::fflush(stdout);
}

// The large configuration with activation offload and checkpointing, each combination timed and
// its peak of live device tensors measured over the same forward + backward.
void run_offload(int reps) {
  manual_seed(0);
  FNO<2, float, cuda> model({.n_modes = {32, 32}, .in_channels = 1, .out_channels = 1, .hidden_channels = 128});
  Var<float, 4, cuda> x(Tensor<float, 4, cuda>::normal({16, 1, 256, 256}));
  struct Row {
    const char* name;
    bool offload, ckpt;
  };
  const Row rows[] = {{"kept", false, false}, {"offload", true, false}, {"ckpt", false, true}, {"ckpt+offload", true, true}};
  double kept_peak = 0;
  for (const Row& row : rows) {
    model.set_activation_checkpointing(row.ckpt);
    std::shared_ptr<HostOffloadHooks> hooks;
    cuda::synchronize();
    cuda::reset_peak_memory();
    const double base = double(cuda::memory_stats().in_use);
    const double t = bench::median_seconds(
        [&] {
          model.zero_grad();
          Var<float, 0, cuda> loss;
          {
            std::optional<OffloadActivationsGuard> guard;
            if (row.offload) {
              guard.emplace();
              hooks = guard->hooks();
            }
            loss = sum(model(x));
          }
          loss.backward();
          loss = {};
          cuda::synchronize();
        },
        reps, 1);
    const double peak_mb = (double(cuda::memory_stats().peak_in_use) - base) / 1e6;
    if (!row.offload && !row.ckpt) kept_peak = peak_mb;
    const double host_mb = hooks ? double(hooks->stats().packed_bytes) / 1e6 : 0.0;
    const double cut = kept_peak > 0 ? 100.0 * (1.0 - peak_mb / kept_peak) : 0.0;
    std::printf("  large  %-12s forward+backward %9.3f ms   peak tensors %9.1f MB (%5.1f%% below kept)   to host %9.1f MB\n",
                row.name, 1e3 * t, peak_mb, cut, host_mb);
    std::printf("result name=offload_%s fwdbwd_ms=%.4f peak_mb=%.2f peak_cut_pct=%.1f host_mb=%.2f pinned_reserved_mb=%.2f\n",
                row.name, 1e3 * t, peak_mb, cut, host_mb, double(cuda::offload_memory_stats().reserved) / 1e6);
    std::fflush(stdout);
  }
  model.set_activation_checkpointing(false);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 0;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
      if (reps < 1) {
        std::fprintf(stderr, "bench_fno_cuda: --reps %s must be a positive integer\n", argv[i]);
        return 2;
      }
    } else if (argv[i][0] == '-') {
      std::fprintf(stderr, "bench_fno_cuda: unknown option %s (usage: bench_fno_cuda [--reps N] [config ...])\n", argv[i]);
      return 2;
    } else {
      names.emplace_back(argv[i]);
    }
  }
  if (cuda::device_count() == 0) {
    std::printf("SKIP: no CUDA device: bench_fno_cuda compiled, nothing measured\n");
    return 77;
  }
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  auto want = [&](const char* n) { return names.empty() || std::find(names.begin(), names.end(), n) != names.end(); };
  auto r = [&](int n) { return reps > 0 ? reps : n; };
  std::printf("FNO (4 layers, 1 in / 1 out, defaults), float32, cuda backend on %s\n", p.name);
  if (want("a")) run_fno<2>("a", 32, 32, {16, 16}, {16, 16}, r(20));
  if (want("b")) run_fno<2>("b", 16, 64, {16, 16}, {64, 64}, r(20));
  if (want("c")) run_fno<2>("c", 8, 64, {32, 32}, {128, 128}, r(20));
  if (want("d")) run_fno<1>("d", 32, 64, {16}, {1024}, r(20));
  if (want("e")) run_fno<3>("e", 4, 32, {8, 8, 8}, {32, 32, 32}, r(20));
  if (want("large")) run_fno<2>("large", 16, 128, {32, 32}, {256, 256}, r(10));
  if (want("sc_b")) {
    manual_seed(0);
    nn::SpectralConv<2, float, cuda> conv({.in_channels = 64, .out_channels = 64, .n_modes = {16, 16}});
    Var<float, 4, cuda> x(Tensor<float, 4, cuda>::normal({16, 64, 64, 64}));
    time_it("sc_b", conv, x, r(20));
  }
  if (want("bw")) run_bandwidth(r(20));
  if (want("offload")) run_offload(r(5));
}
