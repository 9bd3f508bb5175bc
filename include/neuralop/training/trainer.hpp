// Trainer: NeuralOperator's neuralop.training.Trainer loop (epochs of optimizer steps over a
// loader, one scheduler step per epoch, evaluation on named test loaders, checkpoints, resume),
// with callbacks, a progress bar and a metrics log as extensions.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "neuralop/autograd/autograd.hpp"
#include "neuralop/core/rng.hpp"
#include "neuralop/training/callbacks.hpp"
#include "neuralop/training/metrics.hpp"
#include "neuralop/training/trainer_options.hpp"
#include "neuralop/training/training_state.hpp"

namespace neuralop::training {

// Trains `model` (a Module with operator()(Var x) -> Var) on batches {x, y} of a loader. With a
// data processor P (P::batch_type -> preprocess -> P::model_batch_type -> model -> postprocess),
// as NeuralOperator's data_processor; processor.train()/eval() follow the model's mode.
//
// Backends: without a processor, each training and evaluation batch (x and y) is copied to the
// model's backend before the forward pass when the loader yields it on another one (a host
// dataset for FNO<2, float, cuda>: NeuralOperator's `sample = {k: v.to(self.device) ...}`), by
// the backends' copy primitives (Tensor::to); the losses, the metrics and the regularizer are
// then on the model's backend, and loss_fn<Loader> & co. name that backend. The model's backend
// is Model::backend_type if the model declares one, else that of its output
// (detail::model_backend). A processor moves the batches itself (DefaultDataProcessor<T, RX, RY,
// B> copies them to B the same way), so its model batches must be on the model's backend.
template <class Model, class Processor = NoProcessor>
class Trainer {
  static constexpr bool has_processor = !std::is_same_v<Processor, NoProcessor>;
  template <class Loader>
  using types = detail::BatchTypes<Model, Processor, typename std::remove_cvref_t<Loader>::batch_type>;

 public:
  template <class Loader>
  using loss_fn = typename types<Loader>::loss_fn;
  template <class Loader>
  using eval_losses_type = typename types<Loader>::eval_losses;
  template <class Loader>
  using train_options = typename types<Loader>::train_options;

  Trainer(Model& model, TrainerOptions options)
    requires(!has_processor)
      : model_(&model), o_(std::move(options)) {
    validate();
    apply_activation_checkpointing();
  }
  Trainer(Model& model, TrainerOptions options, Processor& data_processor)
    requires(has_processor)
      : model_(&model), proc_(&data_processor), o_(std::move(options)) {
    validate();
    apply_activation_checkpointing();
  }

  const TrainerOptions& options() const { return o_; }
  // The epoch train() starts at: 0, or where resume_from_dir says (see train).
  std::int64_t start_epoch() const { return start_epoch_; }
  // The epoch running or last run.
  std::int64_t epoch() const { return epoch_; }
  // Every epoch of the last train() call.
  const std::vector<EpochMetrics>& history() const { return history_; }

  // NeuralOperator's train(): for epoch in [start_epoch, n_epochs): one pass over train_loader
  // (per batch: zero_grad, [regularizer reset], preprocess, model, postprocess, loss
  // [+ regularizer loss], backward, optimizer step), one scheduler step (ReduceLROnPlateau gets
  // the SUM of the batch losses, others step()), then
  //   train_err = sum / number of batches, avg_loss = sum / number of samples;
  // every eval_interval epochs evaluate() on each test loader (metrics "<loader>_<loss>");
  // checkpoints by save_best / save_every. test_loaders: (name, loader) pairs in order (a
  // std::map or a vector of pairs); eval_losses: (name, loss), default {"l2": training_loss}.
  // Returns the last epoch's metrics.
  //
  // Resume (resume_from_dir): loads model, optimizer, scheduler (and regularizer) from the
  // folder (best_model_* if present, else model_*). A checkpoint of ours continues at the epoch
  // AFTER the saved one, with the random generator, the loaders' epochs and the best save_best
  // value restored, so that a stopped and resumed run continues bit-exactly like an
  // uninterrupted one. A NeuralOperator checkpoint (no such record) restarts AT its saved
  // epoch, as NeuralOperator does (that epoch is trained twice).
  //
  // A NaN or Inf training loss stops training with a training_error naming the epoch and
  // batch, before that batch's optimizer step; the checkpoints on disk are left as they were.
  //
  // With options().data_parallel (training/data_parallel.hpp), every rank calls train() with its
  // shard of the data; the metrics are those of the global batches, summed over the ranks.
  template <class Loader, class TestLoaders>
  EpochMetrics train(Loader& train_loader, TestLoaders&& test_loaders, optim::Optimizer& optimizer, SchedulerRef scheduler,
                     const loss_fn<Loader>& training_loss, eval_losses_type<Loader> eval_losses = {},
                     const train_options<Loader>& options = {}) {
    using Ty = types<Loader>;
    if (!training_loss) throw_error<value_error>("Trainer.train: training_loss is empty");
    if (options.save_every && *options.save_every < 1)
      throw_error<value_error>("Trainer.train: save_every must be >= 1, got ", *options.save_every);
    if (eval_losses.empty()) eval_losses.emplace_back("l2", training_loss);
    for (const auto& [n, l] : eval_losses)
      if (!l) throw_error<value_error>("Trainer.train: eval loss '", n, "' is empty");

    std::vector<std::string> metric_names;
    for (auto& [name, loader] : test_loaders)
      for (const auto& [loss_name, l] : eval_losses) metric_names.push_back(detail::name_of(name) + "_" + loss_name);
    Run run{&optimizer, scheduler, options.regularizer, options.save_best, options.save_every, options.save_dir};
    if (run.save_best) {
      if (std::find(metric_names.begin(), metric_names.end(), *run.save_best) == metric_names.end()) {
        std::string valid;
        for (const auto& m : metric_names) valid += (valid.empty() ? "" : ", ") + m;
        throw_error<value_error>("Trainer.train: save_best='", *run.save_best,
                                 "' is not a metric of this run (<loader name>_<eval loss name>); expected one of: ",
                                 valid.empty() ? "none (no test loaders)" : valid);
      }
      run.save_every.reset();  // either monitor a metric or save on an interval, as NeuralOperator
    }
    best_.reset();
    history_.clear();
    bool resumed = false;
    if (options.resume_from_dir) {
      resume_state_from_dir(*options.resume_from_dir, train_loader, test_loaders, run);
      resumed = true;
    }
    MetricsLog log;
    if (!o_.log_dir.empty() && root())
      log = MetricsLog(o_.log_dir, metric_names, options.regularizer != nullptr,
                       resumed ? std::optional<std::int64_t>(start_epoch_) : std::nullopt);
    const bool bar = root() && o_.progress_bar.value_or(o_.verbose && ProgressBar::is_terminal(stderr));
    progress_ = bar ? ProgressBar(stderr) : ProgressBar();

    if (verbose()) {
      out() << "Training on " << detail::n_dataset_samples(train_loader) << " samples\n";
      std::string sizes, names;
      for (auto& [name, loader] : test_loaders) {
        sizes += (sizes.empty() ? "" : ", ") + std::to_string(detail::n_dataset_samples(loader));
        names += (names.empty() ? "" : ", ") + detail::quoted_name(detail::name_of(name));
      }
      out() << "Testing on [" << sizes << "] samples         on resolutions [" << names << "].\n" << std::flush;
    }
    for (auto* cb : o_.callbacks) cb->on_train_start(start_epoch_, o_.n_epochs);

    EpochMetrics last;
    for (std::int64_t epoch = start_epoch_; epoch < o_.n_epochs; ++epoch) {
      EpochMetrics m = train_one_epoch<Ty>(epoch, train_loader, training_loss, run);
      bool save = false;
      if (epoch % o_.eval_interval == 0) {
        m.eval = evaluate_all(epoch, eval_losses, test_loaders);
        if (run.save_best) {
          const double v = m.eval.at(*run.save_best);
          if (v < best_.value_or(std::numeric_limits<double>::infinity())) {
            best_ = v;
            save = true;
          }
        }
      }
      if (run.save_every && epoch % *run.save_every == 0) save = true;
      history_.push_back(m);
      log.write(m);
      if (save) checkpoint(run, train_loader, test_loaders);
      for (auto* cb : o_.callbacks) cb->on_epoch_end(m);
      last = std::move(m);
    }
    for (auto* cb : o_.callbacks) cb->on_train_end(last);
    return last;
  }

  // NeuralOperator's evaluate(loss_dict, data_loader, log_prefix): model and processor in eval
  // mode, no gradients; metric "<log_prefix>_<loss name>" = sum over batches of the loss (summed
  // in the loss's precision, as torch's 0-d tensors) / number of samples.
  template <class Loader>
  Metrics evaluate(const eval_losses_type<Loader>& losses, Loader& loader, const std::string& log_prefix = "") {
    using Ty = types<Loader>;
    using T = typename Ty::value_type;
    model_->eval();
    if constexpr (has_processor) proc_->eval();
    NoGradGuard no_grad;
    std::vector<T> sums(losses.size(), T(0));
    std::int64_t n_samples = 0;
    for (auto&& batch : loader) {
      auto mb = preprocess<Ty>(std::move(batch));
      n_samples += static_cast<std::int64_t>(mb.y.shape()[0]);
      const typename Ty::y_var pred = postprocess<Ty>(forward<Ty>(mb), mb);
      const typename Ty::y_var y = detail::as_var(mb.y);
      for (std::size_t i = 0; i < losses.size(); ++i) sums[i] += losses[i].second(pred, y).value().item();
    }
    Metrics m;
    if (auto* dp = o_.data_parallel) {
      // Each rank evaluated its shard (or all of the data: the ratio is the same): the metric is
      // the sum over the ranks' sums / the sum of their sample counts.
      std::vector<double> v(losses.size() + 1);
      for (std::size_t i = 0; i < losses.size(); ++i) v[i] = detail::to_double(sums[i]);
      v.back() = static_cast<double>(n_samples);
      dp->allreduce_sum(v);
      for (std::size_t i = 0; i < losses.size(); ++i) m.set(log_prefix + "_" + losses[i].first, v[i] / v.back());
      return m;
    }
    for (std::size_t i = 0; i < losses.size(); ++i)
      m.set(log_prefix + "_" + losses[i].first, detail::to_double(T(sums[i] / T(static_cast<double>(n_samples)))));
    return m;
  }

 private:
  struct Run {
    optim::Optimizer* optimizer;
    SchedulerRef scheduler;
    RegularizerBase* regularizer;
    std::optional<std::string> save_best = {};
    std::optional<std::int64_t> save_every;
    std::string save_dir;
  };

  void validate() const {
    if (o_.n_epochs < 0) throw_error<value_error>("Trainer: n_epochs must be >= 0, got ", o_.n_epochs);
    if (o_.eval_interval < 1) throw_error<value_error>("Trainer: eval_interval must be >= 1, got ", o_.eval_interval);
    for (std::size_t i = 0; i < o_.callbacks.size(); ++i)
      if (!o_.callbacks[i]) throw_error<value_error>("Trainer: callbacks[", i, "] is null");
  }
  std::ostream& out() const { return o_.out ? *o_.out : std::cout; }
  // Rank 0 of a data-parallel run, or the only process: the one that writes and prints.
  bool root() const { return !o_.data_parallel || o_.data_parallel->is_root(); }
  bool verbose() const { return o_.verbose && root(); }
  // TrainerOptions::activation_checkpointing: on for a model that has the switch (FNO, TFNO), an
  // error for one that has not; off leaves the model's own setting.
  void apply_activation_checkpointing() {
    if (!o_.activation_checkpointing) return;
    if constexpr (requires(Model& m) { m.set_activation_checkpointing(true); })
      model_->set_activation_checkpointing(true);
    else
      throw_error<value_error>("Trainer: activation_checkpointing is set, but the model has no set_activation_checkpointing(bool) "
                               "(FNO and TFNO have it)");
  }

  // The processor's preprocess, or (no processor) the batch itself, copied to the model's
  // backend when it is on another one.
  template <class Ty, class LB>
  typename Ty::model_batch preprocess(LB&& batch) const {
    if constexpr (has_processor) {
      return proc_->preprocess(std::forward<LB>(batch));
    } else if constexpr (Ty::moves) {
      using B = typename Ty::backend_type;
      return {detail::to_backend<B>(batch.x), detail::to_backend<B>(batch.y)};
    } else {
      return std::forward<LB>(batch);
    }
  }
  template <class Ty>
  typename Ty::y_var forward(const typename Ty::model_batch& mb) {
    using out_t = std::remove_cvref_t<decltype((*model_)(std::declval<const typename Ty::x_var&>()))>;
    constexpr bool same_backend = detail::var_on_backend<out_t, typename Ty::backend_type>;
    static_assert(same_backend || !has_processor,
                  "Trainer: the model runs on another backend than the batches its data processor makes. Use a "
                  "processor on the model's backend (DefaultDataProcessor<T, RX, RY, Backend>, or processor.to<Backend>()), "
                  "or no processor: the Trainer then copies each batch to the model's backend");
    static_assert(same_backend || has_processor,
                  "Trainer: the model's output is not on the backend the model declares (Model::backend_type), to which "
                  "the Trainer copies the batches");
    static_assert(!same_backend || std::is_same_v<out_t, typename Ty::y_var>,
                  "Trainer: the model's output type must be the Var type of the batch's y (the same scalar type and rank; "
                  "the Trainer moves batches between backends but never converts their scalar type)");
    if constexpr (same_backend && std::is_same_v<out_t, typename Ty::y_var>) return (*model_)(detail::as_var(mb.x));
    else return {};
  }
  template <class Ty>
  typename Ty::y_var postprocess(typename Ty::y_var out, typename Ty::model_batch& mb) const {
    if constexpr (has_processor) return proc_->postprocess(out, mb);
    else return out;
  }

  template <class Ty, class Loader>
  EpochMetrics train_one_epoch(std::int64_t epoch, Loader& loader, const typename Ty::loss_fn& training_loss, Run& run) {
    using T = typename Ty::value_type;
    using B = typename Ty::backend_type;
    epoch_ = epoch;
    for (auto* cb : o_.callbacks) cb->on_epoch_start(epoch);
    model_->train();
    if constexpr (has_processor) proc_->train();
    auto* reg = static_cast<Regularizer<T, B>*>(run.regularizer);
    const auto t1 = std::chrono::steady_clock::now();
    double train_err = 0.0, avg_lasso = 0.0;
    std::int64_t n_samples = 0, idx = 0;
    const std::int64_t n_batches = detail::n_batches(loader);
    progress_.start(epoch, o_.n_epochs, n_batches);
    auto* dp = o_.data_parallel;
    for (auto&& batch : loader) {
      run.optimizer->zero_grad();
      if (reg) reg->reset();
      if (dp) dp->before_forward();
      auto mb = preprocess<Ty>(std::move(batch));
      const auto batch_samples = static_cast<std::int64_t>(mb.y.shape()[0]);
      std::optional<OffloadActivationsGuard> offload;  // the forward pass and the loss, not backward
      if (o_.offload_activations) offload.emplace();
      typename Ty::y_var pred = forward<Ty>(mb);
      if (epoch == 0 && idx == 0 && verbose()) out() << "Raw outputs of shape " << format_shape(pred.shape()) << "\n";
      pred = postprocess<Ty>(std::move(pred), mb);
      Var<T, 0, B> loss = training_loss(pred, detail::as_var(mb.y));
      double lasso = 0;
      if (reg) {
        const Var<T, 0, B> r = reg->loss();
        lasso = detail::to_double(r.value().item());
        loss = loss + r;
      }
      offload.reset();
      double value = detail::to_double(loss.value().item());
      if (dp) {
        // The global batch's loss (the losses sum over samples): the same on every rank, so
        // that the NaN check below stops all ranks together.
        double v[3] = {value, lasso, static_cast<double>(batch_samples)};
        dp->allreduce_sum(v);
        value = v[0];
        lasso = v[1];
        n_samples += static_cast<std::int64_t>(v[2]);
      } else {
        n_samples += batch_samples;
      }
      if (!std::isfinite(value)) {
        progress_.finish();
        throw_error<training_error>("Trainer: the training loss is ", value, " at epoch ", epoch, ", batch ", idx,
                                    " (counted from 0); training stopped before that batch's optimizer step. ",
                                    last_checkpoint_ ? "The last checkpoint (after epoch " +
                                                           std::to_string(*last_checkpoint_) + ") in " + run.save_dir +
                                                           " is kept."
                                                     : std::string("No checkpoint was written by this run."));
      }
      loss.backward();
      if (dp) dp->synchronize_gradients();
      run.optimizer->step();
      train_err += value;
      avg_lasso += lasso;
      for (auto* cb : o_.callbacks) cb->on_batch_end(epoch, idx, value);
      ++idx;
      progress_.update(idx, value);
    }
    if (auto* s = run.scheduler.plateau()) s->step(train_err);  // the undivided sum (trap 28)
    else if (auto* s = run.scheduler.epoch_scheduler()) s->step();
    progress_.finish();

    EpochMetrics m;
    m.epoch = epoch;
    m.epoch_train_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    m.avg_loss = train_err / static_cast<double>(n_samples);
    m.train_err = train_err / static_cast<double>(n_batches);
    if (reg) m.avg_lasso_loss = avg_lasso / static_cast<double>(n_samples);
    m.lr = run.optimizer->lr();
    if (verbose() && epoch % o_.eval_interval == 0) {
      out() << "[" << epoch << "] time=" << detail::format_fixed(m.epoch_train_time, "%.2f")
            << ", avg_loss=" << detail::format_fixed(m.avg_loss, "%.4f")
            << ", train_err=" << detail::format_fixed(m.train_err, "%.4f");
      if (m.avg_lasso_loss) out() << ", avg_lasso=" << detail::format_fixed(*m.avg_lasso_loss, "%.4f");
      out() << "\n" << std::flush;
    }
    return m;
  }

  template <class Losses, class TestLoaders>
  Metrics evaluate_all(std::int64_t epoch, const Losses& losses, TestLoaders& test_loaders) {
    Metrics all;
    for (auto& [name, loader] : test_loaders)
      for (const auto& [k, v] : evaluate(losses, loader, detail::name_of(name))) all.set(k, v);
    if (verbose()) {
      std::string msg;
      for (const auto& [k, v] : all) msg += (msg.empty() ? "" : ", ") + k + "=" + detail::format_fixed(v, "%.4f");
      out() << "Eval: " << msg << "\n" << std::flush;
    }
    for (auto* cb : o_.callbacks) cb->on_eval_end(epoch, all);
    return all;
  }

  // Our fields of the manifest ("neuralop_cpp"): what NeuralOperator's checkpoint lacks for a
  // bit-exact continuation. 64-bit generator words are stored as int64 (two's complement).
  template <class Loader, class TestLoaders>
  io::Value run_state(const Run& run, const Loader& train_loader, const TestLoaders& test_loaders) const {
    auto x = io::Value::dict();
    x.set("format", 1);
    x.set("next_epoch", epoch_ + 1);
    const auto g = default_generator().state();
    auto rng = io::Value::dict();
    rng.set("seed", std::bit_cast<std::int64_t>(g.seed));
    rng.set("offset", std::bit_cast<std::int64_t>(g.offset));
    x.set("rng", rng);
    if constexpr (detail::LoaderWithEpoch<std::remove_cvref_t<Loader>>) x.set("train_loader_epoch", static_cast<std::int64_t>(train_loader.epoch()));
    auto te = io::Value::dict();
    for (const auto& [name, loader] : test_loaders)
      if constexpr (detail::LoaderWithEpoch<std::remove_cvref_t<decltype(loader)>>)
        te.set(detail::name_of(name), static_cast<std::int64_t>(loader.epoch()));
    x.set("test_loader_epochs", te);
    if (run.save_best && best_) {
      auto b = io::Value::dict();
      b.set("name", *run.save_best);
      b.set("value", *best_);
      x.set("best_metric", b);
    }
    return x;
  }

  template <class Loader, class TestLoaders>
  void checkpoint(const Run& run, const Loader& train_loader, const TestLoaders& test_loaders) {
    if (const auto bad = first_nonfinite(*model_))
      throw_error<training_error>("Trainer: parameter '", *bad, "' holds NaN or Inf after epoch ", epoch_,
                                  "; not checkpointing it, training stopped. ",
                                  last_checkpoint_ ? "The last checkpoint (after epoch " + std::to_string(*last_checkpoint_) +
                                                         ") in " + run.save_dir + " is kept."
                                                   : std::string("No checkpoint was written by this run."));
    // Data-parallel: the ranks hold the same state; rank 0 writes it (atomically), the others
    // wait until it is complete.
    if (root())
      save_training_state(run.save_dir, run.save_best ? "best_model" : "model", *model_, run.optimizer, run.scheduler,
                          run.regularizer, epoch_, run_state(run, train_loader, test_loaders));
    if (o_.data_parallel) o_.data_parallel->barrier();
    last_checkpoint_ = epoch_;
    if (verbose()) out() << "[Rank 0]: saved training state to " << run.save_dir << "\n" << std::flush;
    for (auto* cb : o_.callbacks) cb->on_checkpoint(epoch_, run.save_dir);
  }

  template <class Loader, class TestLoaders>
  void resume_state_from_dir(const std::string& dir, Loader& train_loader, TestLoaders& test_loaders, const Run& run) {
    namespace fs = std::filesystem;
    std::string save_name;
    if (fs::exists(fs::path(dir) / "best_model_state_dict.pt")) save_name = "best_model";
    else if (fs::exists(fs::path(dir) / "model_state_dict.pt")) save_name = "model";
    else
      throw_error<io_error>("Trainer: resume_from_dir '", dir,
                            "' holds neither best_model_state_dict.pt nor model_state_dict.pt");
    const auto st = load_training_state(dir, save_name, *model_, run.optimizer, run.scheduler, run.regularizer);
    std::optional<std::int64_t> resume_epoch = st.epoch;  // NeuralOperator's: that epoch runs again
    const io::Value& x = st.extra;
    if (x.is_dict() && x.contains("next_epoch")) {
      try {
        resume_epoch = x.at("next_epoch").as<std::int64_t>();
        const auto rng = x.at("rng");
        default_generator().set_state({std::bit_cast<std::uint64_t>(rng.at("seed").as<std::int64_t>()),
                                       std::bit_cast<std::uint64_t>(rng.at("offset").as<std::int64_t>())});
        if constexpr (detail::LoaderWithEpoch<Loader>)
          if (x.contains("train_loader_epoch")) train_loader.set_epoch(x.at("train_loader_epoch").as<std::int64_t>());
        if (x.contains("test_loader_epochs")) {
          const auto te = x.at("test_loader_epochs");
          for (auto& [name, loader] : test_loaders)
            if constexpr (detail::LoaderWithEpoch<std::remove_cvref_t<decltype(loader)>>)
              if (const auto* e = te.find(std::string_view(detail::name_of(name)))) loader.set_epoch(e->as<std::int64_t>());
        }
        if (run.save_best && x.contains("best_metric")) {
          const auto b = x.at("best_metric");
          if (b.at("name").as<std::string>() == *run.save_best) best_ = b.at("value").to<double>();
        }
      } catch (const error& e) {
        throw_error<io_error>("Trainer: resume_from_dir '", dir, "': manifest.pt's neuralop_cpp record is malformed: ",
                              e.what());
      }
    }
    if (resume_epoch && *resume_epoch > start_epoch_) {
      start_epoch_ = *resume_epoch;
      if (verbose()) out() << "Trainer resuming from epoch " << *resume_epoch << "\n" << std::flush;
    }
  }

  Model* model_;
  Processor* proc_ = nullptr;
  TrainerOptions o_;
  std::int64_t start_epoch_ = 0;
  std::int64_t epoch_ = 0;
  std::optional<std::int64_t> last_checkpoint_;
  std::optional<double> best_;
  std::vector<EpochMetrics> history_;
  ProgressBar progress_;
};

template <class Model>
Trainer(Model&, TrainerOptions) -> Trainer<Model, NoProcessor>;
template <class Model, class Processor>
Trainer(Model&, TrainerOptions, Processor&) -> Trainer<Model, Processor>;

}  // namespace neuralop::training
