// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011): element i of a fill is a
// pure function of (seed, offset, i), so results do not depend on thread count or backend.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <type_traits>

#include "neuralop/core/config.hpp"

namespace neuralop {

namespace detail {

struct Philox4x32 {
  static constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  static constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;

  // The full generator: 2-word key, 4-word counter (Random123's philox4x32_10).
  NEURALOP_HD static std::array<std::uint32_t, 4> run(std::uint32_t k0, std::uint32_t k1, std::uint32_t c0,
                                                       std::uint32_t c1, std::uint32_t c2, std::uint32_t c3) {
    for (int r = 0; r < 10; ++r) {
      const std::uint64_t p0 = std::uint64_t(M0) * c0, p1 = std::uint64_t(M1) * c2;
      const std::uint32_t hi0 = std::uint32_t(p0 >> 32), lo0 = std::uint32_t(p0);
      const std::uint32_t hi1 = std::uint32_t(p1 >> 32), lo1 = std::uint32_t(p1);
      c0 = hi1 ^ c1 ^ k0;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ k1;
      c3 = lo0;
      k0 += W0;
      k1 += W1;
    }
    return {c0, c1, c2, c3};
  }
  // Our streams: key = seed, counter = (64-bit position, 0, 0).
  NEURALOP_HD static std::array<std::uint32_t, 4> run(std::uint64_t key64, std::uint64_t ctr64) {
    return run(static_cast<std::uint32_t>(key64), static_cast<std::uint32_t>(key64 >> 32),
               static_cast<std::uint32_t>(ctr64), static_cast<std::uint32_t>(ctr64 >> 32), 0, 0);
  }
};

// [0, 1) with 24 (float) or 53 (double) random bits.
NEURALOP_HD inline float u01_float(std::uint32_t a) { return float(a >> 8) * 0x1p-24f; }
NEURALOP_HD inline double u01_double(std::uint32_t a, std::uint32_t b) {
  return (double(a >> 5) * 67108864.0 + double(b >> 6)) * 0x1p-53;
}

}  // namespace detail

enum class Distribution { uniform, normal };

// How many values of real type R one Philox call (128 bits) yields for a distribution.
template <class R>
inline constexpr int values_per_counter = std::is_same_v<R, float> ? 4 : 2;

// The values for counter `ctr`: uniform in [0,1) or standard normal (Box-Muller, computed in
// double so float and double normals come from the same formula).
template <class R, Distribution D>
NEURALOP_HD inline std::array<R, values_per_counter<R>> random_block(std::uint64_t seed, std::uint64_t ctr) {
  const auto w = detail::Philox4x32::run(seed, ctr);
  std::array<R, values_per_counter<R>> out{};
  if constexpr (std::is_same_v<R, float>) {
    float u[4] = {detail::u01_float(w[0]), detail::u01_float(w[1]), detail::u01_float(w[2]),
                  detail::u01_float(w[3])};
    if constexpr (D == Distribution::uniform) {
      for (int i = 0; i < 4; ++i) out[i] = u[i];
    } else {
      for (int p = 0; p < 2; ++p) {
        const double r = std::sqrt(-2.0 * std::log(1.0 - double(u[2 * p])));
        const double th = 6.283185307179586 * double(u[2 * p + 1]);
        out[2 * p] = float(r * std::cos(th));
        out[2 * p + 1] = float(r * std::sin(th));
      }
    }
  } else {
    const double u0 = detail::u01_double(w[0], w[1]), u1 = detail::u01_double(w[2], w[3]);
    if constexpr (D == Distribution::uniform) {
      out[0] = u0;
      out[1] = u1;
    } else {
      const double r = std::sqrt(-2.0 * std::log(1.0 - u0));
      const double th = 6.283185307179586 * u1;
      out[0] = r * std::cos(th);
      out[1] = r * std::sin(th);
    }
  }
  return out;
}

// A seeded stream: each fill reserves a range of counters, so consecutive fills differ and the
// state (seed, offset) is two integers that checkpoints can save and restore exactly.
class Generator {
 public:
  struct State {
    std::uint64_t seed = 0;
    std::uint64_t offset = 0;
    bool operator==(const State&) const = default;
  };

  explicit Generator(std::uint64_t seed = 0) : state_{seed, 0} {}
  Generator(const Generator& o) : state_(o.state()) {}
  Generator& operator=(const Generator& o) {
    set_state(o.state());
    return *this;
  }

  void manual_seed(std::uint64_t seed) { set_state({seed, 0}); }
  std::uint64_t seed() const { return state().seed; }
  State state() const {
    std::lock_guard lock(mutex_);
    return state_;
  }
  void set_state(State s) {
    std::lock_guard lock(mutex_);
    state_ = s;
  }
  // Reserve n counters; returns the first. Thread-safe.
  std::uint64_t reserve(std::uint64_t n) {
    std::lock_guard lock(mutex_);
    const std::uint64_t first = state_.offset;
    state_.offset += n;
    return first;
  }

 private:
  State state_;
  mutable std::mutex mutex_;
};

// The process-wide generator used when no generator is passed (torch.manual_seed analogue).
inline Generator& default_generator() {
  static Generator g(0);
  return g;
}
inline void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace neuralop
