// Saved-tensor hooks: every tensor an op saves for backward goes through pack() and comes back
// through unpack(), the backward reads the copies (bitwise the gradients of a run without hooks),
// leaves are not packed, the in-place version check survives packing, scopes nest, checkpoint
// composes, and activation offload on the cpu keeps tensors in place. HostOffloadHooks itself
// (what cuda's offload runs) through a host transfer standing in for the device's: the same
// gradients, one copy for values saved twice.
#include <complex>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../helpers.hpp"
#include "neuralop/models/fno.hpp"

using namespace neuralop;

namespace {

using V2 = Var<float, 2>;

// Keeps a host copy of every saved buffer (the cpu backend's memory is the host's), counting.
struct CopyingHooks final : SavedTensorHooks {
  int packs = 0, unpacks = 0;
  std::size_t pack_bytes = 0, unpack_bytes = 0;
  std::shared_ptr<void> pack(const SavedTensorInfo& t) override {
    REQUIRE(t.host_accessible);
    CHECK(t.transfer == nullptr);
    CHECK(std::string(t.backend) == "cpu");
    CHECK(std::string(t.dtype) == "float32");
    auto copy = std::make_shared<std::vector<unsigned char>>(t.bytes);
    std::memcpy(copy->data(), t.data, t.bytes);
    ++packs;
    pack_bytes += t.bytes;
    return copy;
  }
  void unpack(const std::shared_ptr<void>& packed, void* dst, const SavedTensorInfo& t) override {
    const auto& copy = *static_cast<const std::vector<unsigned char>*>(packed.get());
    REQUIRE(copy.size() == t.bytes);
    CHECK(t.data == nullptr);
    std::memcpy(dst, copy.data(), t.bytes);
    ++unpacks;
    unpack_bytes += t.bytes;
  }
};

V2 param(index_t r, index_t c, std::uint64_t seed) {
  Generator g(seed);
  return V2(Tensor<float, 2>::normal({r, c}, 0, 1, g), true);
}

bool same_bits(const Tensor<float, 2>& a, const Tensor<float, 2>& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

constexpr index_t n = 6, c = 8;

// A graph with every kind of saving op. What is saved (f = sizeof(float)):
//   x * 2             nothing (linear)
//   matmul(h, w1)     h [n, c]; w1 is a leaf: kept, not offered
//   tanh(a) * a       a twice (two leaves) [n, 2c]
//   max(b, {1})       b [n, 2c] and its result [n, 1]
//   b - m             nothing (linear)
//   matmul(cc, w2)    cc [n, 2c]
//   irfftn(rfftn(d))  nothing (linear)
//   e * r             e [n, c] and the plain tensor r [n, c]
constexpr int expected_packs = 8;
constexpr std::size_t expected_bytes = sizeof(float) * (n * c + 2 * n * 2 * c + n * 2 * c + n + n * 2 * c + 2 * n * c);

// Gradients of x, w1, w2. `corrupt`: overwrite every activation's buffer after the forward
// pass, bypassing the version counter, so that only a backward reading copies is unaffected.
std::vector<Tensor<float, 2>> run_graph(const std::shared_ptr<SavedTensorHooks>& hooks, bool corrupt) {
  Generator g(5);
  V2 x(Tensor<float, 2>::normal({n, c}, 0, 1, g), true);
  V2 w1 = param(c, 2 * c, 11), w2 = param(2 * c, c, 12);
  auto r = Tensor<float, 2>::normal({n, c}, 0, 1, g);
  std::vector<V2> acts;
  Var<float, 0> loss;
  {
    SavedTensorHooksGuard scope(hooks);
    V2 h(x * 2.0f);
    V2 a = matmul(h, w1);
    V2 b(tanh(a) * a);
    V2 m = max(b, {1}, keepdim);
    V2 cc(b - m);
    V2 d = matmul(cc, w2);
    V2 e = irfftn<1>(rfftn<1>(d), {c});
    loss = sum(V2(e * r));
    acts = {h, a, b, m, cc, d, e};
  }
  if (corrupt) {
    for (auto& v : acts) {
      float* p = v.mutable_value().data();
      for (index_t i = 0; i < v.numel(); ++i) p[i] = 7.0f;
    }
    for (index_t i = 0; i < r.numel(); ++i) r.data()[i] = -3.0f;
  }
  loss.backward();
  return {x.grad(), w1.grad(), w2.grad()};
}

}  // namespace

TEST_CASE("saved-tensor hooks: every saved activation is packed once and unpacked once, leaves are kept") {
  const auto plain = run_graph(nullptr, false);
  auto hooks = std::make_shared<CopyingHooks>();
  const auto hooked = run_graph(hooks, false);
  CHECK(hooks->packs == expected_packs);
  CHECK(hooks->pack_bytes == expected_bytes);
  CHECK(hooks->unpacks == expected_packs);
  CHECK(hooks->unpack_bytes == expected_bytes);
  for (std::size_t k = 0; k < plain.size(); ++k) {
    CAPTURE(k);
    CHECK(same_bits(plain[k], hooked[k]));
  }
}

TEST_CASE("saved-tensor hooks: backward reads the unpacked copies, not the original buffers") {
  const auto plain = run_graph(nullptr, false);
  // Without hooks the corruption reaches the gradients (the test can fail)...
  const auto corrupted = run_graph(nullptr, true);
  CHECK_FALSE(same_bits(plain[1], corrupted[1]));
  // ...with hooks the packed copies are used.
  auto hooks = std::make_shared<CopyingHooks>();
  const auto hooked = run_graph(hooks, true);
  for (std::size_t k = 0; k < plain.size(); ++k) {
    CAPTURE(k);
    CHECK(same_bits(plain[k], hooked[k]));
  }
}

TEST_CASE("saved-tensor hooks: packed tensors free backend memory until backward") {
  // A chain whose activations only the graph holds after the forward pass.
  auto in_use_after_forward = [](const std::shared_ptr<SavedTensorHooks>& hooks) {
    Generator g(9);
    V2 x(Tensor<float, 2>::normal({64, 256}, 0, 1, g), true);
    V2 w = param(256, 256, 3);
    const std::size_t before = cpu::memory_stats().in_use;
    Var<float, 0> loss;
    {
      SavedTensorHooksGuard scope(hooks);
      V2 h(x * 1.0f);
      for (int k = 0; k < 4; ++k) h = V2(tanh(matmul(h, w)));
      loss = sum(h);
    }
    const std::size_t held = cpu::memory_stats().in_use - before;
    loss.backward();
    return held;
  };
  const std::size_t plain = in_use_after_forward(nullptr);
  auto hooks = std::make_shared<CopyingHooks>();
  const std::size_t hooked = in_use_after_forward(hooks);
  CAPTURE(plain);
  CAPTURE(hooked);
  CAPTURE(hooks->pack_bytes);
  CHECK(hooks->packs > 0);
  // What was packed is no longer held by the graph (allocation rounding aside).
  CHECK(plain >= hooked + hooks->pack_bytes * 9 / 10);
}

TEST_CASE("saved-tensor hooks: nothing is packed without grad mode or for leaves only") {
  auto hooks = std::make_shared<CopyingHooks>();
  SavedTensorHooksGuard scope(hooks);
  V2 x(Tensor<float, 2>::ones({n, c}), true);
  V2 w = param(c, c, 1);
  const auto s = Tensor<float, 2>::full({1, c}, 0.5f);
  V2 y = matmul(x, w);   // leaves: kept, not offered
  V2 z(tanh(x) * s);     // a leaf Var (kept) and a plain tensor (offered)
  CHECK(hooks->packs == 1);
  {
    NoGradGuard no_grad;
    V2 h = matmul(V2(y * 2.0f), w);  // not recorded: nothing saved
    V2 k(tanh(h) * h);
  }
  CHECK(hooks->packs == 1);
  sum(V2(y + z)).backward();
  CHECK(hooks->unpacks == 1);
}

TEST_CASE("saved-tensor hooks: an in-place change of a packed tensor still makes backward throw") {
  auto hooks = std::make_shared<CopyingHooks>();
  SUBCASE("a matmul operand, the tensor dropped after the change") {
    V2 x(Tensor<float, 2>::ones({n, c}), true);
    V2 w = param(c, c, 2);
    Var<float, 0> loss;
    {
      SavedTensorHooksGuard scope(hooks);
      V2 h(x * 2.0f);
      loss = sum(matmul(h, w));
      CHECK(hooks->packs == 1);
      h.mutable_value().fill(1.0f);  // bumps the version; then h goes away with its buffer
    }
    CHECK_THROWS_AS(loss.backward(), autograd_error);
  }
  SUBCASE("a fused elementwise operand") {
    V2 x(Tensor<float, 2>::ones({n, c}), true);
    SavedTensorHooksGuard scope(hooks);
    V2 a(x * 3.0f);
    Var<float, 0> loss = sum(V2(tanh(a) * a));
    CHECK(hooks->packs == 2);
    a.mutable_value().fill(0.5f);
    CHECK_THROWS_AS(loss.backward(), autograd_error);
  }
  SUBCASE("unchanged: no error") {
    V2 x(Tensor<float, 2>::ones({n, c}), true);
    SavedTensorHooksGuard scope(hooks);
    V2 a(x * 3.0f);
    Var<float, 0> loss = sum(V2(tanh(a) * a));
    CHECK_NOTHROW(loss.backward());
    CHECK(hooks->unpacks == 2);
  }
}

TEST_CASE("saved-tensor hooks: the innermost scope wins, null turns hooks off, backward uses the packer") {
  auto outer = std::make_shared<CopyingHooks>(), inner = std::make_shared<CopyingHooks>();
  V2 x(Tensor<float, 2>::ones({n, c}), true);
  V2 w = param(c, c, 4);
  Var<float, 0> loss;
  CHECK(current_saved_tensor_hooks() == nullptr);
  {
    SavedTensorHooksGuard o(outer);
    V2 h = matmul(V2(x * 0.5f), w);  // outer: 1
    {
      SavedTensorHooksGuard i(inner);
      CHECK(current_saved_tensor_hooks() == inner);
      h = matmul(V2(h * 0.5f), w);  // inner: 1
      {
        SavedTensorHooksGuard off(nullptr);
        CHECK(current_saved_tensor_hooks() == nullptr);
        h = matmul(V2(h * 0.5f), w);  // none
      }
      CHECK(current_saved_tensor_hooks() == inner);
    }
    CHECK(current_saved_tensor_hooks() == outer);
    h = matmul(V2(h * 0.5f), w);  // outer: 2
    loss = sum(h);
  }
  CHECK(current_saved_tensor_hooks() == nullptr);
  CHECK(outer->packs == 2);
  CHECK(inner->packs == 1);
  loss.backward();  // after every scope has ended
  CHECK(outer->unpacks == 2);
  CHECK(inner->unpacks == 1);
}

TEST_CASE("saved-tensor hooks: retain_graph unpacks again at every backward") {
  auto hooks = std::make_shared<CopyingHooks>();
  V2 x(Tensor<float, 2>::ones({n, c}), true);
  V2 w = param(c, c, 6);
  Var<float, 0> loss;
  {
    SavedTensorHooksGuard scope(hooks);
    V2 h(x * 2.0f);
    loss = sum(V2(tanh(matmul(h, w)) * h));
  }
  const int packs = hooks->packs;
  CHECK(packs == 3);  // h by matmul; tanh(matmul) and h by the product
  loss.backward({.retain_graph = true});
  const auto g1 = x.grad().clone();
  loss.backward();
  CHECK(hooks->packs == packs);
  CHECK(hooks->unpacks == 2 * packs);
  CHECK(same_bits(x.grad(), Tensor<float, 2>(g1 * 2.0f)));
}

TEST_CASE("saved-tensor hooks with checkpoint: the saved input is packed, the recomputation is not") {
  Generator g(8);
  const auto xv = Tensor<float, 2>::normal({n, c}, 0, 1, g);
  const auto r = Tensor<float, 2>::normal({n, c}, 0, 1, g);
  auto run = [&](const std::shared_ptr<CopyingHooks>& hooks, bool ckpt) {
    V2 x(xv, true);
    V2 w1 = param(c, 2 * c, 21), w2 = param(2 * c, c, 22);
    auto fn = [&](const V2& in) {
      if (is_recomputing()) CHECK(current_saved_tensor_hooks() == nullptr);
      return matmul(V2(tanh(matmul(in, w1)) * 0.5f), w2);
    };
    Var<float, 0> loss;
    {
      SavedTensorHooksGuard scope(hooks);
      V2 h(x * 2.0f);
      V2 y = ckpt ? checkpoint(fn, h) : fn(h);
      loss = sum(V2(y * r));
    }
    if (hooks && ckpt) CHECK(hooks->packs == 3);  // h by the checkpoint; y and r by the product
    loss.backward();
    if (hooks && ckpt) {
      CHECK(hooks->packs == 3);
      CHECK(hooks->unpacks == 3);
    }
    return std::vector<Tensor<float, 2>>{x.grad(), w1.grad(), w2.grad()};
  };
  const auto plain = run(nullptr, false);
  for (bool ckpt : {false, true}) {
    auto hooks = std::make_shared<CopyingHooks>();
    const auto hooked = run(hooks, ckpt);
    for (std::size_t k = 0; k < plain.size(); ++k) {
      CAPTURE(ckpt);
      CAPTURE(k);
      CHECK(same_bits(plain[k], hooked[k]));
    }
  }
}

namespace {

// A host transfer over malloc'd buffers, counting what is outstanding: the cuda backend's
// interface, so that HostOffloadHooks runs on the cpu as it does for a device.
struct FakeTransfer {
  static inline std::size_t live = 0;
  static void* allocate(std::size_t bytes) {
    ++live;
    return std::malloc(bytes);
  }
  static void deallocate(void* p, std::size_t) noexcept {
    --live;
    std::free(p);
  }
  static void copy(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
  static const HostTransfer* get() {
    static const HostTransfer t{&allocate, &deallocate, &copy, &copy};
    return &t;
  }
};

// HostOffloadHooks, handed the fake transfer as if the tensors lived on a device.
struct FakeDeviceHooks final : SavedTensorHooks {
  HostOffloadHooks offload;
  explicit FakeDeviceHooks(OffloadOptions o) : offload(o) {}
  std::shared_ptr<void> pack(const SavedTensorInfo& t) override {
    SavedTensorInfo d = t;
    d.transfer = FakeTransfer::get();
    d.host_accessible = false;
    return offload.pack(d);
  }
  void unpack(const std::shared_ptr<void>& packed, void* dst, const SavedTensorInfo& t) override {
    SavedTensorInfo d = t;
    d.transfer = FakeTransfer::get();
    offload.unpack(packed, dst, d);
  }
};

}  // namespace

TEST_CASE("HostOffloadHooks: one copy per values saved, whatever number of times; a new one after a change") {
  HostOffloadHooks hooks({.min_bytes = 0});
  auto t = Tensor<float, 1>::full({300}, 2.0f);
  auto info = [&](const float* data, std::size_t n) {
    return SavedTensorInfo{.data = data, .bytes = n * sizeof(float), .dtype = "float32", .backend = "fake",
                           .host_accessible = false, .transfer = FakeTransfer::get(),
                           .counter = t.storage()->version_counter(), .version = t.version()};
  };
  const std::size_t live0 = FakeTransfer::live;
  auto a = hooks.pack(info(t.data(), 300));
  auto b = hooks.pack(info(t.data(), 300));
  CHECK(a == b);
  CHECK(hooks.stats().packed == 1);
  CHECK(hooks.stats().shared == 1);
  auto c = hooks.pack(info(t.data() + 100, 200));  // other elements of the storage
  CHECK(c != a);
  t.fill(3.0f);  // new values: a new copy
  auto d = hooks.pack(info(t.data(), 300));
  CHECK(d != a);
  CHECK(hooks.stats().packed == 3);
  CHECK(FakeTransfer::live == live0 + 3);
  std::vector<float> back(300);
  hooks.unpack(a, back.data(), info(nullptr, 300));
  CHECK(back[299] == 2.0f);
  hooks.unpack(d, back.data(), info(nullptr, 300));
  CHECK(back[0] == 3.0f);
  CHECK(hooks.stats().unpacked == 2);
  a.reset();
  b.reset();
  c.reset();
  d.reset();
  CHECK(FakeTransfer::live == live0);  // every buffer returned
  auto e = hooks.pack(info(t.data(), 300));  // the remembered copy is gone: a new one
  CHECK(hooks.stats().packed == 4);
}

TEST_CASE("HostOffloadHooks through a host transfer: the graph's gradients bitwise, a value saved twice copied once") {
  const auto plain = run_graph(nullptr, false);
  const std::size_t live0 = FakeTransfer::live;
  auto hooks = std::make_shared<FakeDeviceHooks>(OffloadOptions{.min_bytes = 0});
  const auto offloaded = run_graph(hooks, true);  // the originals overwritten after the forward pass
  const OffloadStats& st = hooks->offload.stats();
  CHECK(st.packed == std::size_t(expected_packs - 1));  // tanh(a) * a: one copy of a
  CHECK(st.shared == 1);
  CHECK(st.unpacked == std::size_t(expected_packs));
  CHECK(st.kept == 0);
  CHECK(FakeTransfer::live == live0);
  for (std::size_t k = 0; k < plain.size(); ++k) {
    CAPTURE(k);
    CHECK(same_bits(plain[k], offloaded[k]));
  }
}

TEST_CASE("HostOffloadHooks through a host transfer: FNO-2D bitwise gradients; each block input copied once") {
  const FNOOptions o{.n_modes = {4, 4}, .in_channels = 2, .out_channels = 1, .hidden_channels = 8, .n_layers = 3};
  auto run = [&](const std::shared_ptr<SavedTensorHooks>& hooks, bool ckpt) {
    Generator init(42);
    FNO<2> model(o, init);
    model.set_activation_checkpointing(ckpt);
    Generator gx(7);
    Var<float, 4> x(Tensor<float, 4>::normal({2, 2, 12, 10}, 0, 1, gx), true);
    const auto r = Tensor<float, 4>::normal({2, 1, 12, 10}, 0, 1, gx);
    Var<float, 0> loss;
    {
      SavedTensorHooksGuard scope(hooks);
      loss = sum(Var<float, 4>(model(x) * r));
    }
    loss.backward();
    std::vector<std::complex<double>> g;
    for (float v : x.grad().to_vector()) g.emplace_back(v);
    for (const auto& entry : model.named_parameters())
      for (auto v : entry.second->grad_raw()->to_vector<std::complex<double>>()) g.push_back(v);
    return g;
  };
  const auto plain = run(nullptr, false);
  for (bool ckpt : {false, true}) {
    CAPTURE(ckpt);
    auto hooks = std::make_shared<FakeDeviceHooks>(OffloadOptions{});
    CHECK(run(hooks, ckpt) == plain);
    const OffloadStats& st = hooks->offload.stats();
    CHECK(st.packed > 0);
    CHECK(st.unpacked == st.packed + st.shared);
    // Without checkpointing each layer's input is read by both skips (the linear fno skip and
    // the soft-gating channel-MLP skip): saved twice, copied once.
    if (!ckpt) CHECK(st.shared == std::size_t(o.n_layers));
  }
}

TEST_CASE("activation offload on the cpu keeps every saved tensor in place") {
  const auto plain = run_graph(nullptr, false);
  std::shared_ptr<HostOffloadHooks> hooks;
  std::vector<Tensor<float, 2>> offloaded;
  {
    OffloadActivationsGuard offload;
    hooks = offload.hooks();
    CHECK(current_saved_tensor_hooks() == hooks);
    offloaded = run_graph(current_saved_tensor_hooks(), false);
  }
  CHECK(current_saved_tensor_hooks() == nullptr);
  CHECK(hooks->stats().packed == 0);
  CHECK(hooks->stats().unpacked == 0);
  CHECK(hooks->stats().kept == std::size_t(expected_packs));
  for (std::size_t k = 0; k < plain.size(); ++k) {
    CAPTURE(k);
    CHECK(same_bits(plain[k], offloaded[k]));
  }
}
