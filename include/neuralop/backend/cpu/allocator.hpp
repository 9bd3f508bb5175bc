// Host memory for cpu tensors: 64-byte aligned blocks, with large blocks cached for reuse so
// a steady-state training step does not go back to mmap and page faults every iteration.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string_view>

#include "neuralop/core/error.hpp"

namespace neuralop::cpu_detail {

struct MemoryStats {
  std::size_t in_use = 0;       // bytes held by live tensors
  std::size_t peak_in_use = 0;  // high-water mark of in_use since the last reset
  std::size_t cached = 0;       // bytes kept for reuse
};

class CachingAllocator {
 public:
  static constexpr std::size_t alignment = 64;
  static constexpr std::size_t min_cached = std::size_t(1) << 16;

  static CachingAllocator& instance() {
    static CachingAllocator a;
    return a;
  }

  // Sizes of 64 KiB and more round up to a multiple of 1/8 of their power of two (<= 12.5%
  // waste) so that slightly different requests share cached blocks.
  static std::size_t round_size(std::size_t bytes) {
    if (bytes < min_cached) return std::max<std::size_t>(bytes, 1);
    const std::size_t step = std::max<std::size_t>(std::bit_floor(bytes) / 8, 4096);
    return (bytes + step - 1) / step * step;
  }

  // Debug builds (no NDEBUG, or NEURALOP_POISON_ALLOCATIONS defined) fill every new block
  // with 0xFF bytes, a NaN in every floating type, so reading memory never written shows up
  // as NaN in the results instead of as whatever the system happened to hand out.
  void* allocate(std::size_t bytes) {
    void* p = allocate_raw_block(bytes);
#if !defined(NDEBUG) || defined(NEURALOP_POISON_ALLOCATIONS)
    std::memset(p, 0xFF, bytes);
#endif
    return p;
  }

 private:
  void* allocate_raw_block(std::size_t bytes) {
    const std::size_t size = round_size(bytes);
    {
      std::lock_guard lock(mutex_);
      if (size >= min_cached) {
        auto it = free_.find(size);
        if (it != free_.end()) {
          void* p = it->second;
          free_.erase(it);
          stats_.cached -= size;
          note_in_use(size);
          return p;
        }
      }
    }
    if (size >= min_cached && trim_on_miss()) trim(size);  // small blocks are never cached: no miss
    void* p = raw_allocate(size);
    if (!p) {
      empty_cache();
      p = raw_allocate(size);
    }
    if (!p) throw_error<error>("cpu: out of memory allocating ", bytes, " bytes");
    std::lock_guard lock(mutex_);
    note_in_use(size);
    return p;
  }

 public:

  void deallocate(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    const std::size_t size = round_size(bytes);
    {
      std::lock_guard lock(mutex_);
      stats_.in_use -= size;
      if (size >= min_cached && stats_.cached + size <= cache_limit_) {
        free_.emplace(size, p);
        stats_.cached += size;
        return;
      }
    }
    ::operator delete(p, std::align_val_t(alignment));
  }

  // Return all cached blocks to the system.
  void empty_cache() noexcept {
    std::lock_guard lock(mutex_);
    for (auto& [size, p] : free_) ::operator delete(p, std::align_val_t(alignment));
    free_.clear();
    stats_.cached = 0;
  }

  // Trim on miss: a request no cached block fits first returns idle blocks of other sizes to
  // the system, largest first, as many bytes as it asks for. The footprint (live + cached) then
  // grows only when the cache is empty, so it peaks near the peak of live tensors, at the cost
  // of fresh pages when the sizes change from step to step. Off by default (a cache of whole
  // steps is the fast choice); for runs where memory is what counts, with activation
  // checkpointing say (NEURALOP_CPU_CACHE_TRIM=1, or set_trim_on_miss). docs/performance.md
  // has what it saved and cost on FNO-2D (c).
  void set_trim_on_miss(bool on) { trim_on_miss_.store(on, std::memory_order_relaxed); }
  bool trim_on_miss() const { return trim_on_miss_.load(std::memory_order_relaxed); }

  MemoryStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard lock(mutex_);
    stats_.peak_in_use = stats_.in_use;
  }
  void set_cache_limit(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      cache_limit_ = bytes;
    }
    empty_cache();
  }

 private:
  CachingAllocator() {
    if (const char* env = std::getenv("NEURALOP_CPU_CACHE_BYTES")) cache_limit_ = std::strtoull(env, nullptr, 10);
    if (const char* env = std::getenv("NEURALOP_CPU_CACHE_TRIM")) trim_on_miss_ = std::string_view(env) == "1";
  }
  ~CachingAllocator() { empty_cache(); }

  void trim(std::size_t bytes) noexcept {
    std::lock_guard lock(mutex_);
    std::size_t freed = 0;
    while (freed < bytes && !free_.empty()) {
      auto it = std::prev(free_.end());
      ::operator delete(it->second, std::align_val_t(alignment));
      freed += it->first;
      stats_.cached -= it->first;
      free_.erase(it);
    }
  }

  static void* raw_allocate(std::size_t size) noexcept {
    return ::operator new(size, std::align_val_t(alignment), std::nothrow);
  }
  void note_in_use(std::size_t size) {
    stats_.in_use += size;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  }

  std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;
  MemoryStats stats_;
  std::size_t cache_limit_ = std::size_t(2) << 30;  // 2 GiB of idle blocks at most
  std::atomic<bool> trim_on_miss_{false};
};

}  // namespace neuralop::cpu_detail
