// Trainer against neuraloperator 2.0.0's Trainer (tools/reference/make_trainer_golden.py): per-epoch
// train_err / avg_loss / lr / eval metrics and final parameters of a tiny 2-D FNO (with an output
// normalising processor and a cosine schedule; without a processor and with ReduceLROnPlateau;
// resumed from a NeuralOperator checkpoint). Then our own guarantees: a stopped and resumed run
// is bit-exact, a NaN loss stops training and keeps the last good checkpoint, damaged checkpoints
// and bad options give clear errors, the metrics log, callbacks and verbose lines.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "../helpers.hpp"
#include "neuralop/data/data_loader.hpp"
#include "neuralop/data/data_processor.hpp"
#include "neuralop/data/tensor_dataset.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/losses/losses.hpp"
#include "neuralop/models/fno.hpp"
#include "neuralop/optim/optim.hpp"
#include "neuralop/training/training.hpp"

using namespace neuralop;
using namespace neuralop::training;
namespace fs = std::filesystem;

namespace {

using DS = data::TensorDataset<float, 4>;
using Loader = data::DataLoader<DS>;
using Tests = std::vector<std::pair<std::string, Loader>>;
using V4 = Var<float, 4>;

const std::string golden_dir = std::string(NEURALOP_SOURCE_DIR) + "/tests/training/golden";

const io::Value& golden() {
  static const io::Value g = io::load_pt(golden_dir + "/trainer.pt");
  return g;
}

FNOOptions tiny_options(double dropout = 0) {
  return {.n_modes = {4, 4}, .in_channels = 1, .out_channels = 1, .hidden_channels = 8, .n_layers = 2,
          .channel_mlp_dropout = dropout};
}

// The golden model: the initial state_dict NeuralOperator's runs started from.
void load_init(FNO<2>& m) { m.load_state_dict(io::state_dict_from_value(golden().at("init"))); }

Tensor<float, 4> data_tensor(const char* name) { return golden().at("data").at(name).as<Tensor<float, 4>>(); }

Loader train_loader(bool shuffle = false) {
  return Loader(DS(data_tensor("train_x"), data_tensor("train_y")), {.batch_size = 4, .shuffle = shuffle, .seed = 3});
}
Tests test_loaders(bool shuffle = false) {
  return {{"16", Loader(DS(data_tensor("test16_x"), data_tensor("test16_y")), {.batch_size = 4, .shuffle = shuffle, .seed = 9})},
          {"32", Loader(DS(data_tensor("test32_x"), data_tensor("test32_y")), {.batch_size = 4})}};
}

using Processor = data::DefaultDataProcessor<float, 4>;

// NeuralOperator's DefaultDataProcessor(out_normalizer=UnitGaussianNormalizer(dim=[0, 2, 3]))
// with the statistics the golden run fitted on the training targets.
Processor golden_processor() {
  const auto n = golden().at("normalizer");
  auto out = std::make_shared<data::UnitGaussianNormalizer<float, 4>>(
      n.at("mean").as<Tensor<float, 4>>(), n.at("std").as<Tensor<float, 4>>(), n.at("eps").to<double>(),
      std::vector<int>{0, 2, 3});
  return Processor(nullptr, out);
}

// A folder under the system temp dir, removed at the end of the scope.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name)
      : path((fs::temp_directory_path() / ("neuralop_trainer_" + name + "_" + std::to_string(::getpid()))).string()) {
    fs::remove_all(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& f) const { return (fs::path(path) / f).string(); }
};

double rel(double got, double want) { return std::abs(got - want) / std::max(std::abs(want), 1e-12); }

// Per-epoch metrics and the final parameters against a golden run.
void check_run(const std::vector<EpochMetrics>& hist, const EpochMetrics& returned, const FNO<2>& model,
               const io::Value& run, double tol = 1e-5) {
  const auto epochs = run.at("epochs");
  REQUIRE(hist.size() == epochs.size());
  double worst = 0;
  for (std::size_t i = 0; i < hist.size(); ++i) {
    const auto e = epochs.at(i);
    INFO("epoch " << e.at("epoch").as<std::int64_t>());
    CHECK(hist[i].epoch == e.at("epoch").as<std::int64_t>());
    worst = std::max({worst, rel(hist[i].train_err, e.at("train_err").to<double>()),
                      rel(hist[i].avg_loss, e.at("avg_loss").to<double>())});
    CHECK(hist[i].lr == doctest::Approx(e.at("lr").to<double>()).epsilon(1e-12));
    const auto ev = e.at("eval");
    CHECK(hist[i].eval.size() == ev.size());
    for (const auto& kv : ev.items()) {  // no structured bindings in doctest macros (clang 14)
      const std::string key = kv.first.as<std::string>();
      INFO("metric " << key);
      REQUIRE(hist[i].eval.contains(key));
      worst = std::max(worst, rel(hist[i].eval.at(key), kv.second.to<double>()));
    }
  }
  CHECK(worst < tol);
  MESSAGE("worst relative difference of the metrics: " << worst);
  // The returned metrics are the last epoch's (NeuralOperator's epoch_metrics).
  const auto ret = run.at("returned");
  CHECK(rel(returned.train_err, ret.at("train_err").to<double>()) < tol);
  CHECK(rel(returned.avg_loss, ret.at("avg_loss").to<double>()) < tol);
  for (const auto& [k, v] : returned.eval) CHECK(rel(v, ret.at(k).to<double>()) < tol);

  const auto sd = model.state_dict();
  double worst_p = 0;
  for (const auto& kv : run.at("final").items()) {
    const std::string name = kv.first.as<std::string>();
    INFO("parameter " << name);
    const auto& got = sd.at(name);
    const auto& w = kv.second.tensor();
    const double e = io::is_complex_dtype(w.dtype) ? test::rel_l2(got.to_vector<std::complex<float>>(), w.to_vector<std::complex<float>>())
                                                   : test::rel_l2(got.to_vector<float>(), w.to_vector<float>());
    worst_p = std::max(worst_p, e);
  }
  CHECK(worst_p < tol);
  MESSAGE("worst relative L2 difference of the final parameters: " << worst_p);
}

// The state_dict's bytes, for bitwise comparisons.
std::vector<std::vector<std::byte>> raw_state(const nn::Module& m) {
  std::vector<std::vector<std::byte>> out;
  for (const auto& [name, t] : m.state_dict()) {
    const auto b = t.contiguous_bytes();
    const auto s = b.span();
    out.emplace_back(s.begin(), s.end());
  }
  return out;
}

}  // namespace

TEST_CASE("Trainer matches NeuralOperator: output-normalising processor, CosineAnnealingLR, H1 loss, eval h1/l2 on two loaders") {
  FNO<2> model(tiny_options());
  load_init(model);
  Processor proc = golden_processor();
  optim::AdamW opt(model.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  optim::CosineAnnealingLR sched(opt, {.T_max = 5});
  losses::H1Loss<2> h1;
  losses::LpLoss<2> l2;
  auto train = train_loader();
  auto tests = test_loaders();
  Trainer trainer(model, {.n_epochs = 3, .eval_interval = 1}, proc);
  const auto last = trainer.train(train, tests, opt, sched, h1, {{"h1", h1}, {"l2", l2}});
  check_run(trainer.history(), last, model, golden().at("runs").at("processor_cosine"));
  // evaluate() leaves model and processor in eval mode, as NeuralOperator.
  CHECK_FALSE(model.training());
  CHECK_FALSE(proc.training());
}

TEST_CASE("Trainer matches NeuralOperator: ReduceLROnPlateau gets the undivided sum, no processor, eval_interval 2") {
  FNO<2> model(tiny_options());
  load_init(model);
  optim::AdamW opt(model.parameters(), {.lr = 5e-3});
  const auto o = golden().at("runs");
  optim::ReduceLROnPlateau sched(opt, {.mode = "min", .factor = 0.5, .patience = 0, .threshold = 1.3, .threshold_mode = "abs"});
  losses::LpLoss<2> l2;
  auto train = train_loader();
  auto tests = test_loaders();
  Trainer trainer(model, {.n_epochs = 3, .eval_interval = 2});
  const auto last = trainer.train(train, tests, opt, sched, l2, {{"l2", l2}});
  check_run(trainer.history(), last, model, o.at("plateau_plain"));
  CHECK(trainer.history()[1].eval.empty());  // epoch 1 is not evaluated
  CHECK(trainer.history()[1].lr == 0.0025);  // halved: the sum improved by less than 1.3
}

TEST_CASE("Trainer resumes a NeuralOperator checkpoint AT its saved epoch (that epoch runs again)") {
  // The golden checkpoint was taken by NeuralOperator after epoch 1 (manifest epoch 1, no record
  // of ours); its model_state_dict.pt carries NeuralOperator's pickled "_metadata".
  FNO<2> model(tiny_options());
  Processor proc = golden_processor();
  optim::AdamW opt(model.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  optim::CosineAnnealingLR sched(opt, {.T_max = 5});
  losses::H1Loss<2> h1;
  losses::LpLoss<2> l2;
  auto train = train_loader();
  auto tests = test_loaders();
  Trainer trainer(model, {.n_epochs = 3}, proc);
  const auto last = trainer.train(train, tests, opt, sched, h1, {{"h1", h1}, {"l2", l2}},
                                  {.resume_from_dir = golden_dir + "/trainer_ckpt"});
  CHECK(trainer.start_epoch() == 1);
  check_run(trainer.history(), last, model, golden().at("runs").at("resume_neuralop"));
}

namespace {

struct BitRun {
  std::vector<std::vector<std::byte>> params;
  std::vector<EpochMetrics> history;
};

// A model with dropout (so the random generator matters), a shuffled training loader and a
// shuffled test loader, AdamW with weight decay and a cosine schedule.
BitRun bit_run(std::int64_t n_epochs, std::uint64_t init_seed, std::optional<std::string> save_dir,
               std::optional<std::string> resume, bool activation_checkpointing = false, bool offload = false) {
  manual_seed(init_seed);
  FNO<2> model(tiny_options(0.25));
  optim::AdamW opt(model.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
  optim::CosineAnnealingLR sched(opt, {.T_max = 3});
  losses::H1Loss<2> h1;
  losses::LpLoss<2> l2;
  auto train = train_loader(true);
  auto tests = test_loaders(true);
  Trainer trainer(model, {.n_epochs = n_epochs, .activation_checkpointing = activation_checkpointing,
                          .offload_activations = offload});
  CHECK(model.activation_checkpointing() == activation_checkpointing);
  TrainOptions<float> o;
  if (save_dir) {
    o.save_every = 1;
    o.save_dir = *save_dir;
  }
  o.resume_from_dir = resume;
  const auto offset = default_generator().state().offset;
  trainer.train(train, tests, opt, sched, h1, {{"h1", h1}, {"l2", l2}}, o);
  CHECK(default_generator().state().offset > offset);  // dropout drew from the generator
  return {raw_state(model), trainer.history()};
}

void check_same_epoch(const EpochMetrics& a, const EpochMetrics& b) {
  INFO("epoch " << a.epoch);
  CHECK(a.epoch == b.epoch);
  CHECK(a.train_err == b.train_err);
  CHECK(a.avg_loss == b.avg_loss);
  CHECK(a.lr == b.lr);
  REQUIRE(a.eval.size() == b.eval.size());
  for (const auto& [k, v] : a.eval) CHECK(v == b.eval.at(k));
}

}  // namespace

TEST_CASE("Trainer: a run stopped after epoch 1 and resumed in a fresh Trainer continues bit-exactly") {
  TempDir dir("bitexact");
  const BitRun full = bit_run(4, 5, std::nullopt, std::nullopt);
  const BitRun first = bit_run(2, 5, dir.path, std::nullopt);
  if (const char* keep = std::getenv("NEURALOP_TRAINER_CHECKPOINT_OUT")) {  // for make_trainer_golden.py --check
    fs::create_directories(keep);
    for (const auto& f : fs::directory_iterator(dir.path)) fs::copy_file(f.path(), fs::path(keep) / f.path().filename(), fs::copy_options::overwrite_existing);
  }
  {
    const auto m = io::load_pt(dir / "manifest.pt");
    CHECK(m.at("epoch").as<std::int64_t>() == 1);  // NeuralOperator's field: the epoch just trained
    CHECK(m.at("model").as<std::string>() == "model_state_dict.pt");
    CHECK(m.at("neuralop_cpp").at("next_epoch").as<std::int64_t>() == 2);
    CHECK(m.at("neuralop_cpp").at("train_loader_epoch").as<std::int64_t>() == 2);
  }
  // A different initialisation and generator state: everything must come from the checkpoint.
  const BitRun resumed = bit_run(4, 77, dir.path, dir.path);
  REQUIRE(first.history.size() == 2);
  REQUIRE(resumed.history.size() == 2);
  for (int e = 0; e < 2; ++e) check_same_epoch(first.history[e], full.history[e]);
  for (int e = 0; e < 2; ++e) check_same_epoch(resumed.history[e], full.history[e + 2]);
  CHECK(resumed.params == full.params);
  CHECK(first.params != full.params);
}

TEST_CASE("Trainer: activation checkpointing gives bitwise the same losses and parameters (dropout included)") {
  const BitRun plain = bit_run(3, 5, std::nullopt, std::nullopt, false);
  const BitRun ckpt = bit_run(3, 5, std::nullopt, std::nullopt, true);
  REQUIRE(ckpt.history.size() == 3);
  for (int e = 0; e < 3; ++e) check_same_epoch(ckpt.history[e], plain.history[e]);
  CHECK(ckpt.params == plain.params);
  // A model without the switch: an error, not a silent no-op.
  nn::SpectralConv<2> conv({.in_channels = 1, .out_channels = 1, .n_modes = {2, 2}});
  CHECK(test::error_message<value_error>([&] { Trainer t(conv, {.n_epochs = 1, .activation_checkpointing = true}); })
            .find("set_activation_checkpointing") != std::string::npos);
}

TEST_CASE("Trainer: offload_activations scopes each batch's forward pass and loss; on the cpu nothing changes") {
  const BitRun plain = bit_run(3, 5, std::nullopt, std::nullopt);
  for (bool ckpt : {false, true}) {
    CAPTURE(ckpt);
    const BitRun off = bit_run(3, 5, std::nullopt, std::nullopt, ckpt, true);
    REQUIRE(off.history.size() == 3);
    for (int e = 0; e < 3; ++e) check_same_epoch(off.history[e], plain.history[e]);
    CHECK(off.params == plain.params);
  }
  // The offload hooks are in effect while the training loss is computed, not after the step.
  FNO<2> model(tiny_options());
  load_init(model);
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
  losses::H1Loss<2> h1;
  losses::LpLoss<2> l2;
  int in_scope = 0;
  LossFn<float, 4> loss = [&](const V4& a, const V4& b) {
    if (dynamic_cast<const HostOffloadHooks*>(current_saved_tensor_hooks().get())) ++in_scope;
    return h1(a, b);
  };
  struct Outside : Callback {
    int outside = 0;
    void on_batch_end(std::int64_t, std::int64_t, double) override {
      if (!current_saved_tensor_hooks()) ++outside;
    }
  } cb;
  auto train = train_loader();
  auto tests = test_loaders();
  Trainer trainer(model, {.n_epochs = 1, .offload_activations = true, .callbacks = {&cb}});
  trainer.train(train, tests, opt, sched, loss, {{"l2", l2}});
  CHECK(in_scope == 4);  // 4 batches
  CHECK(cb.outside == 4);
  CHECK_FALSE(current_saved_tensor_hooks());
}

TEST_CASE("Trainer: a NaN training loss stops training naming epoch and batch; the last good checkpoint is kept") {
  TempDir dir("nan");
  FNO<2> model(tiny_options());
  load_init(model);
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
  losses::H1Loss<2> h1;
  losses::LpLoss<2> l2;
  int calls = 0;
  LossFn<float, 4> nan_at_e1_b2 = [&](const V4& a, const V4& b) {
    Var<float, 0> l = h1(a, b);
    if (calls++ == 4 + 2) return Var<float, 0>(l * std::numeric_limits<float>::quiet_NaN());  // 4 batches per epoch
    return l;
  };
  struct Snapshots : Callback {
    const FNO<2>* m;
    std::vector<std::vector<std::vector<std::byte>>> after_epoch;
    void on_epoch_end(const EpochMetrics&) override { after_epoch.push_back(raw_state(*m)); }
  } snaps;
  snaps.m = &model;
  auto train = train_loader();
  auto tests = test_loaders();
  Trainer trainer(model, {.n_epochs = 3, .callbacks = {&snaps}});
  const std::string msg = test::error_message<training_error>([&] {
    trainer.train(train, tests, opt, sched, nan_at_e1_b2, {{"h1", h1}, {"l2", l2}}, {.save_every = 1, .save_dir = dir.path});
  });
  CHECK(msg.find("nan at epoch 1, batch 2") != std::string::npos);
  CHECK(msg.find("after epoch 0") != std::string::npos);
  MESSAGE(msg);
  REQUIRE(snaps.after_epoch.size() == 1);
  CHECK(io::load_pt(dir / "manifest.pt").at("epoch").as<std::int64_t>() == 0);
  FNO<2> reloaded(tiny_options());
  io::load_state_dict(reloaded, dir / "model_state_dict.pt");
  CHECK(raw_state(reloaded) == snaps.after_epoch[0]);
  CHECK(io::load_pt(dir / "optimizer.pt").at("state").find(io::Value(std::int64_t{0}))->at("step").as<std::int64_t>() == 4);
  // No staged leftovers of a checkpoint in the folder.
  for (const auto& f : fs::directory_iterator(dir.path)) CHECK(f.path().extension() == ".pt");
}

TEST_CASE("Trainer: parameters turned NaN by a NaN gradient are never checkpointed") {
  TempDir dir("nangrad");
  FNO<2> model(tiny_options());
  load_init(model);
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  losses::H1Loss<2> h1;
  int calls = 0;
  // Finite value, NaN gradient (0 * d sqrt(s)/ds at s = 0) in the last batch of epoch 1.
  LossFn<float, 4> nan_grad = [&](const V4& a, const V4& b) {
    Var<float, 0> l = h1(a, b);
    if (calls++ == 7) return Var<float, 0>(l + 0.0f * sqrt(sum(a * 0.0f)));
    return l;
  };
  auto train = train_loader();
  auto tests = test_loaders();
  Trainer trainer(model, {.n_epochs = 3});
  const std::string msg = test::error_message<training_error>([&] {
    trainer.train(train, tests, opt, nullptr, nan_grad, {{"h1", h1}}, {.save_every = 1, .save_dir = dir.path});
  });
  CHECK(msg.find("after epoch 1") != std::string::npos);
  CHECK(msg.find("NaN or Inf") != std::string::npos);
  MESSAGE(msg);
  CHECK(io::load_pt(dir / "manifest.pt").at("epoch").as<std::int64_t>() == 0);
  FNO<2> reloaded(tiny_options());
  io::load_state_dict(reloaded, dir / "model_state_dict.pt");
  CHECK_FALSE(first_nonfinite(reloaded).has_value());
}

TEST_CASE("Trainer: damaged checkpoints give an io_error naming the file; nothing is loaded from them") {
  TempDir dir("damaged");
  auto make = [&](const std::string& sub) {
    FNO<2> model(tiny_options());
    load_init(model);
    optim::AdamW opt(model.parameters(), {.lr = 1e-2});
    losses::LpLoss<2> l2;
    auto train = train_loader();
    auto tests = test_loaders();
    Trainer trainer(model, {.n_epochs = 1});
    trainer.train(train, tests, opt, nullptr, l2, {}, {.save_every = 1, .save_dir = dir / sub});
  };
  auto resume = [&](const std::string& from) {
    FNO<2> model(tiny_options());
    load_init(model);
    const auto before = raw_state(model);
    optim::AdamW opt(model.parameters(), {.lr = 1e-2});
    losses::LpLoss<2> l2;
    auto train = train_loader();
    auto tests = test_loaders();
    Trainer trainer(model, {.n_epochs = 2});
    const std::string msg = test::error_message<io_error>(
        [&] { trainer.train(train, tests, opt, nullptr, l2, {}, {.resume_from_dir = from}); });
    CHECK(raw_state(model) == before);
    return msg;
  };
  auto truncate = [](const std::string& path) { fs::resize_file(path, fs::file_size(path) / 2); };

  make("no_manifest");
  fs::remove(dir / "no_manifest/manifest.pt");
  std::string msg = resume(dir / "no_manifest");
  CHECK(msg.find("manifest.pt is missing") != std::string::npos);
  MESSAGE(msg);

  make("short_optimizer");
  truncate(dir / "short_optimizer/optimizer.pt");
  msg = resume(dir / "short_optimizer");
  CHECK(msg.find("optimizer.pt has") != std::string::npos);
  CHECK(msg.find("bytes, manifest.pt recorded") != std::string::npos);
  MESSAGE(msg);

  make("corrupt_model");
  {
    std::fstream f(dir / "corrupt_model/model_state_dict.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  msg = resume(dir / "corrupt_model");
  CHECK(msg.find("model_state_dict.pt does not match the CRC-32") != std::string::npos);

  // NeuralOperator's checkpoint has no record of ours: the reader's own error names the file.
  fs::create_directories(dir / "neuralop");
  for (const auto& f : fs::directory_iterator(golden_dir + "/trainer_ckpt")) fs::copy_file(f.path(), dir / ("neuralop/" + f.path().filename().string()));
  truncate(dir / "neuralop/model_state_dict.pt");
  msg = resume(dir / "neuralop");
  CHECK(msg.find("cannot read model_state_dict.pt") != std::string::npos);
  MESSAGE(msg);

  fs::create_directories(dir / "empty");
  msg = resume(dir / "empty");
  CHECK(msg.find("neither best_model_state_dict.pt nor model_state_dict.pt") != std::string::npos);
}

TEST_CASE("Trainer: save_best must name a metric; it saves best_model when the metric improves and disables save_every") {
  TempDir dir("best");
  FNO<2> model(tiny_options());
  load_init(model);
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  losses::H1Loss<2> h1;
  losses::LpLoss<2> l2;
  auto train = train_loader();
  auto tests = test_loaders();
  Trainer trainer(model, {.n_epochs = 3});
  const std::string msg = test::error_message<value_error>([&] {
    trainer.train(train, tests, opt, nullptr, h1, {{"h1", h1}, {"l2", l2}}, {.save_best = "16_l3", .save_dir = dir.path});
  });
  CHECK(msg.find("save_best='16_l3'") != std::string::npos);
  CHECK(msg.find("16_h1, 16_l2, 32_h1, 32_l2") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path));

  trainer.train(train, tests, opt, nullptr, h1, {{"h1", h1}, {"l2", l2}},
                {.save_every = 1, .save_best = "16_l2", .save_dir = dir.path});
  CHECK(fs::exists(dir / "best_model_state_dict.pt"));
  CHECK_FALSE(fs::exists(dir / "model_state_dict.pt"));
  std::int64_t best = 0;
  for (std::int64_t e = 1; e < 3; ++e)
    if (trainer.history()[e].eval.at("16_l2") < trainer.history()[best].eval.at("16_l2")) best = e;
  const auto m = io::load_pt(dir / "manifest.pt");
  CHECK(m.at("epoch").as<std::int64_t>() == best);
  CHECK(m.at("model").as<std::string>() == "best_model_state_dict.pt");
  CHECK(m.at("neuralop_cpp").at("best_metric").at("value").to<double>() == trainer.history()[best].eval.at("16_l2"));
}

TEST_CASE("Trainer: metrics log (CSV, JSON lines), callbacks in order, verbose lines, log rows kept on resume") {
  TempDir dir("log");
  const std::string ckpt = dir / "ckpt", logs = dir / "logs";
  struct Events : Callback {
    std::string s;
    void on_train_start(std::int64_t start, std::int64_t n) override { s += "start(" + std::to_string(start) + "," + std::to_string(n) + ") "; }
    void on_epoch_start(std::int64_t e) override { s += "e" + std::to_string(e) + " "; }
    void on_batch_end(std::int64_t, std::int64_t b, double) override { s += "b" + std::to_string(b) + " "; }
    void on_eval_end(std::int64_t e, const Metrics& m) override { s += "eval" + std::to_string(e) + ":" + std::to_string(m.size()) + " "; }
    void on_checkpoint(std::int64_t e, const std::string&) override { s += "ckpt" + std::to_string(e) + " "; }
    void on_epoch_end(const EpochMetrics& m) override { s += "end" + std::to_string(m.epoch) + " "; }
    void on_train_end(const EpochMetrics& m) override { s += "done" + std::to_string(m.epoch); }
  };
  auto run = [&](std::int64_t n_epochs, std::optional<std::string> resume, Events& ev, std::ostringstream& out) {
    FNO<2> model(tiny_options());
    load_init(model);
    optim::AdamW opt(model.parameters(), {.lr = 1e-2});
    losses::H1Loss<2> h1;
    losses::LpLoss<2> l2;
    auto train = train_loader();
    auto tests = test_loaders();
    Trainer trainer(model, {.n_epochs = n_epochs, .eval_interval = 2, .verbose = true, .log_dir = logs,
                            .progress_bar = false, .callbacks = {&ev}, .out = &out});
    TrainOptions<float> o{.save_every = 2, .save_dir = ckpt};
    o.resume_from_dir = resume;
    trainer.train(train, tests, opt, nullptr, h1, {{"h1", h1}, {"l2", l2}}, o);
  };
  auto lines = [](const std::string& path) {
    std::vector<std::string> v;
    std::ifstream f(path);
    for (std::string l; std::getline(f, l);) v.push_back(l);
    return v;
  };
  Events ev1;
  std::ostringstream out1;
  run(2, std::nullopt, ev1, out1);  // checkpoint after epoch 0 only
  CHECK(ev1.s == "start(0,2) e0 b0 b1 b2 b3 eval0:4 ckpt0 end0 e1 b0 b1 b2 b3 end1 done1");
  const std::string o1 = out1.str();
  CHECK(o1.find("Training on 16 samples\n") != std::string::npos);
  CHECK(o1.find("Testing on [8, 6] samples         on resolutions ['16', '32'].\n") != std::string::npos);
  CHECK(o1.find("Raw outputs of shape [4, 1, 8, 8]\n") != std::string::npos);
  CHECK(o1.find("[0] time=") != std::string::npos);
  CHECK(o1.find("Eval: 16_h1=") != std::string::npos);
  CHECK(o1.find("[1] time=") == std::string::npos);  // logged on evaluated epochs only, as NeuralOperator
  CHECK(o1.find("[Rank 0]: saved training state to " + ckpt) != std::string::npos);
  auto csv = lines(logs + "/metrics.csv");
  REQUIRE(csv.size() == 3);
  CHECK(csv[0] == "epoch,time,train_err,avg_loss,lr,16_h1,16_l2,32_h1,32_l2");
  CHECK(csv[1].rfind("0,", 0) == 0);
  CHECK(csv[2].rfind("1,", 0) == 0);
  CHECK(csv[2].substr(csv[2].size() - 4) == ",,,,");  // epoch 1 not evaluated
  auto js = lines(logs + "/metrics.jsonl");
  REQUIRE(js.size() == 2);
  CHECK(js[0].rfind("{\"epoch\": 0, \"time\": ", 0) == 0);
  CHECK(js[0].find("\"32_l2\": ") != std::string::npos);
  CHECK(js[1].find("16_h1") == std::string::npos);

  // Resume (from epoch 0's checkpoint: epoch 1 runs again): epoch 1's old rows are replaced.
  Events ev2;
  std::ostringstream out2;
  run(3, ckpt, ev2, out2);
  CHECK(ev2.s == "start(1,3) e1 b0 b1 b2 b3 end1 e2 b0 b1 b2 b3 eval2:4 ckpt2 end2 done2");
  CHECK(out2.str().find("Trainer resuming from epoch 1\n") != std::string::npos);
  csv = lines(logs + "/metrics.csv");
  REQUIRE(csv.size() == 4);
  for (int e = 0; e < 3; ++e) CHECK(csv[e + 1].rfind(std::to_string(e) + ",", 0) == 0);
  js = lines(logs + "/metrics.jsonl");
  REQUIRE(js.size() == 3);
  for (int e = 0; e < 3; ++e) CHECK(js[e].rfind("{\"epoch\": " + std::to_string(e) + ",", 0) == 0);
}

TEST_CASE("Trainer: option errors; a finished run resumed with the same n_epochs trains nothing") {
  FNO<2> model(tiny_options());
  optim::AdamW opt(model.parameters(), {.lr = 1e-2});
  losses::LpLoss<2> l2;
  auto train = train_loader();
  auto tests = test_loaders();
  CHECK(test::error_message<value_error>([&] { Trainer t(model, {.n_epochs = 1, .eval_interval = 0}); })
            .find("eval_interval") != std::string::npos);
  Trainer trainer(model, {.n_epochs = 1});
  CHECK(test::error_message<value_error>([&] { trainer.train(train, tests, opt, nullptr, l2, {}, {.save_every = 0}); })
            .find("save_every") != std::string::npos);
  TempDir dir("finished");
  trainer.train(train, tests, opt, nullptr, l2, {}, {.save_every = 1, .save_dir = dir.path});
  Trainer again(model, {.n_epochs = 1});
  const auto last = again.train(train, tests, opt, nullptr, l2, {}, {.resume_from_dir = dir.path});
  CHECK(last.epoch == -1);
  CHECK(again.history().empty());
}

TEST_CASE("Trainer: a regularizer is reset per batch, added to the loss, averaged per sample and checkpointed; integer loader names") {
  struct Constant : Regularizer<float> {
    int resets = 0, loads = 0;
    void reset() override { ++resets; }
    Var<float, 0> loss() override { return Var<float, 0>(Tensor<float, 0>::full({}, 0.5f)); }
    io::Value state_dict() const override {
      auto d = io::Value::dict();
      d.set("resets", resets);
      return d;
    }
    void load_state_dict(const io::Value& sd) override {
      resets = sd.at("resets").as<int>();
      ++loads;
    }
  };
  TempDir dir("regularizer");
  auto run = [&](Regularizer<float>* reg, std::int64_t n_epochs, std::optional<std::string> resume) {
    FNO<2> model(tiny_options());
    load_init(model);
    optim::AdamW opt(model.parameters(), {.lr = 1e-2});
    losses::LpLoss<2> l2;
    auto train = train_loader();
    auto t = test_loaders();
    std::map<int, Loader> tests{{16, t[0].second}, {32, t[1].second}};
    Trainer trainer(model, {.n_epochs = n_epochs});
    TrainOptions<float> o{.regularizer = reg};
    if (reg) {
      o.save_every = 1;
      o.save_dir = dir.path;
    }
    o.resume_from_dir = resume;
    trainer.train(train, tests, opt, nullptr, l2, {}, o);
    return trainer.history();
  };
  Constant reg;
  const auto with = run(&reg, 2, std::nullopt);
  const auto without = run(nullptr, 2, std::nullopt);
  CHECK(reg.resets == 8);  // 4 batches x 2 epochs
  for (std::size_t e = 0; e < 2; ++e) {
    REQUIRE(with[e].avg_lasso_loss.has_value());
    CHECK(*with[e].avg_lasso_loss == doctest::Approx(4 * 0.5 / 16).epsilon(1e-12));
    CHECK(with[e].train_err == doctest::Approx(without[e].train_err + 0.5).epsilon(1e-6));
    CHECK_FALSE(without[e].avg_lasso_loss.has_value());
    CHECK(with[e].eval.names() == std::vector<std::string>{"16_l2", "32_l2"});
  }
  CHECK(io::load_pt(dir / "manifest.pt").at("regularizer").as<std::string>() == "regularizer.pt");
  CHECK(io::load_pt(dir / "regularizer.pt").at("resets").as<int>() == 8);
  Constant again;
  const auto resumed = run(&again, 3, dir.path);
  CHECK(again.loads == 1);
  CHECK(again.resets == 8 + 4);
  CHECK(resumed.size() == 1);
}

TEST_CASE("ProgressBar draws epoch, batches and loss on one line and erases it") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  ProgressBar bar(f);
  bar.start(2, 10, 4);
  bar.update(4, 0.125);
  bar.finish();
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
  std::fclose(f);
  CHECK(s.find("[epoch 2/10] ------------------------  0/4") != std::string::npos);
  CHECK(s.find("[epoch 2/10] ########################  4/4  loss 0.125") != std::string::npos);
  CHECK(s.substr(s.size() - 4) == "\r\033[K");
  CHECK(s.find('\n') == std::string::npos);
  CHECK_FALSE(ProgressBar::is_terminal(nullptr));
}
