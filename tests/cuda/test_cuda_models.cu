// SpectralConv, FNO and TFNO on the cuda backend against the cpu backend: the same seed gives
// bitwise the same initial weights; outputs, input gradients and every parameter gradient agree
// within 1e-5 relative L2. And NeuralOperator's golden FNO cases (tests/models/golden/fno.pt)
// run on the GPU with the cpu test's tolerances.
#include "cuda_helpers.hpp"

#include <cstdlib>
#include <optional>

#include <neuralop/models/fno.hpp>
#include <neuralop/nn/spectral_conv.hpp>
#include <neuralop/optim/adamw.hpp>

#include "../models/fno_golden.hpp"

using namespace neuralop;
using ct::dev;
using ct::rand_cpu;

namespace {

std::vector<std::complex<double>> values_of(const io::RawTensor& t) {
  std::vector<std::complex<double>> out;
  if (io::is_complex_dtype(t.dtype))
    for (auto v : t.to_vector<std::complex<double>>()) out.push_back(v);
  else
    for (auto v : t.to_vector<double>()) out.push_back(v);
  return out;
}

// Same parameter names and shapes; values bitwise equal; gradients within tol.
void check_parameters(const nn::Module& on_cuda, const nn::Module& on_cpu, double tol) {
  const auto a = on_cuda.named_parameters(), b = on_cpu.named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    REQUIRE(a[i].first == b[i].first);
    REQUIRE(a[i].second->shape() == b[i].second->shape());
    const auto va = a[i].second->to_raw(), vb = b[i].second->to_raw();
    CHECK(va.to_vector<std::complex<double>>() == vb.to_vector<std::complex<double>>());  // same init, bitwise
    const auto ga = a[i].second->grad_raw(), gb = b[i].second->grad_raw();
    REQUIRE(ga.has_value() == gb.has_value());
    if (ga) CHECK(test::rel_l2(values_of(*ga), values_of(*gb)) <= tol);
  }
}

// Build the model on both backends from the same seed, run forward and backward of
// L = sum(y * r), compare everything.
template <template <class> class Make, std::size_t R>
void compare_backends(const Shape<R>& x_shape, std::uint64_t seed = 123) {
  manual_seed(seed);
  auto mc = Make<cpu>::make();
  manual_seed(seed);
  auto md = Make<cuda>::make();
  const auto x0 = rand_cpu<float, R>(x_shape, seed + 1);
  Var<float, R> xc(x0, true);
  Var<float, R, cuda> xd(dev(x0), true);
  Var<float, R> yc = (*mc)(xc);
  Var<float, R, cuda> yd = (*md)(xd);
  REQUIRE(yd.shape() == yc.shape());
  CHECK(ct::rel(yd.value(), yc.value()) <= 1e-5);
  const auto r = rand_cpu<float, R>(yc.shape(), seed + 2);
  yc.backward(r);
  yd.backward(dev(r));
  CHECK(ct::rel(xd.grad(), xc.grad()) <= 1e-5);
  check_parameters(*md, *mc, 1e-5);
}

template <class B>
struct MakeSpectralConv {
  static auto make() {
    return std::make_unique<nn::SpectralConv<2, float, B>>(nn::SpectralConvOptions{.in_channels = 4, .out_channels = 5, .n_modes = {6, 6}});
  }
};
template <class B>
struct MakeFno {
  static auto make() {
    return std::make_unique<FNO<2, float, B>>(FNOOptions{.n_modes = {8, 8}, .in_channels = 3, .out_channels = 2, .hidden_channels = 16});
  }
};
template <class B>
struct MakeFnoVariant {  // padding, a norm, pre-activation, identity skips
  static auto make() {
    return std::make_unique<FNO<2, float, B>>(FNOOptions{.n_modes = {6, 10}, .in_channels = 1, .out_channels = 1, .hidden_channels = 8,
                                                         .n_layers = 2, .norm = "group_norm", .channel_mlp_skip = "linear",
                                                         .fno_skip = "identity", .domain_padding = {0.25}, .preactivation = true});
  }
};
template <class B>
struct MakeTfno {
  static auto make() {
    return std::make_unique<TFNO<2, float, B>>(TFNOOptions{.n_modes = {8, 8}, .in_channels = 2, .out_channels = 1, .hidden_channels = 16,
                                                           .rank = 0.5});
  }
};

}  // namespace

TEST_CASE("cuda SpectralConv 2-D: same init, output and gradients as the cpu") {
  compare_backends<MakeSpectralConv>(Shape<4>{3, 4, 20, 18});
}
TEST_CASE("cuda FNO 2-D: same init, output and every gradient as the cpu") {
  compare_backends<MakeFno>(Shape<4>{4, 3, 32, 32});
}
TEST_CASE("cuda FNO 2-D with padding, group norm, pre-activation and identity skips matches the cpu") {
  compare_backends<MakeFnoVariant>(Shape<4>{2, 1, 24, 40});
}
TEST_CASE("cuda TFNO 2-D (Tucker, factorized contraction): same init, output and every gradient as the cpu") {
  compare_backends<MakeTfno>(Shape<4>{2, 2, 32, 32});
}

TEST_CASE("cuda AdamW: three training steps of an FNO 2-D give the cpu's parameters") {
  manual_seed(9);
  auto mc = MakeFno<cpu>::make();
  manual_seed(9);
  auto md = MakeFno<cuda>::make();
  optim::AdamW oc(mc->parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  optim::AdamW od(md->parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  const auto x = rand_cpu<float, 4>({2, 3, 32, 32}, 10), r = rand_cpu<float, 4>({2, 2, 32, 32}, 11);
  for (int step = 0; step < 3; ++step) {
    oc.zero_grad();
    od.zero_grad();
    Var<float, 4> yc = (*mc)(Var<float, 4>(x));
    Var<float, 4, cuda> yd = (*md)(Var<float, 4, cuda>(dev(x)));
    yc.backward(r);
    yd.backward(dev(r));
    oc.step();
    od.step();
  }
  const auto a = md->named_parameters(), b = mc->named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(test::rel_l2(values_of(a[i].second->to_raw()), values_of(b[i].second->to_raw())) <= 1e-5);
  }
}

TEST_CASE("cuda FNO 2-D: a steady-state training step allocates no device memory") {
  auto model = MakeFno<cuda>::make();
  Var<float, 4, cuda> x(dev(rand_cpu<float, 4>({4, 3, 32, 32}, 5)), true);
  const auto r = dev(rand_cpu<float, 4>({4, 2, 32, 32}, 6));
  auto step = [&] {
    model->zero_grad();
    Var<float, 4, cuda> y = (*model)(x);
    y.backward(r);
    cuda::synchronize();
  };
  step();
  step();
  const auto before = cuda::memory_stats().device_allocs;
  step();
  CHECK(cuda::memory_stats().device_allocs == before);
}

namespace {
struct OffloadRun {
  std::vector<float> y, x_grad;
  std::vector<std::complex<double>> grads;
  std::size_t peak = 0;  // device bytes above the start, forward + backward
  OffloadStats stats;
};
OffloadRun run_offload(bool offload, bool ckpt) {
  manual_seed(123);
  auto model = MakeFno<cuda>::make();
  model->set_activation_checkpointing(ckpt);
  Var<float, 4, cuda> x(dev(rand_cpu<float, 4>({4, 3, 64, 64}, 7)), true);
  const auto r = dev(rand_cpu<float, 4>({4, 2, 64, 64}, 8));
  cuda::synchronize();
  cuda::reset_peak_memory();
  const std::size_t base = cuda::memory_stats().in_use;
  const std::size_t host_before = cuda::offload_memory_stats().in_use;
  OffloadRun out;
  std::shared_ptr<HostOffloadHooks> hooks;
  Var<float, 0, cuda> loss;
  {
    std::optional<OffloadActivationsGuard> guard;
    if (offload) {
      guard.emplace();
      hooks = guard->hooks();
    }
    Var<float, 4, cuda> y = (*model)(x);
    out.y = y.value().to_vector();
    loss = sum(Var<float, 4, cuda>(y * r));
  }
  if (hooks) CHECK(cuda::offload_memory_stats().in_use >= host_before + hooks->stats().packed_bytes);
  loss.backward();
  cuda::synchronize();
  out.peak = cuda::memory_stats().peak_in_use - base;
  loss = {};
  CHECK(cuda::offload_memory_stats().in_use == host_before);  // every host buffer returned
  if (hooks) out.stats = hooks->stats();
  out.x_grad = x.grad().to_vector();
  for (const auto& entry : model->named_parameters())
    for (auto v : values_of(*entry.second->grad_raw())) out.grads.push_back(v);
  return out;
}
}  // namespace

TEST_CASE("cuda activation offload: FNO 2-D gradients as without it, activations in pinned memory, lower peak") {
  for (bool ckpt : {false, true}) {
    CAPTURE(ckpt);
    const OffloadRun plain = run_offload(false, ckpt), off = run_offload(true, ckpt);
    CHECK(off.stats.packed > 0);
    // Every save comes back once: the copies made, and the saves that shared one (an FNO
    // block's input, saved by both skips) each copy back into a block of their own.
    CHECK(off.stats.unpacked == off.stats.packed + off.stats.shared);
    CHECK(off.stats.unpacked_bytes >= off.stats.packed_bytes);
    CHECK(test::rel_l2(off.y, plain.y) <= 1e-6);
    CHECK(test::rel_l2(off.x_grad, plain.x_grad) <= 1e-6);
    CHECK(test::rel_l2(off.grads, plain.grads) <= 1e-6);
    MESSAGE("peak device bytes: " << plain.peak << " kept, " << off.peak << " offloaded (" << off.stats.packed
                                  << " tensors, " << off.stats.packed_bytes << " bytes to the host)");
    CHECK(off.peak < plain.peak);
  }
}

namespace {
// The gradients in named_parameters() order, real and complex parameters apart (as the golden
// file stores them).
template <class V>
std::vector<V> flat_grads(const nn::Module& m, bool complex) {
  std::vector<V> out;
  for (const auto& entry : m.named_parameters())
    if (io::is_complex_dtype(entry.second->dtype()) == complex) {
      const auto g = entry.second->grad_raw();
      REQUIRE(g.has_value());
      const auto v = g->to_vector<V>();
      out.insert(out.end(), v.begin(), v.end());
    }
  return out;
}

// T = std::complex<float>: NeuralOperator's complex_data=True (complex input, output and lifting).
template <std::size_t D, class T = float>
void check_golden_case(const std::string& name, const io::Value& c) {
  CAPTURE(name);
  const bool tfno = c.contains("model") && c.at("model").as<std::string>() == "tfno";
  std::unique_ptr<FNO<D, T, cuda>> model;
  if (tfno) model = std::make_unique<TFNO<D, T, cuda>>(test::fno_options<TFNOOptions>(c.at("options")));
  else model = std::make_unique<FNO<D, T, cuda>>(test::fno_options<FNOOptions>(c.at("options")));
  model->load_state_dict(io::state_dict_from_value(c.at("state_dict")));
  if (c.contains("mode") && c.at("mode").as<std::string>() == "eval") model->eval();
  Var<T, D + 2, cuda> x(dev(c.at("x").as<Tensor<T, D + 2>>()), true);
  Var<T, D + 2, cuda> y;
  if (!c.contains("output_shape")) {
    y = (*model)(x);
  } else if (!c.at("output_shape_per_layer").as<bool>()) {
    y = (*model)(x, test::shape_of<D>(c.at("output_shape")));
  } else {
    std::vector<std::optional<Shape<D>>> shapes;
    for (const auto& s : c.at("output_shape").elements()) shapes.emplace_back(test::shape_of<D>(s));
    y = model->forward(x, shapes);
  }
  REQUIRE(y.shape() == c.at("y").as<Tensor<T, D + 2>>().shape());
  CHECK(test::rel_l2(y.value().to_vector(), c.at("y").tensor().to_vector<T>()) <= 1e-5);
  y.backward(dev(c.at("r").as<Tensor<T, D + 2>>()));  // complex: dL/dy = r for L = Re sum(y * conj(r))
  CHECK(test::rel_l2(x.grad().to_vector(), c.at("grad_x").tensor().to_vector<T>()) <= 1e-4);
  if (c.contains("grads_real"))
    CHECK(test::rel_l2(flat_grads<float>(*model, false), c.at("grads_real").tensor().to_vector<float>()) <= 1e-4);
  if (c.contains("grads_complex"))
    CHECK(test::rel_l2(flat_grads<std::complex<float>>(*model, true),
                       c.at("grads_complex").tensor().to_vector<std::complex<float>>()) <= 1e-4);
}
}  // namespace

TEST_CASE("cuda: NeuralOperator's golden FNO and TFNO cases (1-D, 2-D, 3-D, real and complex data) pass on the GPU") {
  // The environment's NEURALOP_SOURCE_DIR first: the binary may run from another copy of the tree.
  const char* env = std::getenv("NEURALOP_SOURCE_DIR");
  const auto golden = io::load_pt(std::string(env ? env : NEURALOP_SOURCE_DIR) + "/tests/models/golden/fno.pt");
  int n = 0, n_complex = 0;
  for (const auto& [k, c] : golden.items()) {
    const bool cplx = c.contains("complex");
    switch (c.at("x").tensor().rank() + (cplx ? 10 : 0)) {
      case 3: check_golden_case<1>(k.as<std::string>(), c); break;
      case 4: check_golden_case<2>(k.as<std::string>(), c); break;
      case 5: check_golden_case<3>(k.as<std::string>(), c); break;
      case 13: check_golden_case<1, std::complex<float>>(k.as<std::string>(), c); break;
      case 14: check_golden_case<2, std::complex<float>>(k.as<std::string>(), c); break;
      default: FAIL("unexpected rank");
    }
    ++n;
    n_complex += cplx;
  }
  CHECK(n >= 28);
  CHECK(n_complex >= 2);  // the golden file's complex cases: 1-D and 2-D
}
