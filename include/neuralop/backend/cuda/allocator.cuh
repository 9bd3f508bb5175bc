// Device and pinned host memory for the cuda backend: blocks rounded to size classes and kept
// in free lists for reuse, so a steady-state training step makes no cudaMalloc (which also
// synchronizes the device) and no cudaHostAlloc.
//
// Reuse is stream-ordered: a block freed while queued kernels still use it can be handed to
// later work at once, because all backend work runs in order on cuda_detail::stream().
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <map>
#include <mutex>

#include "neuralop/backend/cuda.hpp"
#include "neuralop/backend/cuda/runtime.cuh"
#include "neuralop/core/error.hpp"

namespace neuralop::cuda_detail {

// Requests below 1 MiB round up to 512 bytes; larger ones to a multiple of 1/8 of their power
// of two (<= 12.5% waste), so that slightly different requests share cached blocks.
inline std::size_t round_size(std::size_t bytes) {
  constexpr std::size_t small = std::size_t(1) << 20, quantum = 512;
  if (bytes < small) return std::max<std::size_t>((bytes + quantum - 1) / quantum * quantum, quantum);
  const std::size_t step = std::bit_floor(bytes) / 8;
  return (bytes + step - 1) / step * step;
}

// Free lists keyed by rounded size over a raw allocator (cudaMalloc or cudaHostAlloc).
template <class Raw>
class CachingAllocator {
 public:
  void* allocate(std::size_t bytes) {
    const std::size_t size = round_size(bytes);
    {
      std::lock_guard lock(mutex_);
      if (auto it = free_.find(size); it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        stats_.cached -= size;
        note_in_use(size);
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t e = Raw::allocate(&p, size);
    if (e == cudaErrorMemoryAllocation) {  // give the cached blocks back and try once more
      (void)cudaGetLastError();
      empty_cache();
      e = Raw::allocate(&p, size);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      std::size_t free_b = 0, total_b = 0;
      (void)cudaMemGetInfo(&free_b, &total_b);
      (void)cudaGetLastError();
      const MemoryStats s = stats();
      throw_error<backend_error>("cuda: ", Raw::name, " of ", bytes, " bytes (", size, " rounded) failed: ",
                                 cudaGetErrorName(e), " (", cudaGetErrorString(e), "); in use ", s.in_use,
                                 " bytes, cached ", s.cached, ", device free ", free_b, " of ", total_b);
    }
    std::lock_guard lock(mutex_);
    stats_.reserved += size;
    ++stats_.device_allocs;
    note_in_use(size);
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    const std::size_t size = round_size(bytes);
    std::lock_guard lock(mutex_);
    stats_.in_use -= size;
    stats_.cached += size;
    free_.emplace(size, p);
  }

  // Return every cached block (cudaFree waits for the device, so queued work that last used a
  // block has finished before it goes).
  void empty_cache() noexcept {
    std::lock_guard lock(mutex_);
    for (auto& [size, p] : free_) {
      (void)Raw::deallocate(p);
      stats_.reserved -= size;
    }
    free_.clear();
    stats_.cached = 0;
  }

  MemoryStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard lock(mutex_);
    stats_.peak_in_use = stats_.in_use;
  }

 private:
  void note_in_use(std::size_t size) {
    stats_.in_use += size;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  }
  std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;
  MemoryStats stats_;
};

struct DeviceRaw {
  static constexpr const char* name = "cudaMalloc";
  static cudaError_t allocate(void** p, std::size_t n) { return cudaMalloc(p, n); }
  static cudaError_t deallocate(void* p) { return cudaFree(p); }
};
struct PinnedRaw {
  static constexpr const char* name = "cudaHostAlloc";
  static cudaError_t allocate(void** p, std::size_t n) { return cudaHostAlloc(p, n, cudaHostAllocDefault); }
  static cudaError_t deallocate(void* p) { return cudaFreeHost(p); }
};

// Never destroyed: blocks may still be returned by static tensors during exit, and freeing
// after the CUDA runtime has shut down fails; the driver reclaims everything at exit.
inline CachingAllocator<DeviceRaw>& device_allocator() {
  static auto* a = new CachingAllocator<DeviceRaw>();
  return *a;
}
inline CachingAllocator<PinnedRaw>& pinned_allocator() {
  static auto* a = new CachingAllocator<PinnedRaw>();
  return *a;
}
// Activation offload's pinned buffers: apart from pinned_allocator() because the host never
// touches them (only copies queued on the stream do), so they are reused in stream order.
inline CachingAllocator<PinnedRaw>& offload_allocator() {
  static auto* a = new CachingAllocator<PinnedRaw>();
  return *a;
}

}  // namespace neuralop::cuda_detail
