// ReduceLROnPlateau with torch.optim.lr_scheduler's exact semantics: multiply the lr by
// `factor` when a metric has not improved for more than `patience` steps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/optim/optimizer.hpp"

namespace neuralop::optim {

struct ReduceLROnPlateauOptions {
  std::string mode = "min";            // "min": lower is better; "max": higher is better
  double factor = 0.1;                 // new lr = max(lr * factor, min_lr); must be < 1
  std::int64_t patience = 10;          // bad steps tolerated before a reduction
  double threshold = 1e-4;
  std::string threshold_mode = "rel";  // "rel": better than best*(1 -/+ threshold); "abs": best -/+ threshold
  std::int64_t cooldown = 0;           // steps after a reduction during which bad steps are not counted
  double min_lr = 0.0;
  double eps = 1e-8;                   // reductions smaller than eps are skipped
};

// step(metric): a metric better than `best` (see threshold_mode) resets the bad-step count,
// otherwise it grows; during cooldown the count is held at 0; when it exceeds patience the lr
// is reduced (unless the change is <= eps), the cooldown starts and the count is reset.
// The Trainer passes the undivided sum of the evaluation loss (NeuralOperator's trap 28).
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& opt, ReduceLROnPlateauOptions o = {}) : opt_(&opt), o_(std::move(o)) {
    validate(o_);
    last_lr_ = opt_->lr();
    best_ = mode_worse();
  }
  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;

  void step(double metric) {
    ++last_epoch_;
    if (is_better(metric, best_)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;
    }
    if (num_bad_epochs_ > o_.patience) {
      const double old_lr = opt_->lr();
      const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
      if (old_lr - new_lr > o_.eps) opt_->set_lr(new_lr);
      cooldown_counter_ = o_.cooldown;
      num_bad_epochs_ = 0;
    }
    last_lr_ = opt_->lr();
  }
  std::vector<double> get_last_lr() const { return {last_lr_}; }
  const ReduceLROnPlateauOptions& options() const { return o_; }
  double best() const { return best_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const { return cooldown_counter_; }
  std::int64_t last_epoch() const { return last_epoch_; }

  // torch's keys: factor, default_min_lr, min_lrs, patience, cooldown, eps, last_epoch,
  // _last_lr, mode_worse, mode, threshold, threshold_mode, best, cooldown_counter, num_bad_epochs.
  io::Value state_dict() const {
    auto sd = io::Value::dict();
    sd.set("factor", o_.factor);
    sd.set("default_min_lr", o_.min_lr);
    sd.set("min_lrs", io::Value::list({o_.min_lr}));
    sd.set("patience", o_.patience);
    sd.set("cooldown", o_.cooldown);
    sd.set("eps", o_.eps);
    sd.set("last_epoch", last_epoch_);
    sd.set("_last_lr", io::Value::list({last_lr_}));
    sd.set("mode_worse", mode_worse());
    sd.set("mode", o_.mode);
    sd.set("threshold", o_.threshold);
    sd.set("threshold_mode", o_.threshold_mode);
    sd.set("best", best_);
    sd.set("cooldown_counter", cooldown_counter_);
    sd.set("num_bad_epochs", num_bad_epochs_);
    return sd;
  }
  void load_state_dict(const io::Value& sd) {
    ReduceLROnPlateauOptions o;
    o.factor = sd.at("factor").to<double>();
    const auto mins = sd.at("min_lrs");
    if (mins.size() != 1)
      throw_error<value_error>("ReduceLROnPlateau.load_state_dict: ", mins.where(), " has ", mins.size(),
                               " entries; one group is supported");
    o.min_lr = mins.at(std::size_t{0}).to<double>();
    o.patience = sd.at("patience").as<std::int64_t>();
    o.cooldown = sd.at("cooldown").as<std::int64_t>();
    o.eps = sd.at("eps").to<double>();
    o.mode = sd.at("mode").as<std::string>();
    o.threshold = sd.at("threshold").to<double>();
    o.threshold_mode = sd.at("threshold_mode").as<std::string>();
    validate(o);
    o_ = o;
    last_epoch_ = sd.at("last_epoch").as<std::int64_t>();
    const auto l = sd.at("_last_lr");
    last_lr_ = l.at(std::size_t{0}).to<double>();
    best_ = sd.at("best").to<double>();
    cooldown_counter_ = sd.at("cooldown_counter").as<std::int64_t>();
    num_bad_epochs_ = sd.at("num_bad_epochs").as<std::int64_t>();
  }

 private:
  static void validate(const ReduceLROnPlateauOptions& o) {
    if (!(o.factor < 1.0)) throw_error<value_error>("ReduceLROnPlateau: factor should be < 1.0, got ", o.factor);
    if (o.mode != "min" && o.mode != "max")
      throw_error<value_error>("ReduceLROnPlateau: mode must be \"min\" or \"max\", got \"", o.mode, "\"");
    if (o.threshold_mode != "rel" && o.threshold_mode != "abs")
      throw_error<value_error>("ReduceLROnPlateau: threshold_mode must be \"rel\" or \"abs\", got \"", o.threshold_mode, "\"");
  }
  double mode_worse() const {
    return o_.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  bool is_better(double a, double best) const {
    if (o_.mode == "min") return o_.threshold_mode == "rel" ? a < best * (1.0 - o_.threshold) : a < best - o_.threshold;
    return o_.threshold_mode == "rel" ? a > best * (o_.threshold + 1.0) : a > best + o_.threshold;
  }

  Optimizer* opt_;
  ReduceLROnPlateauOptions o_;
  std::int64_t last_epoch_ = 0;
  double last_lr_ = 0;
  double best_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::int64_t num_bad_epochs_ = 0;
};

}  // namespace neuralop::optim
