// Activation offload (torch.autograd.graph.save_on_cpu(pin_memory=True)): inside the scope, the
// tensors that ops save for backward are copied to page-locked host memory as they are saved and
// copied back when backward needs them, so that device memory holds only what the forward pass
// still uses. On host backends (cpu) there is no other memory to move to: tensors stay in place.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "neuralop/autograd/saved_tensor_hooks.hpp"

namespace neuralop {

struct OffloadOptions {
  // Smaller saved tensors stay on the device: a copy costs more than it frees (torchtune's
  // OffloadActivations draws the line at 1 KiB too).
  std::size_t min_bytes = 1024;
};

struct OffloadStats {
  std::size_t packed = 0, packed_bytes = 0;      // saved tensors copied to host memory
  std::size_t shared = 0;                        // saves that reused such a copy (the same values)
  std::size_t unpacked = 0, unpacked_bytes = 0;  // copies brought back for backward
  std::size_t kept = 0;                          // saved tensors left in place (host backend, small)
};

// The hooks behind OffloadActivationsGuard. On cuda: a pinned buffer per saved tensor, from a
// cache of its own (cuda::allocate_offload), filled by a copy queued on the stream (the forward
// pass does not wait for it); unpack queues the copy back into a fresh device block. The copies
// run in order with the kernels (one stream): they do not overlap compute. The same values saved
// again while their copy lives (an FNO block's input, read by both skips) share that copy.
class HostOffloadHooks final : public SavedTensorHooks {
 public:
  explicit HostOffloadHooks(OffloadOptions o = {}) : o_(o) {}

  std::shared_ptr<void> pack(const SavedTensorInfo& t) override {
    if (!t.transfer || t.bytes < o_.min_bytes) {
      ++stats_.kept;
      return nullptr;
    }
    const Key key{t.counter.get(), t.data, t.bytes};
    if (t.counter) {
      if (auto it = copies_.find(key); it != copies_.end() && it->second.version == t.version)
        if (std::shared_ptr<void> copy = it->second.copy.lock()) {
          ++stats_.shared;
          return copy;
        }
    }
    const HostTransfer* tr = t.transfer;
    const std::size_t n = t.bytes;
    std::shared_ptr<void> host(tr->allocate(n), [tr, n](void* p) { tr->deallocate(p, n); });
    tr->to_host(host.get(), t.data, n);
    ++stats_.packed;
    stats_.packed_bytes += n;
    if (t.counter) remember(key, host, t.version);
    return host;
  }
  void unpack(const std::shared_ptr<void>& packed, void* dst, const SavedTensorInfo& t) override {
    t.transfer->from_host(dst, packed.get(), t.bytes);
    ++stats_.unpacked;
    stats_.unpacked_bytes += t.bytes;
  }

  // Counted on the threads that record and run backward; read them when both are done.
  const OffloadStats& stats() const { return stats_; }

 private:
  // A copy is named by the storage's version counter, the address and the size of the elements
  // (see SavedTensorInfo::counter), and valid for the version it was made at. The map holds the
  // copies weakly: the saved records own them.
  using Key = std::tuple<const void*, const void*, std::size_t>;
  struct Copy {
    std::weak_ptr<void> copy;
    std::uint64_t version = 0;
  };
  void remember(const Key& key, const std::shared_ptr<void>& copy, std::uint64_t version) {
    copies_[key] = Copy{copy, version};
    if (copies_.size() >= prune_at_) {  // drop the copies already freed
      std::erase_if(copies_, [](const auto& kv) { return kv.second.copy.expired(); });
      prune_at_ = std::max<std::size_t>(64, 2 * copies_.size());
    }
  }

  OffloadOptions o_;
  OffloadStats stats_;
  std::map<Key, Copy> copies_;
  std::size_t prune_at_ = 64;
};

// RAII scope around a forward pass (any ops on this thread): what they save for backward goes to
// host memory (see HostOffloadHooks). Backward may run inside or after the scope. Composes with
// checkpoint(): a checkpoint's saved inputs are offloaded, its recomputation is not.
class OffloadActivationsGuard {
 public:
  explicit OffloadActivationsGuard(OffloadOptions o = {})
      : hooks_(std::make_shared<HostOffloadHooks>(o)), guard_(hooks_) {}
  OffloadActivationsGuard(const OffloadActivationsGuard&) = delete;
  OffloadActivationsGuard& operator=(const OffloadActivationsGuard&) = delete;

  // The hooks (shared with the graph): their stats stay readable after the scope.
  const std::shared_ptr<HostOffloadHooks>& hooks() const { return hooks_; }
  const OffloadStats& stats() const { return hooks_->stats(); }

 private:
  std::shared_ptr<HostOffloadHooks> hooks_;
  SavedTensorHooksGuard guard_;
};

}  // namespace neuralop
