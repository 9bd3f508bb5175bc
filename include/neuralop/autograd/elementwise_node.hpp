// The graph node of a materialised elementwise expression. Its backward is one fused pass: it
// recomputes the tree's forward values and writes every input's gradient at once. Inputs that
// were broadcast get a full-size sink that is then summed down to their shape.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "neuralop/autograd/node.hpp"
#include "neuralop/autograd/saved_tensor_hooks.hpp"
#include "neuralop/autograd/var.hpp"
#include "neuralop/backend/loop.hpp"
#include "neuralop/tensor/evaluate.hpp"

namespace neuralop {

namespace detail {

// Sum a full-shape gradient down to a (right-aligned, possibly lower-rank) operand shape.
template <class T, std::size_t R, std::size_t r, class B>
Tensor<T, r, B> reduce_to_shape(const Tensor<T, R, B>& g, const Shape<r>& target) {
  static_assert(r <= R);
  constexpr std::size_t off = R - r;
  std::array<bool, (R > 0 ? R : 1)> reduced{};
  bool any = false;
  for (std::size_t d = 0; d != R; ++d) {
    reduced[d] = d < off ? g.shape()[d] > 1 : (target[d - off] == 1 && g.shape()[d] > 1);
    any = any || reduced[d];
  }
  if (!any) return g.template reshape<r>(target);
  auto out = Tensor<T, r, B>::empty(target);
  B::template reduce<T>(ReduceOp::sum, g.data(), g.shape().data(), reduced.data(), static_cast<int>(R), out.data());
  return out;
}

// How the gradient reaching a leaf depends on the output's, by the path from the root:
// - identity: through + (and the left side of -) only: the output's gradient itself. Such a
//   leaf of the output's shape and type, if it is the result of an op and appears once, is
//   handed the output's gradient tensor (shared, not copied: the slots add to a shared
//   gradient out of place), so `conv(x) + skip(x)` costs no backward pass;
// - linear: through +, -, negation and scaling by a constant: a gradient that does not depend
//   on any value, so the node need not keep the leaf alive (`conv(x) + skip(x)` keeps neither
//   summand, as PyTorch's add saves nothing);
// - value: anything else (unknown node types included): the backward reads the leaf's value.
enum class LeafGrad : unsigned char { identity, linear, value };
constexpr LeafGrad scaled(LeafGrad p) { return p == LeafGrad::identity ? LeafGrad::linear : p; }

template <class X>
struct LeafGradPath {
  static constexpr void fill(LeafGrad* path, int& i, LeafGrad) {
    for (int j = 0; j < X::template kernel_type<1>::n_leaves; ++j) path[i++] = LeafGrad::value;
  }
};
template <class T, std::size_t R, class B>
struct LeafGradPath<TensorLeaf<T, R, B>> {
  static constexpr void fill(LeafGrad* path, int& i, LeafGrad p) { path[i++] = p; }
};
template <class T, std::size_t R, class B>
struct LeafGradPath<VarLeaf<T, R, B>> {
  static constexpr void fill(LeafGrad* path, int& i, LeafGrad p) { path[i++] = p; }
};
template <class Op, class A>
struct LeafGradPath<UnaryExpr<Op, A>> {
  static constexpr void fill(LeafGrad* path, int& i, LeafGrad p) {
    LeafGradPath<A>::fill(path, i, std::is_same_v<Op, fn::Neg> ? scaled(p) : LeafGrad::value);
  }
};
template <class Op, class A, class Bx>
struct LeafGradPath<BinaryExpr<Op, A, Bx>> {
  template <class L>
  static constexpr bool is_scalar = requires { typename L::value_type; } && std::is_same_v<L, ScalarLeaf<typename L::value_type>>;
  static constexpr void fill(LeafGrad* path, int& i, LeafGrad p) {
    constexpr bool add = std::is_same_v<Op, fn::Add>, sub = std::is_same_v<Op, fn::Sub>;
    constexpr bool scaled_a = (std::is_same_v<Op, fn::Mul> || std::is_same_v<Op, fn::Div>) && is_scalar<Bx>;
    constexpr bool scaled_b = std::is_same_v<Op, fn::Mul> && is_scalar<A>;
    LeafGradPath<A>::fill(path, i, add || sub ? p : scaled_a ? scaled(p) : LeafGrad::value);
    LeafGradPath<Bx>::fill(path, i, add ? p : sub || scaled_b ? scaled(p) : LeafGrad::value);
  }
};
template <class X, int N>
constexpr std::array<LeafGrad, (N > 0 ? N : 1)> leaf_grad_paths() {
  std::array<LeafGrad, (N > 0 ? N : 1)> path{};
  int i = 0;
  LeafGradPath<X>::fill(path.data(), i, LeafGrad::identity);
  return path;
}

// What a dropped leaf reads in the recomputation: one zero, broadcast (its value is unused).
// It lives in the backend's memory: a device kernel cannot read a host static. The device
// copy is made once and never freed (it may be needed until exit, after static destructors).
template <class T, class B>
const T* zero_scalar() {
  if constexpr (B::host_accessible) {
    alignas(64) static const T zero[1] = {};
    return zero;
  } else {
    static const T* const zero = [] {
      T* p = B::template allocate<T>(1);
      B::template fill<T>(p, 1, T(0));
      return p;
    }();
    return zero;
  }
}

template <class X, std::size_t R>
class ElementwiseNode final : public Node {
 public:
  using T = typename X::value_type;
  using B = typename X::backend;

  static constexpr int n_leaves = X::template kernel_type<R>::n_leaves;
  static constexpr auto paths = leaf_grad_paths<X, n_leaves>();
  static constexpr auto needed = [] {  // the leaves whose values the fused backward reads
    std::array<bool, paths.size()> n{};
    for (std::size_t k = 0; k < n.size(); ++k) n[k] = paths[k] == LeafGrad::value;
    return n;
  }();

  ElementwiseNode(const X& x, const Shape<R>& shape) : x_(x), shape_(shape) {
    const bool hooks = current_saved_tensor_hooks() != nullptr;
    int i = 0;
    // x_ is this node's own copy: dropping the storage of the leaves whose values backward never
    // reads (they keep their gradient slots) frees those tensors as soon as nothing else holds them.
    // The leaves it reads go through the thread's saved-tensor hooks, except the values of leaf
    // Vars (parameters, inputs: they live outside the graph). A packed leaf holds no storage
    // until backward.
    x_->visit_leaves([&](const auto& leaf) {
      auto& tl = const_cast<std::remove_cvref_t<decltype(leaf.tensor_leaf())>&>(leaf.tensor_leaf());
      SavedLeaf& s = saved_.emplace_back();
      if (needed[std::size_t(i)]) {
        s.version = tl.owner->version();
        bool leaf_var = false;
        if constexpr (requires { leaf.slot; }) leaf_var = leaf.slot->grad_fn == nullptr;
        if (hooks && !leaf_var) pack_leaf(tl, s);
      } else {
        tl.owner.reset();
      }
      ++i;
    });
  }
  const char* name() const override { return "elementwise"; }
  void release() override {
    x_.reset();
    saved_.clear();
    released = true;
  }

  void backward(VarImplBase& out_base) override {
    auto& out = static_cast<VarImpl<T, R, B>&>(out_base);
    const X& x = *x_;
    check_versions(x);

    // One sink per distinct input needing a gradient, in leaf order; `finish` hands a sink's
    // contents to the input afterwards. Sinks: the input's own gradient (same shape, added in
    // place), a fresh output-shaped buffer (adopted), per-block partial sums in the input's
    // shape (small broadcast inputs such as channel biases), or an output-shaped buffer summed
    // down afterwards (large broadcast inputs).
    struct Sink {
      const void* slot = nullptr;
      void* data = nullptr;
      bool accumulate = false;
      index_t block_stride = 0;
      Strides<R> strides{};
    };
    const index_t n_out = numel(shape_);
    const index_t n_blocks = B::elementwise_blocks(n_out);
    std::vector<Sink> sinks;  // per leaf (data null: no gradient)
    std::vector<std::function<void()>> finish;
    // Inputs handed the output's gradient as it is (see LeafGrad): an op's result (a
    // leaf's gradient is the user's and the optimizer's), same shape and type, appearing once.
    std::array<const void*, (n_leaves > 0 ? n_leaves : 1)> leaf_slots{};
    {
      int j = 0;
      x.visit_leaves([&](const auto& leaf) {
        if constexpr (requires { leaf.slot; }) leaf_slots[std::size_t(j)] = leaf.slot.get();
        ++j;
      });
    }
    bool any_sink = false;
    int li = 0;
    x.visit_leaves([&](const auto& leaf) {
      Sink s;
      const int i = li++;
      if constexpr (requires { leaf.slot; }) {
        auto& slot = *leaf.slot;
        if (slot.requires_grad) {
          using L = std::remove_cvref_t<decltype(leaf)>;
          bool shared = false;
          if constexpr (std::is_same_v<typename L::value_type, T> && L::rank == R) {
            if (paths[std::size_t(i)] == LeafGrad::identity && slot.grad_fn && slot.shape == shape_ &&
                std::count(leaf_slots.begin(), leaf_slots.begin() + n_leaves, leaf_slots[std::size_t(i)]) == 1) {
              finish.push_back([sp = leaf.slot, &out] { sp->accumulate_grad(out.pass_grad); });
              shared = true;
            }
          }
          if (!shared) {
            s.slot = &slot;
            for (const Sink& prev : sinks)
              if (prev.slot == &slot) {  // repeated input: add to the same sink
                s = prev;
                s.accumulate = true;
              }
            if (!s.data) make_sink(leaf, s, n_out, n_blocks, finish);
            any_sink = true;
          }
        }
      }
      sinks.push_back(s);
    });
    if (!any_sink) {  // every gradient is the output's own: no pass
      for (auto& f : finish) f();
      return;
    }
    // Packed leaves come back for the pass and are dropped again after it.
    struct Unpacked {
      ElementwiseNode& node;
      explicit Unpacked(ElementwiseNode& n) : node(n) { node.unpack_leaves(true); }
      ~Unpacked() { node.unpack_leaves(false); }
      Unpacked(const Unpacked&) = delete;
      Unpacked& operator=(const Unpacked&) = delete;
    } unpacked(*this);
    using KTree = typename X::template kernel_type<R>;
    kexpr::BackwardKernel<T, R, KTree> k{};
    k.e = x.kernel(shape_);
    k.adj.base = out.pass_grad.data();
    const auto cst = contiguous_strides(shape_);
    for (std::size_t d = 0; d != R; ++d) k.adj.st[d] = cst[d];
    std::size_t i = 0;
    auto bind = [&](auto& kleaf) {
      using LT = std::remove_pointer_t<decltype(kleaf.sink)>;
      if (!needed[i]) {
        kleaf.base = zero_scalar<LT, B>();
        for (auto& st : kleaf.st) st = 0;
      }
      const Sink& s = sinks[i++];
      kleaf.sink0 = kleaf.sink = static_cast<LT*>(s.data);
      kleaf.accumulate = s.accumulate;
      kleaf.sink_block_stride = s.block_stride;
      for (std::size_t d = 0; d != R; ++d) kleaf.sst[d] = s.data ? s.strides[d] : 0;
    };
    k.e.for_each_leaf(bind);
    index_t* const extra[2] = {k.adj.st, k.adj.sst};
    const Loop<R> loop = coalesce_kernel(shape_, k.e, extra);
    k.nd = loop.ndim;
    B::elementwise(loop, k);
    for (auto& f : finish) f();
  }

 private:
  template <class Leaf, class S>
  void make_sink(const Leaf& leaf, S& s, index_t n_out, index_t n_blocks, std::vector<std::function<void()>>& finish) {
    using LT = typename Leaf::value_type;
    constexpr std::size_t LR = Leaf::rank;
    auto& slot = *leaf.slot;
    auto sp = leaf.slot;
    const auto out_strides = contiguous_strides(shape_);
    bool direct = false;
    if constexpr (LR == R) direct = slot.shape == shape_;
    if (direct) {
      s.strides = out_strides;
      if constexpr (LR == R) {
        auto& target = slot.target();
        if (target.defined() && target.storage().use_count() == 1) {
          s.data = target.data();  // add straight into the existing gradient
          s.accumulate = true;
          target.storage()->bump_version();
        } else {
          auto buf = Tensor<LT, R, B>::empty(shape_);
          s.data = buf.data();
          finish.push_back([sp, buf] { sp->accumulate_grad(buf); });
        }
      }
      return;
    }
    const index_t n_leaf = numel(slot.shape);
    if (n_blocks * n_leaf <= std::max<index_t>(n_out / 4, 1 << 16)) {
      Tensor<LT, 2, B> partial({n_blocks, n_leaf});
      s.data = partial.data();
      s.accumulate = true;
      s.block_stride = n_leaf;
      s.strides = broadcast_strides(shape_, slot.shape, contiguous_strides(slot.shape));
      finish.push_back([sp, partial, n_leaf] {
        sp->accumulate_grad(reduce_to_shape(partial, Shape<1>{n_leaf}).template reshape<LR>(sp->shape));
      });
    } else {
      auto buf = Tensor<LT, R, B>::empty(shape_);
      s.data = buf.data();
      s.strides = out_strides;
      finish.push_back([sp, buf] { sp->accumulate_grad(reduce_to_shape(buf, sp->shape)); });
    }
  }

  // A leaf backward reads: its version when recorded and, when the hooks packed it, what they
  // kept of the elements it spans (data + lo .. data + lo + n - 1; strides may be negative).
  struct SavedLeaf {
    std::uint64_t version = 0;
    PackedBuffer packed;  // its info.counter: the storage's, for the version check
    index_t lo = 0;
    std::size_t n = 0;
  };

  template <class TL>
  static void pack_leaf(TL& tl, SavedLeaf& s) {
    using LT = typename TL::value_type;
    index_t lo = 0, hi = 0;
    for (std::size_t d = 0; d != TL::rank; ++d) {
      if (tl.shape[d] == 0) return;
      const index_t span = (tl.shape[d] - 1) * tl.strides[d];
      (span < 0 ? lo : hi) += span;
    }
    s.packed = pack_saved<LT, B>(tl.data + lo, static_cast<std::size_t>(hi - lo + 1), *tl.owner);
    if (!s.packed) return;
    s.lo = lo;
    s.n = static_cast<std::size_t>(hi - lo + 1);
    tl.owner.reset();
    tl.data = nullptr;
  }

  // Packed leaves: fresh storage holding their elements (on), or none again (off).
  void unpack_leaves(bool on) {
    std::size_t i = 0;
    x_->visit_leaves([&](const auto& leaf) {
      const SavedLeaf& s = saved_[i++];
      if (!s.packed) return;
      auto& tl = const_cast<std::remove_cvref_t<decltype(leaf.tensor_leaf())>&>(leaf.tensor_leaf());
      using LT = typename std::remove_cvref_t<decltype(tl)>::value_type;
      if (on) {
        auto st = std::make_shared<Storage<LT, B>>(s.n);
        unpack_saved(s.packed, st->data());
        tl.data = st->data() - s.lo;
        tl.owner = std::move(st);
      } else {
        tl.owner.reset();
        tl.data = nullptr;
      }
    });
  }

  void check_versions(const X& x) const {
    std::size_t i = 0;
    x.visit_leaves([&](const auto& leaf) {
      if (!needed[i]) {
        ++i;
        return;
      }
      const SavedLeaf& s = saved_[i++];
      const auto& tl = leaf.tensor_leaf();
      const std::uint64_t now = s.packed ? s.packed.info.counter->load(std::memory_order_relaxed) : tl.owner->version();
      if (now != s.version)
        throw_error<autograd_error>("backward of an elementwise expression: its input of shape ",
                                    format_shape(tl.shape), " was modified in place after it was used (version ", now,
                                    ", saved at ", s.version, ")");
    });
  }

  std::optional<X> x_;
  Shape<R> shape_;
  std::vector<SavedLeaf> saved_;  // per leaf
};

template <class X, std::size_t R>
void record_elementwise(const std::shared_ptr<VarImplBase>& out, const X& x, const Shape<R>& shape) {
  std::vector<std::shared_ptr<VarImplBase>> inputs;
  x.visit_leaves([&](const auto& leaf) {
    if constexpr (requires { leaf.slot; })
      if (leaf.slot->requires_grad) {
        for (const auto& p : inputs)
          if (p.get() == leaf.slot.get()) return;
        inputs.push_back(leaf.slot);
      }
  });
  if (inputs.empty()) return;
  auto node = std::make_shared<ElementwiseNode<X, R>>(x, shape);
  node->inputs = std::move(inputs);
  out->grad_fn = std::move(node);
  out->requires_grad = true;
}

}  // namespace detail
}  // namespace neuralop
