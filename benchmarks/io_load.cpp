// Loading a torch.save file: io::load_pt on NeuralOperator's darcy_train_16.pt (1.28 MB: a bool
// and a float32 [1000, 16, 16] tensor stored sample-fastest), as a tree of strided views and
// then materialised as contiguous float32 tensors (what a dataset does next).
// benchmarks/compare_io_load.py runs this and torch.load on the same file in the same run.
//
//   bench_io_load [file=<data dir>/darcy_train_16.pt]
#include <cstdio>
#include <string>

#include "bench_common.hpp"
#include "neuralop/io/io.hpp"

using namespace neuralop;

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : std::string(NEURALOP_DATA_DIR) + "/darcy_train_16.pt";
  auto load = [&] { return io::load_pt(path); };
  auto load_nocrc = [&] { return io::load_pt(path, {.strict = false, .verify_crc = false}); };
  auto load_tensors = [&] {
    const auto d = io::load_pt(path);
    auto x = d.at("x").to<Tensor<float, 3>>();
    auto y = d.at("y").as<Tensor<float, 3>>();
    return x.numel() + y.numel();
  };
  const int reps = 51;
  const double t_load = bench::median_seconds(load, reps, 5);
  const double t_nocrc = bench::median_seconds(load_nocrc, reps, 5);
  const double t_tensors = bench::median_seconds(load_tensors, reps, 5);
  std::printf("file %s\n", path.c_str());
  std::printf("  load_pt (views, CRC checked)          %8.3f ms\n", 1e3 * t_load);
  std::printf("  load_pt (views, verify_crc = false)   %8.3f ms\n", 1e3 * t_nocrc);
  std::printf("  load_pt + contiguous float32 tensors  %8.3f ms\n", 1e3 * t_tensors);
  std::printf("result load_ms=%.4f load_nocrc_ms=%.4f load_tensors_ms=%.4f\n", 1e3 * t_load, 1e3 * t_nocrc,
              1e3 * t_tensors);
}
