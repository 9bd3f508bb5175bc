// FNO with activation_checkpointing: the same outputs and bitwise the same gradients as without
// (2-D and 3-D; with norms, dropout, pre-activation, padding), BatchNorm's running statistics
// updated once per step, the same parameters, and no checkpointing in evaluation. Under
// saved-tensor hooks (with and without checkpointing): every activation packed and unpacked, the
// same outputs and gradients.
#include <doctest/doctest.h>

#include <complex>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../helpers.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/base.hpp"

using namespace neuralop;

namespace {

// Every gradient (grads) or every buffer (BatchNorm's running statistics), as bytes, in order.
std::vector<unsigned char> state_bytes(const nn::Module& m, bool grads) {
  std::vector<unsigned char> out;
  auto append = [&](const io::RawTensor& t) {
    if (io::is_complex_dtype(t.dtype)) {
      const auto v = t.to_vector<std::complex<float>>();
      const auto* p = reinterpret_cast<const unsigned char*>(v.data());
      out.insert(out.end(), p, p + v.size() * sizeof(v[0]));
    } else if (t.dtype == io::DType::int64) {
      const auto v = t.to_vector<std::int64_t>();
      const auto* p = reinterpret_cast<const unsigned char*>(v.data());
      out.insert(out.end(), p, p + v.size() * sizeof(v[0]));
    } else {
      const auto v = t.to_vector<float>();
      const auto* p = reinterpret_cast<const unsigned char*>(v.data());
      out.insert(out.end(), p, p + v.size() * sizeof(v[0]));
    }
  };
  if (grads) {
    for (const auto& entry : m.named_parameters()) {  // no structured binding: clang 14 cannot capture one
      const std::string& name = entry.first;
      const auto g = entry.second->grad_raw();
      REQUIRE_MESSAGE(g.has_value(), name);
      append(*g);
    }
  } else {
    for (const auto& [name, b] : m.named_buffers()) append(b->to_raw());
  }
  return out;
}

// Keeps a host copy of every saved buffer, counting.
struct CopyingHooks final : SavedTensorHooks {
  int packs = 0, unpacks = 0;
  std::size_t pack_bytes = 0, unpack_bytes = 0;
  std::shared_ptr<void> pack(const SavedTensorInfo& t) override {
    auto copy = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(t.data),
                                                             static_cast<const unsigned char*>(t.data) + t.bytes);
    ++packs;
    pack_bytes += t.bytes;
    return copy;
  }
  void unpack(const std::shared_ptr<void>& packed, void* dst, const SavedTensorInfo& t) override {
    const auto& copy = *static_cast<const std::vector<unsigned char>*>(packed.get());
    REQUIRE(copy.size() == t.bytes);
    std::memcpy(dst, copy.data(), t.bytes);
    ++unpacks;
    unpack_bytes += t.bytes;
  }
};

struct Step {
  std::vector<float> y, x_grad;
  std::vector<unsigned char> grads, state;
  index_t n_params = 0;
  std::size_t n_named = 0;
};

template <std::size_t D>
Step step(FNOOptions o, bool ckpt, const Shape<D + 2>& xs, int steps = 1,
          const std::shared_ptr<SavedTensorHooks>& hooks = nullptr) {
  o.activation_checkpointing = ckpt;
  Generator init(42);
  FNO<D> model(o, init);
  CHECK(model.activation_checkpointing() == ckpt);
  Generator gx(7);
  const auto xv = Tensor<float, D + 2>::normal(xs, 0, 1, gx);
  Step s;
  manual_seed(123);  // dropout masks
  for (int k = 0; k < steps; ++k) {
    model.zero_grad();
    SavedTensorHooksGuard scope(hooks);
    Var<float, D + 2> x(xv, true);
    const auto y = model(x);
    const auto r = Tensor<float, D + 2>::normal(y.shape(), 0, 1, gx);
    sum(Var<float, D + 2>(y * r)).backward();
    s.y = y.value().to_vector();
    s.x_grad = x.grad().to_vector();
  }
  s.grads = state_bytes(model, true);
  s.state = state_bytes(model, false);
  s.n_params = model.n_parameters();
  s.n_named = model.named_parameters().size();
  return s;
}

template <std::size_t D>
void check_same(const FNOOptions& o, const Shape<D + 2>& xs, int steps = 1) {
  const Step a = step<D>(o, false, xs, steps), b = step<D>(o, true, xs, steps);
  REQUIRE(a.y.size() == b.y.size());
  CHECK(std::memcmp(a.y.data(), b.y.data(), a.y.size() * sizeof(float)) == 0);
  REQUIRE(a.x_grad.size() == b.x_grad.size());
  CHECK(std::memcmp(a.x_grad.data(), b.x_grad.data(), a.x_grad.size() * sizeof(float)) == 0);
  CHECK(a.grads == b.grads);
  CHECK(a.state == b.state);  // BatchNorm's running statistics and counter too
  CHECK(a.n_params == b.n_params);
  CHECK(a.n_named == b.n_named);
}

}  // namespace

TEST_CASE("FNO-2D with activation checkpointing: bitwise the gradients of the plain model") {
  FNOOptions o{.n_modes = {4, 4}, .in_channels = 2, .out_channels = 1, .hidden_channels = 8, .n_layers = 3};
  SUBCASE("default options") { check_same<2>(o, {2, 2, 12, 10}); }
  SUBCASE("batch norm, two steps (running statistics updated once per step)") {
    o.norm = "batch_norm";
    check_same<2>(o, {3, 2, 12, 10}, 2);
  }
  SUBCASE("instance norm, pre-activation, domain padding") {
    o.norm = "instance_norm";
    o.preactivation = true;
    o.domain_padding = {0.25};
    check_same<2>(o, {2, 2, 12, 8});
  }
  SUBCASE("channel MLP dropout: the masks are replayed") {
    o.channel_mlp_dropout = 0.3;
    check_same<2>(o, {2, 2, 12, 10}, 2);
  }
}

TEST_CASE("FNO-2D under saved-tensor hooks: every activation packed and unpacked, bitwise the same gradients") {
  FNOOptions o{.n_modes = {4, 4}, .in_channels = 2, .out_channels = 1, .hidden_channels = 8, .n_layers = 3};
  auto check = [](const FNOOptions& opt, const Shape<4>& xs) {
    const Step plain = step<2>(opt, false, xs);
    int packs_plain = 0;
    for (bool ckpt : {false, true}) {
      CAPTURE(ckpt);
      auto hooks = std::make_shared<CopyingHooks>();
      const Step h = step<2>(opt, ckpt, xs, 1, hooks);
      CHECK(hooks->packs > 0);
      CHECK(hooks->unpacks == hooks->packs);
      CHECK(hooks->unpack_bytes == hooks->pack_bytes);
      if (!ckpt) packs_plain = hooks->packs;
      else CHECK(hooks->packs < packs_plain);  // a checkpointed layer saves only its input
      REQUIRE(plain.y.size() == h.y.size());
      CHECK(std::memcmp(plain.y.data(), h.y.data(), plain.y.size() * sizeof(float)) == 0);
      REQUIRE(plain.x_grad.size() == h.x_grad.size());
      CHECK(std::memcmp(plain.x_grad.data(), h.x_grad.data(), plain.x_grad.size() * sizeof(float)) == 0);
      CHECK(plain.grads == h.grads);
    }
  };
  SUBCASE("default options") { check(o, {2, 2, 12, 10}); }
  SUBCASE("instance norm, pre-activation, domain padding") {
    o.norm = "instance_norm";
    o.preactivation = true;
    o.domain_padding = {0.25};
    check(o, {2, 2, 12, 8});
  }
}

TEST_CASE("FNO-3D with activation checkpointing: bitwise the gradients of the plain model") {
  FNOOptions o{.n_modes = {4, 4, 2}, .in_channels = 1, .out_channels = 2, .hidden_channels = 6, .n_layers = 2};
  SUBCASE("default options") { check_same<3>(o, {2, 1, 8, 8, 6}); }
  SUBCASE("group norm") {
    o.norm = "group_norm";
    check_same<3>(o, {2, 1, 8, 8, 6});
  }
}

TEST_CASE("FNO checkpoints its layers only in training with grad enabled") {
  Generator init(1);
  FNO<2> model({.n_modes = {3, 3}, .in_channels = 1, .out_channels = 1, .hidden_channels = 4, .n_layers = 2}, init);
  CHECK_FALSE(model.activation_checkpointing());
  model.set_activation_checkpointing(true);
  CHECK(model.activation_checkpointing());
  Var<float, 4> x(Tensor<float, 4>::ones({1, 1, 8, 8}), true);
  // The projection's graph reaches back to the last layer: a checkpoint node in training...
  auto reaches_checkpoint = [](const Var<float, 4>& y) {
    std::vector<const Node*> stack{y.slot().grad_fn.get()};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (!n) continue;
      if (std::string(n->name()) == "checkpoint") return true;
      for (const auto& in : n->inputs) stack.push_back(in->grad_fn.get());
    }
    return false;
  };
  CHECK(reaches_checkpoint(model(x)));
  // ...none in evaluation mode, none with the option off.
  model.eval();
  CHECK_FALSE(reaches_checkpoint(model(x)));
  model.train();
  model.set_activation_checkpointing(false);
  CHECK_FALSE(reaches_checkpoint(model(x)));
}
