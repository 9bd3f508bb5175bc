// A tensor saved for backward: its version at save time (using it after an in-place change would
// give silently wrong gradients, so that throws instead), and, when saved-tensor hooks are in
// effect, what they made of it (autograd/saved_tensor_hooks.hpp).
#pragma once

#include <cstdint>
#include <memory>

#include "neuralop/autograd/grad_mode.hpp"
#include "neuralop/autograd/saved_tensor_hooks.hpp"
#include "neuralop/autograd/var.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop {

template <class T, std::size_t R, class B>
class Saved {
 public:
  Saved() = default;
  // The value of an op's input. The thread's hooks pack it when grad mode is on and v is the
  // result of an op; a leaf's value (a parameter, the caller's input) is kept as it is: it lives
  // outside the graph anyway, so moving a copy away would free nothing.
  explicit Saved(const Var<T, R, B>& v) : Saved(v.value(), !v.is_leaf()) {}
  // Another tensor a reverse rule reads (a result, an intermediate). Packed when `pack` (pass
  // whether the op records a node: some input requires grad) and grad mode is on.
  Saved(const Tensor<T, R, B>& t, bool pack) : tensor_(t), shape_(t.shape()), version_(t.version()) {
    if (!pack || !t.defined() || !current_saved_tensor_hooks() || !is_grad_enabled()) return;
    packed_ = detail::pack_saved<T, B>(t.data(), static_cast<std::size_t>(t.numel()), *t.storage());
    if (packed_) tensor_ = Tensor<T, R, B>();  // the buffer may now be freed; its counter is kept
  }

  const Shape<R>& shape() const { return shape_; }
  bool packed() const { return static_cast<bool>(packed_); }

  // The saved tensor (`op` names the reverse rule in the error). A packed one is unpacked into a
  // fresh tensor at every call, freed when the caller drops it.
  Tensor<T, R, B> get(const char* op) const {
    const std::uint64_t now = packed_ ? packed_.info.counter->load(std::memory_order_relaxed) : tensor_.version();
    if (now != version_)
      throw_error<autograd_error>("backward of '", op, "': a saved tensor of shape ", format_shape(shape_),
                                  " was modified in place after it was used (version ", now, ", saved at ", version_, ")");
    if (!packed_) return tensor_;
    auto t = Tensor<T, R, B>::empty(shape_);
    detail::unpack_saved(packed_, t.data());
    return t;
  }

 private:
  Tensor<T, R, B> tensor_;  // null when packed
  Shape<R> shape_{};
  std::uint64_t version_ = 0;
  detail::PackedBuffer packed_;
};

}  // namespace neuralop
