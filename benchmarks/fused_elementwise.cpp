// Fused versus op-by-op elementwise autodiff on a [16, 64, 128, 128] float tensor.
//
// Two five-op expressions, the pattern of a normalised, gated FNO activation with a skip:
//     y = act(x * w + b) * s + r        x, r: [16, 64, 128, 128]; w, b, s: [64, 1, 1]
// with act = relu (cheap: the pass is memory-bound) and act = gelu (exact erf form: on a
// small machine the pass is compute-bound, and fusion only saves the memory traffic).
// "fused" materialises y as one Var: one pass forward, one graph node, one pass backward.
// "op by op" materialises every op as its own Var (five passes and five nodes), as an eager
// framework does. Both compute y and dL/dx, dL/dw, dL/db, dL/ds, dL/dr for a fixed seed dL/dy.
//
// Bandwidth is reported against the minimum traffic of the fused passes: forward reads x, r and
// writes y (3 arrays); backward reads dL/dy and x and writes dL/dx and dL/dr (4 arrays).
//
//   bench_fused_elementwise [batch=16]
#include <cstdio>
#include <cstdlib>

#include "bench_common.hpp"

using namespace neuralop;

namespace {

struct Inputs {
  Var<float, 4> x, r;
  Var<float, 3> w, b, s;
  Tensor<float, 4> seed;
  void zero_grad() {
    x.zero_grad();
    r.zero_grad();
    w.zero_grad();
    b.zero_grad();
    s.zero_grad();
  }
};

template <class Act>
void run(const char* name, Inputs& in, Act act, double array_bytes) {
  auto fused = [&] { return Var<float, 4>(act(in.x * in.w + in.b) * in.s + in.r); };
  auto op_by_op = [&] {
    Var<float, 4> t1 = in.x * in.w;
    Var<float, 4> t2 = t1 + in.b;
    Var<float, 4> t3 = act(t2);
    Var<float, 4> t4 = t3 * in.s;
    return Var<float, 4>(t4 + in.r);
  };
  // Same numbers both ways (up to float rounding of the different evaluation order).
  in.zero_grad();
  auto y1 = fused();
  y1.backward(in.seed);
  const auto dx1 = in.x.grad().to_vector(), dw1 = in.w.grad().to_vector(), v1 = y1.value().to_vector();
  in.zero_grad();
  auto y2 = op_by_op();
  y2.backward(in.seed);
  const auto dx2 = in.x.grad().to_vector(), dw2 = in.w.grad().to_vector(), v2 = y2.value().to_vector();
  double ey = 0, ex = 0, ew = 0;
  for (std::size_t i = 0; i < v1.size(); ++i) {
    ey = std::max(ey, double(std::abs(v1[i] - v2[i])));
    ex = std::max(ex, double(std::abs(dx1[i] - dx2[i])));
  }
  for (std::size_t i = 0; i < dw1.size(); ++i) ew = std::max(ew, double(std::abs(dw1[i] - dw2[i]) / std::abs(dw2[i])));

  const double t_ff = bench::median_seconds([&] { (void)fused(); });
  const double t_uf = bench::median_seconds([&] { (void)op_by_op(); });
  const double t_fb = bench::median_seconds([&] {
    in.zero_grad();
    fused().backward(in.seed);
  });
  const double t_ub = bench::median_seconds([&] {
    in.zero_grad();
    op_by_op().backward(in.seed);
  });
  std::printf("\ny = %s(x * w + b) * s + r   (fused vs op-by-op: max|dy| %.1e, max|d dx| %.1e, max rel d dw %.1e)\n",
              name, ey, ex, ew);
  std::printf("  %-20s %10s %12s %8s %14s\n", "", "fused ms", "op-by-op ms", "speedup", "fused GB/s");
  std::printf("  %-20s %10.2f %12.2f %7.2fx %14.1f\n", "forward", 1e3 * t_ff, 1e3 * t_uf, t_uf / t_ff,
              3 * array_bytes / t_ff / 1e9);
  std::printf("  %-20s %10.2f %12.2f %7.2fx %14.1f\n", "forward + backward", 1e3 * t_fb, 1e3 * t_ub, t_ub / t_fb,
              7 * array_bytes / t_fb / 1e9);
  // One line for scripts (benchmarks/compare_fused_elementwise.py compares with PyTorch).
  std::printf("result act=%s fwd_fused_ms=%.3f fwd_op_ms=%.3f fwdbwd_fused_ms=%.3f fwdbwd_op_ms=%.3f\n", name,
              1e3 * t_ff, 1e3 * t_uf, 1e3 * t_fb, 1e3 * t_ub);
}

}  // namespace

int main(int argc, char** argv) {
  const index_t N = argc > 1 ? std::atoll(argv[1]) : 16;
  if (N < 1) {
    std::fprintf(stderr, "usage: bench_fused_elementwise [batch >= 1]\n");
    return 2;
  }
  const Shape<4> shape{N, 64, 128, 128};
  const Shape<3> chan{64, 1, 1};
  Generator g(0);
  Inputs in{Var<float, 4>(Tensor<float, 4>::normal(shape, 0.f, 1.f, g), true),
            Var<float, 4>(Tensor<float, 4>::normal(shape, 0.f, 1.f, g), true),
            Var<float, 3>(Tensor<float, 3>::normal(chan, 1.f, 0.1f, g), true),
            Var<float, 3>(Tensor<float, 3>::normal(chan, 0.f, 0.1f, g), true),
            Var<float, 3>(Tensor<float, 3>::normal(chan, 1.f, 0.1f, g), true),
            Tensor<float, 4>::normal(shape, 0.f, 1.f, g)};
  const double array_bytes = double(numel(shape)) * sizeof(float);
  std::printf("shape [%lld, 64, 128, 128] float32 (%.0f MiB per array), %d threads\n", (long long)N,
              array_bytes / (1 << 20), cpu::num_threads());
  const auto bw = bench::memcpy_bandwidth(std::size_t(256) << 20);
  std::printf("memcpy on this machine: %.1f GB/s one thread, %.1f GB/s %d threads (read + write)\n", bw.single_thread,
              bw.all_threads, cpu::num_threads());
  run("relu", in, [](const auto& v) { return relu(v); }, array_bytes);
  run("gelu", in, [](const auto& v) { return gelu(v); }, array_bytes);
  return 0;
}
