// Losses and the Trainer on another backend B against the cpu backend, from the same seeds: loss
// values and their gradients on random inputs, and whole training runs (per-epoch metrics, final
// parameters, the checkpoint written from B's memory), with the batches brought to B by a data
// processor, held in B's memory by the dataset, or copied there by the Trainer from a host
// dataset. Shared by training/test_trainer_backend.cpp (a host-memory backend that the host may
// not read directly: bitwise, tolerance 0) and cuda/test_cuda_training.cu (the GPU: within float
// tolerances against the cpu). Include the backend first.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

#include "../helpers.hpp"
#include "neuralop/data/data_loader.hpp"
#include "neuralop/data/data_processor.hpp"
#include "neuralop/data/tensor_dataset.hpp"
#include "neuralop/losses/losses.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/optim/optim.hpp"
#include "neuralop/training/training.hpp"

namespace backend_parity {

namespace no = neuralop;

// Relative tolerances of B against the cpu (0: bitwise equal).
struct Tolerances {
  double loss = 0;    // one loss value and its input gradients
  double metric = 0;  // per-epoch train_err, avg_loss and evaluation metrics of a training run
  double param = 0;   // the parameters after training (relative L2 per tensor)
};

inline bool close(double got, double want, double tol) {
  return std::abs(got - want) <= tol * std::max(std::abs(want), 1e-30);
}

// The same loss on both backends from the same inputs: value, and the gradients of x and y.
template <class B, std::size_t R, class F>
void compare_loss(const std::string& what, const no::Shape<R>& shape, std::uint64_t seed, double tol, const F& loss) {
  CAPTURE(what);
  no::Generator g(seed);
  const auto x0 = no::Tensor<float, R>::uniform(shape, -1, 1, g);
  const auto y0 = no::Tensor<float, R>::uniform(shape, -1, 1, g);
  no::Var<float, R> xc(x0, true), yc(y0, true);
  no::Var<float, R, B> xb(x0.template to<B>(), true), yb(y0.template to<B>(), true);
  no::Var<float, 0> lc = loss(xc, yc);
  no::Var<float, 0, B> lb = loss(xb, yb);
  const double vc = lc.value().item(), vb = lb.value().item();
  CAPTURE(vc);
  CAPTURE(vb);
  CHECK(std::isfinite(vc));
  CHECK(close(vb, vc, tol));
  lc.backward();
  lb.backward();
  CHECK(test::rel_l2(xb.grad().to_vector(), xc.grad().to_vector()) <= tol);
  CHECK(test::rel_l2(yb.grad().to_vector(), yc.grad().to_vector()) <= tol);
}

// LpLoss and H1Loss (rel, abs, their options) in 1-D, 2-D and 3-D.
template <class B>
void check_losses(double tol) {
  using no::losses::H1Loss;
  using no::losses::LpLoss;
  const no::Shape<4> s2{3, 2, 12, 10};
  const LpLoss<2> l2;
  compare_loss<B>("LpLoss<2>.rel", s2, 1, tol, [&](const auto& x, const auto& y) { return l2.rel(x, y); });
  compare_loss<B>("LpLoss<2>.abs", s2, 2, tol, [&](const auto& x, const auto& y) { return l2.abs(x, y); });
  compare_loss<B>("LpLoss<2>.rel no root", s2, 3, tol, [&](const auto& x, const auto& y) { return l2.rel(x, y, false); });
  const LpLoss<2> l1({.p = 1});
  compare_loss<B>("LpLoss<2> p=1 .rel", s2, 4, tol, [&](const auto& x, const auto& y) { return l1.rel(x, y); });
  const LpLoss<2> l3({.p = 3, .measure = {2.0, 0.5}, .reduction = "mean"});
  compare_loss<B>("LpLoss<2> p=3 mean .rel", s2, 5, tol, [&](const auto& x, const auto& y) { return l3.rel(x, y); });
  compare_loss<B>("LpLoss<2> p=3 mean .abs", s2, 6, tol, [&](const auto& x, const auto& y) { return l3.abs(x, y); });
  const LpLoss<1> l2_1d;
  compare_loss<B>("LpLoss<1>.rel", no::Shape<3>{4, 3, 17}, 7, tol, [&](const auto& x, const auto& y) { return l2_1d(x, y); });

  const H1Loss<2> h1;
  compare_loss<B>("H1Loss<2>.rel", s2, 11, tol, [&](const auto& x, const auto& y) { return h1.rel(x, y); });
  compare_loss<B>("H1Loss<2>.abs", s2, 12, tol, [&](const auto& x, const auto& y) { return h1.abs(x, y); });
  compare_loss<B>("H1Loss<2>.abs quadrature", s2, 13, tol,
                  [&](const auto& x, const auto& y) { return h1.abs(x, y, std::vector<double>{0.5, 0.25}); });
  const H1Loss<2> h1_np({.reduction = "mean", .periodic_in_x = false, .periodic_in_y = false});
  compare_loss<B>("H1Loss<2> non-periodic mean .rel", s2, 14, tol, [&](const auto& x, const auto& y) { return h1_np.rel(x, y); });
  compare_loss<B>("H1Loss<2> non-periodic .rel no root", s2, 15, tol,
                  [&](const auto& x, const auto& y) { return h1_np.rel(x, y, std::nullopt, false); });
  const H1Loss<1> h1_1d;
  compare_loss<B>("H1Loss<1>.rel", no::Shape<3>{4, 3, 17}, 16, tol, [&](const auto& x, const auto& y) { return h1_1d(x, y); });
  const H1Loss<3> h1_3d({.periodic_in_y = false});
  compare_loss<B>("H1Loss<3>.rel", no::Shape<5>{2, 2, 6, 5, 7}, 17, tol, [&](const auto& x, const auto& y) { return h1_3d(x, y); });
}

// ---- training runs

using HostDS = no::data::TensorDataset<float, 4>;
using HostLoader = no::data::DataLoader<HostDS>;

// A tiny synthetic problem: x uniform in [-1, 1), y a smooth pointwise map of x plus its shift
// along the last axis (so the operator is not pointwise).
struct Data {
  no::Tensor<float, 4> x, y;
};
inline Data make_data(no::index_t n, no::index_t res, std::uint64_t seed) {
  no::Generator g(seed);
  auto x = no::Tensor<float, 4>::uniform({n, 1, res, res}, -1, 1, g);
  no::Tensor<float, 4> y({n, 1, res, res});
  y.slice(3, 0, res - 1).assign(0.5f * x.slice(3, 1, res) + 0.25f * x.slice(3, 0, res - 1) * x.slice(3, 0, res - 1));
  y.slice(3, res - 1, res).assign(0.5f * x.slice(3, 0, 1) + 0.25f * x.slice(3, res - 1, res) * x.slice(3, res - 1, res));
  return {std::move(x), std::move(y)};
}

// A folder under the system temp dir, removed at the end of the scope.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name)
      : path((std::filesystem::temp_directory_path() / ("neuralop_parity_" + name + "_" + std::to_string(::getpid()))).string()) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

struct RunResult {
  std::vector<no::training::EpochMetrics> history;
  no::io::StateDict params;  // host copies
};

inline no::FNOOptions fno_options(int in_channels) {
  return {.n_modes = {4, 4}, .in_channels = in_channels, .out_channels = 1, .hidden_channels = 8, .n_layers = 2};
}

// Host loaders, DefaultDataProcessor on B (input and output normalizers fitted on B, grid
// channels appended): it moves each batch to B. H1 training loss, h1 and l2 evaluation on two
// resolutions, AdamW, cosine schedule, a checkpoint after every epoch into save_dir.
template <class B>
RunResult run_with_processor(const std::string& save_dir) {
  const Data train = make_data(8, 16, 21), test16 = make_data(4, 16, 22), test32 = make_data(4, 32, 23);
  no::manual_seed(7);
  no::FNO<2, float, B> model(fno_options(3));
  HostLoader train_loader(HostDS(train.x, train.y), {.batch_size = 4, .shuffle = true, .seed = 3});
  std::vector<std::pair<std::string, HostLoader>> tests{{"16", HostLoader(HostDS(test16.x, test16.y), {.batch_size = 3})},
                                                        {"32", HostLoader(HostDS(test32.x, test32.y), {.batch_size = 4})}};
  auto in = std::make_shared<no::data::UnitGaussianNormalizer<float, 4, B>>(std::vector<int>{0, 2, 3});
  auto out = std::make_shared<no::data::UnitGaussianNormalizer<float, 4, B>>(std::vector<int>{0, 2, 3});
  in->fit(train.x.template to<B>());
  out->fit(train.y.template to<B>());
  no::data::DefaultDataProcessor<float, 4, 4, B> processor(in, out, no::data::GridPositionalEncoding{});
  no::optim::AdamW opt(model.parameters(), {.lr = 8e-3, .weight_decay = 1e-4});
  no::optim::CosineAnnealingLR sched(opt, {.T_max = 3});
  no::training::Trainer trainer(model, {.n_epochs = 3}, processor);
  const no::losses::H1Loss<2> h1;
  const no::losses::LpLoss<2> l2;
  trainer.train(train_loader, tests, opt, sched, h1, {{"h1", h1}, {"l2", l2}}, {.save_every = 1, .save_dir = save_dir});
  return {trainer.history(), model.state_dict()};
}

// How run_without_normalizers feeds the model on B.
enum class Feed {
  dataset_on_b,    // the dataset in B's memory (batches gathered there), no processor
  host_moved,      // a host dataset, no processor: the Trainer copies each batch to B
  host_processor,  // a host dataset and DefaultDataProcessor<float, 4, 4, B> without normalizers (it only moves)
};

// FNO<2, float, B> without normalisation: LpLoss training loss, ReduceLROnPlateau, a last batch
// smaller than the others, l2 and h1 evaluation at two resolutions. With a save_dir, a checkpoint
// after every epoch; with resume, the model, optimizer, scheduler and loaders are fresh (another
// seed) and everything comes from the checkpoint in save_dir.
template <class B, Feed feed = Feed::dataset_on_b>
RunResult run_without_normalizers(const std::string& save_dir = "", std::int64_t n_epochs = 3, bool resume = false) {
  using D = std::conditional_t<feed == Feed::dataset_on_b, B, no::cpu>;  // where the dataset lives
  using DS = no::data::TensorDataset<float, 4, 4, D>;
  using Loader = no::data::DataLoader<DS>;
  const Data train = make_data(8, 16, 31), test16 = make_data(5, 16, 32), test32 = make_data(3, 32, 33);
  no::manual_seed(resume ? 99 : 8);
  no::FNO<2, float, B> model(fno_options(1));
  const auto on_d = [](const no::Tensor<float, 4>& t) { return t.template to<D>(); };
  Loader train_loader(DS(on_d(train.x), on_d(train.y)), {.batch_size = 3, .shuffle = true, .seed = 5});
  std::vector<std::pair<std::string, Loader>> tests{{"16", Loader(DS(on_d(test16.x), on_d(test16.y)), {.batch_size = 2})},
                                                    {"32", Loader(DS(on_d(test32.x), on_d(test32.y)), {.batch_size = 2})}};
  no::optim::AdamW opt(model.parameters(), {.lr = 5e-3});
  no::optim::ReduceLROnPlateau sched(opt, {.factor = 0.5, .patience = 0});
  const no::losses::H1Loss<2> h1;
  const no::losses::LpLoss<2> l2;
  no::training::TrainOptions<float, B> o;  // on the model's backend, whatever the loader's
  if (!save_dir.empty()) {
    o.save_every = 1;
    o.save_dir = save_dir;
  }
  if (resume) o.resume_from_dir = save_dir;
  const auto go = [&](auto& trainer) {
    using Tr = std::remove_cvref_t<decltype(trainer)>;
    static_assert(std::is_same_v<typename Tr::template loss_fn<Loader>, no::training::LossFn<float, 4, B>>);
    static_assert(std::is_same_v<typename Tr::template train_options<Loader>, no::training::TrainOptions<float, B>>);
    trainer.train(train_loader, tests, opt, sched, l2, {{"l2", l2}, {"h1", h1}}, o);
    return RunResult{trainer.history(), model.state_dict()};
  };
  if constexpr (feed == Feed::host_processor) {
    no::data::DefaultDataProcessor<float, 4, 4, B> processor;
    no::training::Trainer trainer(model, {.n_epochs = n_epochs}, processor);
    return go(trainer);
  } else {
    no::training::Trainer trainer(model, {.n_epochs = n_epochs});
    return go(trainer);
  }
}

inline std::vector<std::complex<double>> values_of(const no::io::RawTensor& t) {
  return t.to_vector<std::complex<double>>();
}

inline void compare_params(const no::io::StateDict& got, const no::io::StateDict& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (const auto& kv : want) {
    const std::string name = kv.first;
    CAPTURE(name);
    REQUIRE(got.contains(name));
    REQUIRE(got.at(name).shape == kv.second.shape);
    CHECK(test::rel_l2(values_of(got.at(name)), values_of(kv.second)) <= tol);
  }
}

inline void compare_runs(const RunResult& got, const RunResult& want, const Tolerances& tol) {
  REQUIRE(got.history.size() == want.history.size());
  for (std::size_t e = 0; e < want.history.size(); ++e) {
    const auto& a = got.history[e];
    const auto& b = want.history[e];
    CAPTURE(e);
    CHECK(a.epoch == b.epoch);
    CHECK(close(a.train_err, b.train_err, tol.metric));
    CHECK(close(a.avg_loss, b.avg_loss, tol.metric));
    CHECK(close(a.lr, b.lr, tol.metric));
    REQUIRE(a.eval.names() == b.eval.names());
    for (const auto& name : b.eval.names()) {
      CAPTURE(name);
      CHECK(close(a.eval.at(name), b.eval.at(name), tol.metric));
    }
  }
  compare_params(got.params, want.params, tol.param);
}

template <class B>
void check_trainer_with_processor(const Tolerances& tol) {
  const TempDir dir_b("b"), dir_c("c");
  const RunResult rb = run_with_processor<B>(dir_b.path);
  const RunResult rc = run_with_processor<no::cpu>(dir_c.path);
  compare_runs(rb, rc, tol);
  // The checkpoint written from B's memory holds B's parameters exactly, and loads into a model
  // and an optimizer on either backend.
  no::FNO<2, float> on_cpu(fno_options(3));
  no::optim::AdamW opt_cpu(on_cpu.parameters(), {});
  const auto st = no::training::load_training_state(dir_b.path, "model", on_cpu, &opt_cpu);
  CHECK(st.epoch == 2);
  compare_params(on_cpu.state_dict(), rb.params, 0);
  no::FNO<2, float, B> on_b(fno_options(3));
  no::optim::AdamW opt_b(on_b.parameters(), {});
  (void)no::training::load_training_state(dir_b.path, "model", on_b, &opt_b);
  compare_params(on_b.state_dict(), rb.params, 0);
}

template <class B>
void check_trainer_on_device_dataset(const Tolerances& tol) {
  compare_runs(run_without_normalizers<B>(), run_without_normalizers<no::cpu>(), tol);
}

// A host dataset and no processor for a model on B: the Trainer copies each training and
// evaluation batch to B, so the run is the one whose dataset lives on B (bitwise: the same
// computation on B), and the cpu run's within tol; a DefaultDataProcessor on B that only moves
// gives it too; stopped after 2 epochs and resumed from its checkpoint, it ends the same.
template <class B>
void check_trainer_moving_host_batches(const Tolerances& tol) {
  const TempDir dir_full("moved_full"), dir_part("moved_part");
  const RunResult moved = run_without_normalizers<B, Feed::host_moved>(dir_full.path);
  compare_runs(moved, run_without_normalizers<B>(), {});
  compare_runs(moved, run_without_normalizers<no::cpu>(), tol);
  compare_runs(run_without_normalizers<B, Feed::host_processor>(), moved, {});
  RunResult part = run_without_normalizers<B, Feed::host_moved>(dir_part.path, 2);
  const RunResult rest = run_without_normalizers<B, Feed::host_moved>(dir_part.path, 3, true);
  REQUIRE(part.history.size() == 2);
  REQUIRE(rest.history.size() == 1);
  part.history.push_back(rest.history[0]);
  part.params = rest.params;
  compare_runs(part, moved, {});
  // The checkpoint written from B's memory after the last epoch holds B's parameters.
  no::FNO<2, float> on_cpu(fno_options(1));
  (void)no::training::load_training_state(dir_full.path, "model", on_cpu);
  compare_params(on_cpu.state_dict(), moved.params, 0);
}

}  // namespace backend_parity
