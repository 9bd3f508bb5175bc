// Epoch-based learning-rate schedulers with torch.optim.lr_scheduler's exact semantics:
// StepLR and CosineAnnealingLR (chained updates from step(), closed forms from step(epoch)).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/optim/optimizer.hpp"

namespace neuralop::optim {

// torch's LRScheduler: construction records the base lr (the optimizer's initial_lr, set from
// its lr if unset) and performs the initial step (last_epoch -1 -> 0, lr unchanged). Each
// step() then sets last_epoch += 1 and the optimizer's lr to the derived class's chained
// value, computed from the current lr (so outside changes of the lr carry on, as in torch).
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  void step() {
    ++step_count_;
    ++last_epoch_;
    set(chained_lr());
  }
  // torch's deprecated step(epoch): jump to `epoch` with the closed form.
  void step(std::int64_t epoch) {
    ++step_count_;
    last_epoch_ = epoch;
    set(closed_form_lr());
  }
  // One entry per parameter group (one here), as torch.
  std::vector<double> get_last_lr() const { return {last_lr_}; }
  std::int64_t last_epoch() const { return last_epoch_; }
  double base_lr() const { return base_lr_; }

  // torch's state_dict: the scheduler's own fields, then base_lrs, last_epoch, _step_count,
  // _is_initial, _get_lr_called_within_step, _last_lr.
  io::Value state_dict() const {
    auto sd = io::Value::dict();
    own_state(sd);
    sd.set("base_lrs", io::Value::list({base_lr_}));
    sd.set("last_epoch", last_epoch_);
    sd.set("_step_count", step_count_);
    sd.set("_is_initial", false);
    sd.set("_get_lr_called_within_step", false);
    sd.set("_last_lr", io::Value::list({last_lr_}));
    return sd;
  }
  // As torch (__dict__.update), it does not change the optimizer's lr; load the optimizer's
  // state_dict for that.
  void load_state_dict(const io::Value& sd) {
    load_own_state(sd);
    base_lr_ = one(sd.at("base_lrs"));
    last_epoch_ = sd.at("last_epoch").as<std::int64_t>();
    step_count_ = sd.at("_step_count").as<std::int64_t>();
    last_lr_ = one(sd.at("_last_lr"));
  }

 protected:
  explicit LRScheduler(Optimizer& opt) : opt_(&opt) {
    if (!opt_->initial_lr) opt_->initial_lr = opt_->lr();
    base_lr_ = *opt_->initial_lr;
  }
  // The derived constructor calls this once its fields are set (torch's _initial_step).
  void initial_step() {
    step_count_ = 1;
    last_epoch_ = 0;
    set(opt_->lr());
  }
  virtual double chained_lr() const = 0;      // torch's get_lr()
  virtual double closed_form_lr() const = 0;  // torch's _get_closed_form_lr()
  virtual void own_state(io::Value& sd) const = 0;
  virtual void load_own_state(const io::Value& sd) = 0;

  double lr() const { return opt_->lr(); }
  static double one(const io::Value& l) {
    if (l.size() != 1) throw_error<value_error>("LRScheduler.load_state_dict: ", l.where(), " has ", l.size(), " entries; one group is supported");
    return l.at(std::size_t{0}).to<double>();
  }

  Optimizer* opt_;
  double base_lr_ = 0;
  std::int64_t last_epoch_ = -1;
  std::int64_t step_count_ = 0;
  double last_lr_ = 0;

 private:
  void set(double lr) {
    opt_->set_lr(lr);
    last_lr_ = opt_->lr();
  }
};

struct StepLROptions {
  std::int64_t step_size = 0;  // required: the lr is multiplied by gamma every step_size epochs
  double gamma = 0.1;
};

// lr_epoch = lr_{epoch-1} * gamma when epoch is a positive multiple of step_size;
// closed form base_lr * gamma^(epoch // step_size).
class StepLR final : public LRScheduler {
 public:
  StepLR(Optimizer& opt, StepLROptions o) : LRScheduler(opt), o_(o) {
    if (o_.step_size < 1) throw_error<value_error>("StepLR: step_size must be >= 1, got ", o_.step_size);
    initial_step();
  }
  const StepLROptions& options() const { return o_; }

 private:
  double chained_lr() const override {
    if (last_epoch_ == 0 || last_epoch_ % o_.step_size != 0) return lr();
    return lr() * o_.gamma;
  }
  double closed_form_lr() const override {
    return base_lr_ * std::pow(o_.gamma, static_cast<double>(floor_div(last_epoch_, o_.step_size)));
  }
  void own_state(io::Value& sd) const override {
    sd.set("step_size", o_.step_size);
    sd.set("gamma", o_.gamma);
  }
  void load_own_state(const io::Value& sd) override {
    o_.step_size = sd.at("step_size").as<std::int64_t>();
    o_.gamma = sd.at("gamma").to<double>();
  }
  static std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // Python's //
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
  StepLROptions o_;
};

struct CosineAnnealingLROptions {
  std::int64_t T_max = 0;  // required: half the period, in epochs
  double eta_min = 0.0;
};

// Chained (torch's get_lr, which follows the cosine also past T_max, periodically):
//   e = 0:                          lr
//   (e - 1 - T_max) % (2 T_max) = 0: lr + (base_lr - eta_min)(1 - cos(pi / T_max)) / 2
//   otherwise:                      (1 + cos(pi e / T_max)) / (1 + cos(pi (e - 1) / T_max)) (lr - eta_min) + eta_min
// Closed form: eta_min + (base_lr - eta_min)(1 + cos(pi e / T_max)) / 2.
class CosineAnnealingLR final : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, CosineAnnealingLROptions o) : LRScheduler(opt), o_(o) {
    if (o_.T_max < 1) throw_error<value_error>("CosineAnnealingLR: T_max must be >= 1, got ", o_.T_max);
    initial_step();
  }
  const CosineAnnealingLROptions& options() const { return o_; }

 private:
  double chained_lr() const override {
    constexpr double pi = std::numbers::pi;
    const double e = static_cast<double>(last_epoch_), T = static_cast<double>(o_.T_max);
    if (last_epoch_ == 0) return lr();
    if (py_mod(last_epoch_ - 1 - o_.T_max, 2 * o_.T_max) == 0)
      return lr() + (base_lr_ - o_.eta_min) * (1 - std::cos(pi / T)) / 2;
    return (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) * (lr() - o_.eta_min) + o_.eta_min;
  }
  double closed_form_lr() const override {
    constexpr double pi = std::numbers::pi;
    return o_.eta_min +
           (base_lr_ - o_.eta_min) * (1 + std::cos(pi * static_cast<double>(last_epoch_) / static_cast<double>(o_.T_max))) / 2;
  }
  void own_state(io::Value& sd) const override {
    sd.set("T_max", o_.T_max);
    sd.set("eta_min", o_.eta_min);
  }
  void load_own_state(const io::Value& sd) override {
    o_.T_max = sd.at("T_max").as<std::int64_t>();
    o_.eta_min = sd.at("eta_min").to<double>();
  }
  static std::int64_t py_mod(std::int64_t a, std::int64_t b) {  // Python's % (sign of b)
    const std::int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
  CosineAnnealingLROptions o_;
};

}  // namespace neuralop::optim
