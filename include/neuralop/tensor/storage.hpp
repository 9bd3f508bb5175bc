// A reference-counted buffer on one backend, with a version counter bumped by every in-place
// write made through the Tensor API (autograd checks it to refuse stale saved values).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace neuralop {

using VersionCounter = std::atomic<std::uint64_t>;

template <class T, class B>
class Storage {
 public:
  explicit Storage(std::size_t n) : data_(B::template allocate<T>(n)), size_(n) {}
  ~Storage() { B::template deallocate<T>(data_, size_); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::uint64_t version() const { return version_->load(std::memory_order_relaxed); }
  void bump_version() { version_->fetch_add(1, std::memory_order_relaxed); }
  // The counter alone, for records that outlive the buffer: a tensor saved for backward and
  // moved off the device (autograd/saved_tensor_hooks.hpp) still sees later in-place writes.
  std::shared_ptr<const VersionCounter> version_counter() const { return version_; }

 private:
  // First, so that it exists before the buffer is allocated (no leak if allocating throws).
  std::shared_ptr<VersionCounter> version_ = std::make_shared<VersionCounter>(0);
  T* data_;
  std::size_t size_;
};

}  // namespace neuralop
