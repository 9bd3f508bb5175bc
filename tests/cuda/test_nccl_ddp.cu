// NcclDataParallel on FNO<2, float, cuda>, with 1 or more ranks (one GPU each): rank 0's
// parameters and buffers broadcast by NCCL, gradients summed (averaged) in device memory in
// several buckets (a parameter some rank did not reach counts as zero there), buckets sent
// during backward, a second backward refused, bad models refused, and a few training steps whose
// losses and final parameters match one process training on the global batch. The expected
// sums are made independently, through host memory and MPI.
#include "cuda_helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <neuralop/distributed/nccl_data_parallel.hpp>
#include <neuralop/models/fno.hpp>
#include <neuralop/optim/adamw.hpp>

using namespace neuralop;
namespace nd = neuralop::distributed;
using ct::dev;

namespace {

using Model = FNO<2, float, cuda>;
using V4 = Var<float, 4, cuda>;

FNOOptions tiny() { return {.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 8, .n_layers = 2}; }

std::vector<float> host_floats(const nn::ParameterBase* p, bool grad) {
  std::vector<float> v(p->host_nbytes() / sizeof(float));
  if (grad) p->grad_to_host(v.data());
  else p->value_to_host(v.data());
  return v;
}
bool same_on_every_rank(std::span<const std::byte> v, const nd::Communicator& comm) {
  std::vector<std::byte> root(v.begin(), v.end());
  comm.broadcast(std::span<std::byte>(root), 0);
  const int differs = comm.allreduce(static_cast<int>(!std::equal(v.begin(), v.end(), root.begin())), nd::ReduceOp::max);
  return differs == 0;
}
bool same_on_every_rank(const std::vector<float>& v, const nd::Communicator& comm) {
  return same_on_every_rank(std::as_bytes(std::span<const float>(v)), comm);
}
double worst(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (std::size_t i = 0; i < a.size(); ++i) w = std::max(w, std::abs(double(a[i]) - double(b[i])));
  return w;
}
// The expected reduction of every parameter's gradient, through host memory and MPI.
std::vector<std::vector<float>> expected_gradients(const std::vector<nn::ParameterBase*>& params, const nd::Communicator& comm,
                                                   nd::GradientReduction r) {
  std::vector<std::vector<float>> out;
  for (auto* p : params) {
    std::vector<float> v = p->has_grad() ? host_floats(p, true) : std::vector<float>(p->host_nbytes() / sizeof(float), 0.f);
    comm.allreduce(std::span<float>(v));
    if (r == nd::GradientReduction::mean)
      for (auto& e : v) e /= static_cast<float>(comm.size());
    out.push_back(std::move(v));
  }
  return out;
}
void check_gradients(const std::vector<nn::ParameterBase*>& params, const std::vector<std::vector<float>>& expect) {
  for (std::size_t k = 0; k < params.size(); ++k) {
    CAPTURE(k);
    REQUIRE(params[k]->has_grad());
    CHECK(worst(host_floats(params[k], true), expect[k]) <= 1e-5 * (1 + std::abs(double(expect[k][0]))));
  }
}
V4 input(std::uint64_t seed, index_t batch = 2) { return V4(dev(ct::rand_cpu<float, 4>({batch, 1, 16, 16}, seed))); }

// A cpu module with one parameter, for the refusal.
struct CpuLayer : nn::Module {
  nn::Parameter<float, 1> w{Tensor<float, 1>::ones({3})};
  CpuLayer() { register_parameter("w", w); }
};

}  // namespace

TEST_CASE("NcclDataParallel broadcasts rank 0's parameters and buffers (BatchNorm's, before each training forward)") {
  nd::Communicator comm;
  manual_seed(100 + static_cast<std::uint64_t>(comm.rank()));  // different initial weights per rank
  FNOOptions o = tiny();
  o.norm = "batch_norm";
  Model model(o);
  nd::NcclDataParallel ddp(model, comm);
  CHECK(ddp.nccl().size() == comm.size());
  for (const auto& entry : model.named_parameters()) {
    CAPTURE(entry.first);
    CHECK(same_on_every_rank(host_floats(entry.second, false), comm));
  }
  // Each rank's own data moves the running statistics apart; before_forward brings rank 0's
  // back: the tensors through NCCL, the int64 step counter (host memory) through MPI.
  model.train();
  (void)model(input(31 + static_cast<std::uint64_t>(comm.rank())));
  ddp.before_forward();
  const auto buffers = model.named_buffers();
  REQUIRE(!buffers.empty());
  for (const auto& entry : buffers) {
    CAPTURE(entry.first);
    std::vector<std::byte> v(entry.second->host_nbytes());
    entry.second->value_to_host(v.data());
    CHECK(same_on_every_rank(v, comm));
  }
}

TEST_CASE("NcclDataParallel sums (averages) gradients in device memory: several buckets, parameters some ranks did not reach") {
  nd::Communicator comm;
  for (const auto reduction : {nd::GradientReduction::sum, nd::GradientReduction::mean}) {
    manual_seed(7);
    Model model(tiny());
    nd::NcclDataParallel ddp(model, comm, {.bucket_bytes = 4096, .reduction = reduction});
    CHECK(ddp.n_buckets() > 2);
    const auto params = model.parameters();
    auto y = model(input(11 + static_cast<std::uint64_t>(comm.rank())));  // different data per rank
    sum(V4(y * y)).backward();
    // Rank 0 "did not reach" the first parameter: it counts as zero there (no hooks were armed:
    // everything goes in synchronize_gradients).
    if (comm.rank() == 0) params[0]->zero_grad();
    const auto expect = expected_gradients(params, comm, reduction);
    ddp.synchronize_gradients();
    CHECK(ddp.overlapped_buckets() == 0);
    if (comm.size() == 1) {
      CHECK_FALSE(params[0]->has_grad());  // no rank reached it: it keeps none
      check_gradients(std::vector<nn::ParameterBase*>(params.begin() + 1, params.end()),
                      std::vector<std::vector<float>>(expect.begin() + 1, expect.end()));
    } else {
      check_gradients(params, expect);
    }
  }
}

TEST_CASE("NcclDataParallel sends the buckets during backward, with the same sums; a second backward then throws") {
  nd::Communicator comm;
  manual_seed(7);
  Model model(tiny());
  nd::NcclDataParallel ddp(model, comm, {.bucket_bytes = 4096});
  REQUIRE(ddp.n_buckets() > 2);
  const V4 x = input(11 + static_cast<std::uint64_t>(comm.rank()));
  const auto params = model.parameters();
  for (int step = 0; step < 2; ++step) {
    model.zero_grad();
    ddp.before_forward();
    auto y = model(x);
    sum(V4(y * y)).backward();
    // The hooks only read the gradients (their copies are queued on the backend stream before
    // this host read): the expected sums from them now.
    const auto expect = expected_gradients(params, comm, nd::GradientReduction::sum);
    ddp.synchronize_gradients();
    CHECK(ddp.overlapped_buckets() == (comm.size() > 1 ? ddp.n_buckets() : 0));
    check_gradients(params, expect);
  }
  if (comm.size() > 1) {
    ddp.before_forward();
    auto y1 = model(x);
    sum(V4(y1 * y1)).backward();
    auto y2 = model(x);
    CHECK_THROWS_WITH_AS(sum(V4(y2 * y2)).backward(), doctest::Contains("second backward pass"), value_error);
    ddp.synchronize_gradients();
  }
}

TEST_CASE("NcclDataParallel refuses cpu parameters, and models that differ between the ranks") {
  nd::Communicator comm;
  CpuLayer cpu_layer;
  CHECK_THROWS_WITH_AS([&] { nd::NcclDataParallel ddp(cpu_layer, comm); }(), doctest::Contains("'w' is on the cpu backend"), value_error);
  if (comm.size() > 1) {
    FNOOptions o = tiny();
    if (comm.rank() == 0) o.hidden_channels = 12;
    Model model(o);
    CHECK_THROWS_WITH_AS([&] { nd::NcclDataParallel ddp(model, comm); }(), doctest::Contains("the ranks' models differ"), value_error);
  }
}

TEST_CASE("training with NcclDataParallel gives one process's losses and parameters on the global batch") {
  nd::Communicator comm;
  const int ranks = comm.size(), rank = comm.rank();
  const index_t per_rank = 4, global = per_rank * ranks, n_batches = 2, n_epochs = 3;
  const auto xs = ct::rand_cpu<float, 4>({n_batches * global, 1, 16, 16}, 1).to_vector();
  const auto ys = ct::rand_cpu<float, 4>({n_batches * global, 1, 16, 16}, 2).to_vector();
  // Samples [first, first + n) as a device batch.
  auto batch = [](const std::vector<float>& all, index_t first, index_t n) {
    const std::size_t per = 16 * 16;
    return V4(dev(Tensor<float, 4>::from_data(
        {n, 1, 16, 16}, std::span<const float>(all.data() + static_cast<std::size_t>(first) * per, static_cast<std::size_t>(n) * per))));
  };
  // The loss sums over the samples, so the sum over the ranks of their shards' gradients is the
  // global batch's gradient.
  auto loss_of = [](Model& m, const V4& x, const V4& y) {
    const V4 d = m(x) - y;
    return sum(V4(d * d));
  };

  manual_seed(0);
  Model ref(tiny());
  optim::AdamW ref_opt(ref.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  manual_seed(0);
  Model model(tiny());
  nd::NcclDataParallel ddp(model, comm, {.bucket_bytes = 8192});
  optim::AdamW opt(model.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});

  double worst_loss = 0;
  for (index_t epoch = 0; epoch < n_epochs; ++epoch)
    for (index_t b = 0; b < n_batches; ++b) {
      // One process, the global batch.
      ref_opt.zero_grad();
      auto ref_loss = loss_of(ref, batch(xs, b * global, global), batch(ys, b * global, global));
      ref_loss.backward();
      ref_opt.step();
      // Every rank its shard, as the Trainer drives it.
      opt.zero_grad();
      ddp.before_forward();
      auto loss = loss_of(model, batch(xs, b * global + rank * per_rank, per_rank), batch(ys, b * global + rank * per_rank, per_rank));
      loss.backward();
      ddp.synchronize_gradients();
      opt.step();
      const double want = ref_loss.value().item(), got = comm.allreduce(static_cast<double>(loss.value().item()));
      worst_loss = std::max(worst_loss, std::abs(got - want) / std::max(1e-12, std::abs(want)));
    }
  CHECK(ddp.sync_steps() == n_epochs * n_batches);
  MESSAGE("ranks: ", ranks, ", worst relative loss difference: ", worst_loss, ", overlapped buckets in the last step: ",
          ddp.overlapped_buckets(), " of ", ddp.n_buckets());
  CHECK(worst_loss < 1e-5);
  const auto pa = ref.parameters(), pb = model.parameters();
  REQUIRE(pa.size() == pb.size());
  double worst_param = 0;
  for (std::size_t k = 0; k < pa.size(); ++k) {
    const auto vb = host_floats(pb[k], false);
    worst_param = std::max(worst_param, worst(host_floats(pa[k], false), vb));
    CHECK(same_on_every_rank(vb, comm));  // the same reduced gradients, so the same updates
  }
  MESSAGE("worst parameter difference: ", worst_param);
  CHECK(worst_param < 1e-4);
}
