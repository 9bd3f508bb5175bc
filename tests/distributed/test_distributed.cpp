// Data-parallel training over MPI, run with 1 and 2 processes: the communicator's collectives,
// parameters broadcast from rank 0, gradients summed (averaged) over the ranks including
// parameters that only some ranks reached, and a training run whose loss trajectory, metrics and
// final parameters match one process training on the same global batch. The broadcast and
// gradient cases also run over a transport in the parameters' backend memory (the shape of
// NcclDataParallel's, which needs a GPU), checking the order of calls it is promised.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/data/data_loader.hpp"
#include "neuralop/data/tensor_dataset.hpp"
#include "neuralop/distributed/distributed.hpp"
#include "neuralop/losses/losses.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/optim/optim.hpp"
#include "neuralop/training/training.hpp"

using namespace neuralop;
namespace nd = neuralop::distributed;

namespace {

using DS = data::TensorDataset<float, 4>;
using Loader = data::DataLoader<DS>;
using Tests = std::vector<std::pair<std::string, Loader>>;

FNOOptions tiny() { return {.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 8, .n_layers = 2}; }

std::vector<float> host_bytes_as_floats(nn::ParameterBase* p, bool grad) {
  std::vector<float> v(p->host_nbytes() / sizeof(float));
  if (grad) p->grad_to_host(v.data());
  else p->value_to_host(v.data());
  return v;
}

// A GradientTransport as NcclDataParallel's, over the backend-memory copies of ParameterBase (host
// memory for cpu parameters): it holds every entry (their values go through its broadcast), and
// sums with blocking MPI allreduces. It checks that buckets are packed and started in order, and
// finished once after all of them.
class BackendMemoryTransport final : public nd::GradientTransport {
 public:
  BackendMemoryTransport(nd::Communicator comm, nd::GradientReduction r) : comm_(comm), mean_(r == nd::GradientReduction::mean) {}
  static inline int broadcasts = 0, finishes = 0;

  void make_buckets(std::span<const BucketShape> shapes) override {
    for (const auto& s : shapes)
      buckets_.push_back({s.dbl, s.n_grad, std::vector<double>(s.n_grad + s.n_params),
                          std::vector<std::byte>(s.n_grad * (s.dbl ? sizeof(double) : sizeof(float)))});
  }
  void pack(std::size_t i, std::size_t offset, const nn::ParameterBase* p, std::size_t bytes) override {
    REQUIRE(i == started_);
    std::vector<std::byte>& mem = buckets_[i].mem;
    REQUIRE(offset + bytes <= mem.size());
    if (p) p->grad_to_backend(mem.data() + offset);
    else std::fill_n(mem.data() + offset, bytes, std::byte{0});
  }
  void start(std::size_t i, std::span<const std::uint8_t> has_grad) override {
    REQUIRE(i == started_++);
    Bucket& b = buckets_[i];
    for (std::size_t e = 0; e < b.n_grad; ++e) b.sum[e] = read(i, e);
    for (std::size_t j = 0; j < has_grad.size(); ++j) b.sum[b.n_grad + j] = has_grad[j];
    comm_.allreduce(std::span<double>(b.sum));
  }
  double finish() override {
    REQUIRE(started_ == buckets_.size());
    started_ = 0;
    ++finishes;
    for (std::size_t i = 0; i < buckets_.size(); ++i)
      for (std::size_t e = 0; e < buckets_[i].n_grad; ++e) write(i, e, buckets_[i].sum[e] / (mean_ ? comm_.size() : 1));
    return 0;
  }
  bool reached(std::size_t i, std::size_t j) const override { return buckets_[i].sum[buckets_[i].n_grad + j] > 0; }
  void unpack(std::size_t i, std::size_t offset, nn::ParameterBase& p) override { p.grad_from_backend(buckets_[i].mem.data() + offset); }
  bool holds(const nn::ParameterBase& p) const override { return std::string(p.backend_name()) == "cpu"; }
  void broadcast(std::span<nn::ParameterBase* const> entries) override {
    ++broadcasts;
    std::size_t total = 0;
    for (auto* p : entries) total += p->host_nbytes();
    std::vector<std::byte> buf(total);
    std::size_t off = 0;
    for (auto* p : entries) {
      if (comm_.rank() == 0) p->value_to_backend(buf.data() + off);
      off += p->host_nbytes();
    }
    comm_.broadcast(std::span<std::byte>(buf), 0);
    off = 0;
    for (auto* p : entries) {
      if (comm_.rank() != 0) p->value_from_backend(buf.data() + off);
      off += p->host_nbytes();
    }
  }

 private:
  struct Bucket {
    bool dbl;
    std::size_t n_grad;
    std::vector<double> sum;  // the gradients, then the flags, summed in double
    std::vector<std::byte> mem;
  };
  double read(std::size_t i, std::size_t e) const {
    const std::byte* m = buckets_[i].mem.data();
    return buckets_[i].dbl ? reinterpret_cast<const double*>(m)[e] : double(reinterpret_cast<const float*>(m)[e]);
  }
  void write(std::size_t i, std::size_t e, double v) {
    std::byte* m = buckets_[i].mem.data();
    if (buckets_[i].dbl) reinterpret_cast<double*>(m)[e] = v;
    else reinterpret_cast<float*>(m)[e] = static_cast<float>(v);
  }
  nd::Communicator comm_;
  bool mean_;
  std::size_t started_ = 0;
  std::vector<Bucket> buckets_;
};

// A DistributedDataParallel over MPI (the default) or over BackendMemoryTransport.
void make_ddp(std::optional<nd::DistributedDataParallel>& ddp, bool backend_memory, const nn::Module& model, nd::Communicator comm,
              nd::DistributedDataParallelOptions o = {}) {
  if (backend_memory) ddp.emplace(model, comm, o, std::make_unique<BackendMemoryTransport>(comm, o.reduction));
  else ddp.emplace(model, comm, o);
}

// The same data on every rank (seeded).
DS dataset(index_t n, std::uint64_t seed) {
  Generator g(seed);
  auto x = Tensor<float, 4>::normal({n, 1, 16, 16}, 0, 1, g);
  auto y = Tensor<float, 4>::normal({n, 1, 16, 16}, 0, 1, g);
  return DS(x, y);
}

}  // namespace

TEST_CASE("Communicator: rank, size, allreduce (sum, min, max), broadcast") {
  nd::Communicator comm;
  const int r = comm.rank(), n = comm.size();
  CHECK(n >= 1);
  CHECK(r < n);
  CHECK(comm.allreduce(r) == n * (n - 1) / 2);
  CHECK(comm.allreduce(static_cast<double>(r + 1), nd::ReduceOp::max) == n);
  CHECK(comm.allreduce(static_cast<std::int64_t>(r + 1), nd::ReduceOp::min) == 1);
  std::vector<float> v(5, static_cast<float>(r));
  comm.allreduce(std::span<float>(v));
  for (float x : v) CHECK(x == doctest::Approx(n * (n - 1) / 2.0));
  CHECK(comm.broadcast(r == 0 ? 42 : -1) == 42);
  comm.barrier();
}

TEST_CASE("training_shard splits the global batch and names a batch that does not divide") {
  nd::Communicator comm;
  const auto o = nd::training_shard(4 * comm.size(), comm, {.shuffle = true, .seed = 5});
  CHECK(o.batch_size == 4);
  CHECK(o.num_replicas == comm.size());
  CHECK(o.rank == comm.rank());
  CHECK(o.shuffle);
  CHECK(o.even_shards);
  if (comm.size() > 1) CHECK_THROWS_WITH_AS(nd::training_shard(2 * comm.size() + 1, comm), doctest::Contains("does not divide evenly"), value_error);
  const auto e = nd::evaluation_shard(comm, {.batch_size = 3});
  CHECK(e.batch_size == 3);
  CHECK_FALSE(e.even_shards);
}

TEST_CASE("DistributedDataParallel broadcasts rank 0's parameters") {
  nd::Communicator comm;
  for (const bool backend_memory : {false, true}) {
    CAPTURE(backend_memory);
    manual_seed(100 + static_cast<std::uint64_t>(comm.rank()));  // different initial weights per rank
    FNO<2> model(tiny());
    const int broadcasts = BackendMemoryTransport::broadcasts;
    std::optional<nd::DistributedDataParallel> ddp;
    make_ddp(ddp, backend_memory, model, comm);
    // The transport that holds the parameters broadcasts them (one process: nothing to send).
    CHECK(BackendMemoryTransport::broadcasts - broadcasts == (backend_memory && comm.size() > 1 ? 1 : 0));
    for (auto* p : model.parameters()) {
      const auto v = host_bytes_as_floats(p, false);
      std::vector<float> lo = v, hi = v;
      comm.allreduce(std::span<float>(lo), nd::ReduceOp::min);
      comm.allreduce(std::span<float>(hi), nd::ReduceOp::max);
      CHECK(lo == hi);
    }
  }
}

TEST_CASE("gradients are summed (or averaged) over the ranks, in several buckets, with parameters some ranks did not reach") {
  nd::Communicator comm;
  for (int variant = 0; variant < 4; ++variant) {
    const bool backend_memory = variant >= 2;
    const auto reduction = variant % 2 ? nd::GradientReduction::mean : nd::GradientReduction::sum;
    CAPTURE(backend_memory);
    manual_seed(7);
    FNO<2> model(tiny());
    // A small bucket size: several buckets, each in flight while the next is packed.
    std::optional<nd::DistributedDataParallel> ddp;
    make_ddp(ddp, backend_memory, model, comm, {.bucket_bytes = 4096, .reduction = reduction});
    CHECK(ddp->n_buckets() > 2);
    Generator g(11 + static_cast<std::uint64_t>(comm.rank()));  // different data per rank
    const Var<float, 4> x(Tensor<float, 4>::normal({2, 1, 16, 16}, 0, 1, g));
    auto y = model(x);
    sum(Var<float, 4>(y * y)).backward();
    const auto params = model.parameters();
    // Rank 0 "did not reach" the first parameter: it counts as zero there.
    if (comm.rank() == 0) params[0]->zero_grad();
    std::vector<std::vector<float>> expect;
    for (auto* p : params) {
      std::vector<float> v = p->has_grad() ? host_bytes_as_floats(p, true) : std::vector<float>(p->host_nbytes() / sizeof(float), 0.f);
      comm.allreduce(std::span<float>(v));
      if (reduction == nd::GradientReduction::mean)
        for (auto& e : v) e /= static_cast<float>(comm.size());
      expect.push_back(std::move(v));
    }
    ddp->synchronize_gradients();
    CHECK(ddp->sync_steps() == 1);
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (comm.size() == 1 && k == 0) {
        CHECK_FALSE(params[k]->has_grad());  // no rank reached it: it keeps no gradient
        continue;
      }
      REQUIRE(params[k]->has_grad());
      const auto got = host_bytes_as_floats(params[k], true);
      REQUIRE(got.size() == expect[k].size());
      double worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(expect[k][i])));
      CHECK(worst <= 1e-5 * (1 + std::abs(double(expect[k][0]))));
    }
  }
}

TEST_CASE("with overlap_backward the buckets are sent during backward, with the same sums; a second backward then throws") {
  nd::Communicator comm;
  for (const bool backend_memory : {false, true}) {
    CAPTURE(backend_memory);
    manual_seed(7);
    FNO<2> model(tiny());
    std::optional<nd::DistributedDataParallel> holder;
    make_ddp(holder, backend_memory, model, comm, {.bucket_bytes = 4096});
    nd::DistributedDataParallel& ddp = *holder;
    const int finishes = BackendMemoryTransport::finishes;
    REQUIRE(ddp.n_buckets() > 2);
    Generator g(11 + static_cast<std::uint64_t>(comm.rank()));  // different data per rank
    const Var<float, 4> x(Tensor<float, 4>::normal({2, 1, 16, 16}, 0, 1, g));
    const auto params = model.parameters();
    for (int step = 0; step < 2; ++step) {
      model.zero_grad();
      ddp.before_forward();  // arms the grad-ready hooks, as the Trainer does
      auto y = model(x);
      sum(Var<float, 4>(y * y)).backward();
      // The gradients are read by the hooks, not changed: the expected sums from them now.
      std::vector<std::vector<float>> expect;
      for (auto* p : params) {
        REQUIRE(p->has_grad());
        std::vector<float> v = host_bytes_as_floats(p, true);
        comm.allreduce(std::span<float>(v));
        expect.push_back(std::move(v));
      }
      ddp.synchronize_gradients();
      // Every parameter is reached by backward: every bucket went out during it (one process
      // has nothing to send).
      CHECK(ddp.overlapped_buckets() == (comm.size() > 1 ? ddp.n_buckets() : 0));
      for (std::size_t k = 0; k < params.size(); ++k) {
        const auto got = host_bytes_as_floats(params[k], true);
        double worst = 0;
        for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(expect[k][i])));
        CHECK(worst <= 1e-5 * (1 + std::abs(double(expect[k][0]))));
      }
    }
    if (comm.size() > 1) {
      // Two backward passes before synchronize_gradients: the first sent the buckets already.
      ddp.before_forward();
      auto y1 = model(x);
      sum(Var<float, 4>(y1 * y1)).backward();
      auto y2 = model(x);
      CHECK_THROWS_WITH_AS(sum(Var<float, 4>(y2 * y2)).backward(), doctest::Contains("second backward pass"), value_error);
      ddp.synchronize_gradients();  // completes what is in flight, on every rank alike
    }
    // One finish() per synchronized step with more than one process (3 of them).
    CHECK(BackendMemoryTransport::finishes - finishes == (backend_memory && comm.size() > 1 ? 3 : 0));
    // Without overlap nothing is sent before synchronize_gradients().
    std::optional<nd::DistributedDataParallel> plain;
    make_ddp(plain, backend_memory, model, comm, {.bucket_bytes = 4096, .overlap_backward = false});
    plain->before_forward();
    auto y = model(x);
    sum(Var<float, 4>(y * y)).backward();
    plain->synchronize_gradients();
    CHECK(plain->overlapped_buckets() == 0);
  }
}

TEST_CASE("data-parallel training gives one process's loss trajectory with the same global batch") {
  nd::Communicator comm;
  // Any number of ranks (mpirun -np 3 works too): 4 samples per rank and batch, 2 batches.
  const index_t global_batch = 4 * comm.size();
  const std::int64_t n_epochs = 3;
  const auto train_ds = dataset(2 * global_batch, 1), test_ds = dataset(6, 2);
  losses::LpLoss<2> l2;
  losses::H1Loss<2> h1;

  // One process, the whole global batch.
  manual_seed(0);
  FNO<2> ref(tiny());
  optim::AdamW ref_opt(ref.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  optim::StepLR ref_sched(ref_opt, {.step_size = 2, .gamma = 0.5});
  Loader ref_train(train_ds, {.batch_size = global_batch, .shuffle = true, .seed = 3});
  Tests ref_tests = {{"16", Loader(test_ds, {.batch_size = 4})}};
  training::Trainer ref_trainer(ref, {.n_epochs = n_epochs});
  ref_trainer.train(ref_train, ref_tests, ref_opt, ref_sched, h1, {{"h1", h1}, {"l2", l2}});

  // Every rank its shard.
  manual_seed(0);
  FNO<2> model(tiny());
  nd::DistributedDataParallel ddp(model, comm);
  optim::AdamW opt(model.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  optim::StepLR sched(opt, {.step_size = 2, .gamma = 0.5});
  Loader train(train_ds, nd::training_shard(global_batch, comm, {.shuffle = true, .seed = 3}));
  Tests tests = {{"16", Loader(test_ds, nd::evaluation_shard(comm, {.batch_size = 2}))}};
  training::Trainer trainer(model, {.n_epochs = n_epochs, .data_parallel = &ddp});
  trainer.train(train, tests, opt, sched, h1, {{"h1", h1}, {"l2", l2}});
  CHECK(ddp.sync_steps() == n_epochs * 2);

  const auto& a = ref_trainer.history();
  const auto& b = trainer.history();
  REQUIRE(a.size() == b.size());
  double worst = 0;
  auto rel = [&](double x, double y) { worst = std::max(worst, std::abs(x - y) / std::max(1e-12, std::abs(x))); };
  for (std::size_t e = 0; e < a.size(); ++e) {
    rel(a[e].train_err, b[e].train_err);
    rel(a[e].avg_loss, b[e].avg_loss);
    CHECK(a[e].lr == b[e].lr);
    for (const auto& [k, v] : a[e].eval) rel(v, b[e].eval.at(k));
  }
  MESSAGE("ranks: ", comm.size(), ", worst relative difference of the metrics: ", worst);
  CHECK(worst < 1e-5);
  // The final parameters agree too, and are the same on every rank.
  const auto pa = ref.parameters(), pb = model.parameters();
  double pworst = 0;
  for (std::size_t k = 0; k < pa.size(); ++k) {
    const auto va = host_bytes_as_floats(pa[k], false), vb = host_bytes_as_floats(pb[k], false);
    for (std::size_t i = 0; i < va.size(); ++i) pworst = std::max(pworst, double(std::abs(va[i] - vb[i])));
    std::vector<float> lo = vb, hi = vb;
    comm.allreduce(std::span<float>(lo), nd::ReduceOp::min);
    comm.allreduce(std::span<float>(hi), nd::ReduceOp::max);
    CHECK(lo == hi);
  }
  MESSAGE("worst parameter difference: ", pworst);
  CHECK(pworst < 1e-4);
}

TEST_CASE("inside a code that initialised MPI: Environment leaves it alone; a user communicator works") {
  // main() made the first Environment (or the solver called MPI_Init): a second one neither
  // initialises nor, when destroyed, finalises.
  {
    nd::Environment again;
    CHECK_FALSE(again.owns_mpi());
  }
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  CHECK(initialized);
  CHECK_FALSE(finalized);
  // A solver's own communicator (here a duplicate of the world, ranks reversed).
  nd::Communicator world;
  MPI_Comm mine;
  MPI_Comm_split(MPI_COMM_WORLD, 0, world.size() - 1 - world.rank(), &mine);
  {
    nd::Communicator comm(mine);
    CHECK(comm.rank() == world.size() - 1 - world.rank());
    manual_seed(200 + static_cast<std::uint64_t>(world.rank()));
    FNO<2> model(tiny());
    nd::DistributedDataParallel ddp(model, comm);  // the root is rank 0 of `mine`
    const auto v = host_bytes_as_floats(model.parameters()[0], false);
    std::vector<float> lo = v, hi = v;
    comm.allreduce(std::span<float>(lo), nd::ReduceOp::min);
    comm.allreduce(std::span<float>(hi), nd::ReduceOp::max);
    CHECK(lo == hi);
  }
  MPI_Comm_free(&mine);
}

TEST_CASE("buffers (BatchNorm's running statistics) are broadcast from rank 0 before each training forward") {
  nd::Communicator comm;
  manual_seed(5);
  FNOOptions o = tiny();
  o.norm = "batch_norm";
  FNO<2> model(o);
  nd::DistributedDataParallel ddp(model, comm);
  const auto buffers = model.named_buffers();
  REQUIRE(!buffers.empty());
  // Each rank runs a training forward on its own data: the running statistics diverge.
  Generator g(31 + static_cast<std::uint64_t>(comm.rank()));
  model.train();
  (void)model(Var<float, 4>(Tensor<float, 4>::normal({2, 1, 16, 16}, 0, 1, g)));
  ddp.before_forward();
  for (const auto& entry : buffers) {
    const std::string name = entry.first;  // (clang 14 cannot capture a structured binding)
    auto* b = entry.second;
    CAPTURE(name);
    std::vector<std::byte> v(b->host_nbytes());
    b->value_to_host(v.data());
    std::vector<std::byte> root = v;
    comm.broadcast(std::span<std::byte>(root), 0);
    CHECK(v == root);
  }
}
