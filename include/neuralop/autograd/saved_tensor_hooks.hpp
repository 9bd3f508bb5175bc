// Saved-tensor hooks (torch.autograd.graph.saved_tensors_hooks): while a hooks object is
// installed on a thread, every tensor an op saves for backward goes through its pack() when the
// op records its node, and comes back through unpack() when that node's backward runs.
// Activation offload (autograd/offload.hpp) is one such object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "neuralop/core/scalar.hpp"
#include "neuralop/tensor/storage.hpp"

namespace neuralop {

// Moves bytes between a device backend's memory and host buffers that only these copies touch
// (page-locked on cuda). The copies are queued in order with the backend's other work and return
// at once; since nothing else reads or writes the host buffers, one may be deallocated as soon
// as the last copy using it has been queued.
struct HostTransfer {
  void* (*allocate)(std::size_t bytes);
  void (*deallocate)(void* p, std::size_t bytes) noexcept;
  void (*to_host)(void* host_dst, const void* src, std::size_t bytes);
  void (*from_host)(void* dst, const void* host_src, std::size_t bytes);
};

// A buffer an op saves for backward, as the hooks see it.
struct SavedTensorInfo {
  const void* data = nullptr;   // `bytes` contiguous bytes on the backend (null in unpack)
  std::size_t bytes = 0;
  const char* dtype = "";       // "float32", "complex64", ...
  const char* backend = "";     // the backend's name
  bool host_accessible = true;  // the host can read `data` (cpu)
  const HostTransfer* transfer = nullptr;  // device backends: to host memory and back
  // The storage's version counter and its value now: the same counter, data, bytes and version
  // are the same values (a tensor that several ops save), which hooks may keep once. The counter
  // lives as long as any saved record of the storage, so its address is not reused meanwhile.
  std::shared_ptr<const VersionCounter> counter;
  std::uint64_t version = 0;
};

class SavedTensorHooks {
 public:
  virtual ~SavedTensorHooks() = default;
  // An op saves t for backward (t.data is readable during the call): return what to keep in its
  // place, or null to keep the tensor itself (unpack is then not called for it).
  virtual std::shared_ptr<void> pack(const SavedTensorInfo& t) = 0;
  // Its node's backward needs it: write the t.bytes bytes that pack kept into dst, fresh memory
  // on t's backend. Called at every use (a graph run again with retain_graph unpacks again).
  virtual void unpack(const std::shared_ptr<void>& packed, void* dst, const SavedTensorInfo& t) = 0;
};

namespace detail {
inline std::shared_ptr<SavedTensorHooks>& saved_tensor_hooks_slot() {
  thread_local std::shared_ptr<SavedTensorHooks> hooks;
  return hooks;
}
}  // namespace detail

// The hooks in effect for ops recorded on this thread (null: none).
inline const std::shared_ptr<SavedTensorHooks>& current_saved_tensor_hooks() { return detail::saved_tensor_hooks_slot(); }

// RAII scope: the ops recorded on this thread inside it save through `hooks`. The innermost scope
// wins; a null `hooks` turns saving through hooks off (torch's disable_saved_tensors_hooks). A
// packed tensor keeps the hooks that packed it, so backward may run after the scope has ended.
class SavedTensorHooksGuard {
 public:
  explicit SavedTensorHooksGuard(std::shared_ptr<SavedTensorHooks> hooks)
      : previous_(std::exchange(detail::saved_tensor_hooks_slot(), std::move(hooks))) {}
  ~SavedTensorHooksGuard() { detail::saved_tensor_hooks_slot() = std::move(previous_); }
  SavedTensorHooksGuard(const SavedTensorHooksGuard&) = delete;
  SavedTensorHooksGuard& operator=(const SavedTensorHooksGuard&) = delete;

 private:
  std::shared_ptr<SavedTensorHooks> previous_;
};

namespace detail {

// The backend's host transfer, for backends that offer one (cuda); null for host backends.
template <class B>
const HostTransfer* host_transfer() {
  if constexpr (requires(std::size_t n, void* p, const void* c) {
                  B::allocate_offload(n);
                  B::deallocate_offload(p, n);
                  B::copy_to_offload(p, c, n);
                  B::copy_from_offload(p, c, n);
                }) {
    static const HostTransfer t{&B::allocate_offload, &B::deallocate_offload, &B::copy_to_offload, &B::copy_from_offload};
    return &t;
  } else {
    return nullptr;
  }
}

// What the hooks made of one saved buffer, with what it takes to get it back. Empty (false)
// when there were no hooks or they kept the buffer.
struct PackedBuffer {
  std::shared_ptr<SavedTensorHooks> hooks;
  std::shared_ptr<void> handle;
  SavedTensorInfo info;
  explicit operator bool() const { return handle != nullptr; }
};

// Offers the n elements at `data` (in `storage`) to the thread's hooks. A packed buffer keeps the
// storage's version counter (info.counter) for the in-place check.
template <class T, class B>
PackedBuffer pack_saved(const T* data, std::size_t n, const Storage<T, B>& storage) {
  const auto& hooks = current_saved_tensor_hooks();
  if (!hooks || n == 0) return {};
  SavedTensorInfo info{data,           n * sizeof(T),        dtype_name<T>(),           B::name, B::host_accessible,
                       host_transfer<B>(), storage.version_counter(), storage.version()};
  std::shared_ptr<void> handle = hooks->pack(info);
  if (!handle) return {};
  info.data = nullptr;
  return {hooks, std::move(handle), info};
}

// The packed elements back, in n fresh elements at dst.
template <class T>
void unpack_saved(const PackedBuffer& p, T* dst) {
  p.hooks->unpack(p.handle, dst, p.info);
}

}  // namespace detail
}  // namespace neuralop
