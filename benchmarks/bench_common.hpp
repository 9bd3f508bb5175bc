// Timing helpers shared by the benchmarks: median of repeated runs after warm-up, and the
// machine's memory-copy bandwidth measured in the same process.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "neuralop/neuralop.hpp"

namespace bench {

#ifdef NEURALOP_TEST_BUILD
// A test build (-Dtest_build=true) compiles the benchmarks at -O1 only to check they build.
inline const bool test_build_warning = [] {
  std::fprintf(stderr, "WARNING: this benchmark was compiled at -O1 by a test build (meson option test_build): "
                       "its timings mean nothing. Benchmark from a release build without test_build.\n");
  return true;
}();
#endif

// Median wall time in seconds of f() over `reps` runs after `warmup` runs.
template <class F>
double median_seconds(F&& f, int reps = 7, int warmup = 2) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Copy bandwidth in GB/s (bytes read + bytes written per second) for a buffer of `bytes`:
// single-threaded std::memcpy and a memcpy split over the cpu backend's threads.
struct CopyBandwidth {
  double single_thread;
  double all_threads;
};
inline CopyBandwidth memcpy_bandwidth(std::size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 2);
  const double t1 = median_seconds([&] { std::memcpy(b.data(), a.data(), bytes); });
  const double tn = median_seconds([&] { neuralop::cpu::copy(b.data(), a.data(), bytes); });
  return {2.0 * double(bytes) / t1 / 1e9, 2.0 * double(bytes) / tn / 1e9};
}

}  // namespace bench
