// AdamW exactly as NeuralOperator's neuralop.training.AdamW (not torch.optim.AdamW): eps added
// to the uncorrected sqrt(v), decoupled weight decay applied after the Adam step, and one joint
// second moment |g|^2 per complex entry.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/nn/module.hpp"
#include "neuralop/optim/optimizer.hpp"

namespace neuralop::optim {

struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-6;  // NeuralOperator's default (torch's AdamW: 1e-8)
  double weight_decay = 0.0;
  bool correct_bias = true;
};

namespace detail {

// One parameter with its Adam state, typed (the optimizer holds them type-erased).
class AdamWSlot {
 public:
  virtual ~AdamWSlot() = default;
  virtual void step(const AdamWOptions& o) = 0;
  virtual void zero_grad() = 0;
  virtual bool has_state() const = 0;
  virtual io::Value state() const = 0;
  virtual void check_state(const io::Value& s) const = 0;  // throws what load_state would
  virtual void load_state(const io::Value& s) = 0;
  virtual void clear_state() = 0;
  virtual std::string describe() const = 0;
};

// The update itself, on flat (rank-1) views: one kernel per scalar type, whatever the
// parameter's rank (compile time: 4 kernels instead of 4 x (max_rank + 1)). Per entry, with t
// the step count of this parameter (parameters without a gradient are skipped and keep it):
//   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g conj(g)   (complex v: |g|^2, imaginary part 0)
//   p -= lr_t m / (sqrt(v) + eps),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)  (lr without correct_bias)
//   p -= lr wd p                    (after the step, on the updated p, when wd > 0)
// Scalars are rounded to T first, as torch's alpha/value arguments are.
template <class T, class B>
void adamw_update(Tensor<T, 1, B>& p, const Tensor<T, 1, B>& g, Tensor<T, 1, B>& m, Tensor<T, 1, B>& v, std::int64_t t,
                  const AdamWOptions& o) {
  using RT = real_t<T>;
  const double b1 = o.betas[0], b2 = o.betas[1];
  m.assign(m * T(RT(b1)) + g * T(RT(1.0 - b1)));
  if constexpr (is_complex_v<T>) v.assign(v * T(RT(b2)) + T(RT(1.0 - b2)) * g * conj(g));
  else v.assign(v * T(RT(b2)) + T(RT(1.0 - b2)) * g * g);
  double step_size = o.lr;
  if (o.correct_bias) {
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(t));
    step_size = step_size * std::sqrt(bc2) / bc1;
  }
  p.assign(p + T(RT(-step_size)) * (m / (sqrt(v) + T(RT(o.eps)))));
  if (o.weight_decay > 0.0) p.assign(p + T(RT(-o.lr * o.weight_decay)) * p);
}

template <class T, std::size_t R, class B>
class AdamWSlotT final : public AdamWSlot {
 public:
  explicit AdamWSlotT(nn::Parameter<T, R, B>* p) : p_(p) {}

  void step(const AdamWOptions& o) override {
    if (!p_->var.has_grad()) return;
    const Tensor<T, R, B>& g = p_->var.grad();
    auto& p = p_->var.mutable_value();
    const Shape<1> flat{p.numel()};
    if (!m_.defined()) {
      m_ = Tensor<T, 1, B>::zeros(flat);
      v_ = Tensor<T, 1, B>::zeros(flat);
    }
    ++t_;
    // reshape shares storage: the update writes the parameter in place.
    Tensor<T, 1, B> p1 = p.reshape(flat);
    adamw_update<T, B>(p1, g.reshape(flat), m_, v_, t_, o);
  }
  void zero_grad() override { p_->zero_grad(); }
  bool has_state() const override { return m_.defined(); }
  io::Value state() const override {
    auto s = io::Value::dict();
    s.set("step", t_);
    s.set("exp_avg", io::RawTensor::from_tensor(m_.reshape(p_->var.shape())));
    s.set("exp_avg_sq", io::RawTensor::from_tensor(v_.reshape(p_->var.shape())));
    return s;
  }
  void check_state(const io::Value& s) const override {
    const auto m = s.at("exp_avg").tensor(), v = s.at("exp_avg_sq").tensor();
    const auto want = p_->shape();
    for (const auto* t : {&m, &v})
      if (t->shape != want || t->dtype != io::dtype_of<T>)
        throw_error<shape_error>("AdamW.load_state_dict: ", s.where(), " holds a ", t->describe(), " for the ", describe());
    const auto t = s.at("step").as<std::int64_t>();
    if (t < 0) throw_error<value_error>("AdamW.load_state_dict: ", s.where(), "['step'] is negative: ", t);
  }
  void load_state(const io::Value& s) override {
    check_state(s);
    t_ = s.at("step").as<std::int64_t>();
    const Shape<1> flat{p_->var.value().numel()};
    m_ = s.at("exp_avg").tensor().template to_tensor<T, R>(false, s.where() + "['exp_avg']").template to<B>().reshape(flat);
    v_ = s.at("exp_avg_sq").tensor().template to_tensor<T, R>(false, s.where() + "['exp_avg_sq']").template to<B>().reshape(flat);
  }
  void clear_state() override {
    t_ = 0;
    m_ = Tensor<T, 1, B>();
    v_ = Tensor<T, 1, B>();
  }
  std::string describe() const override {
    return neuralop::detail::cat("parameter of dtype ", dtype_name<T>(), " and shape ", format_shape(p_->var.shape()));
  }

 private:
  nn::Parameter<T, R, B>* p_;
  std::int64_t t_ = 0;
  Tensor<T, 1, B> m_, v_;  // exp_avg, exp_avg_sq, flat; null until the first step with a gradient
};

template <class T, class B, std::size_t... Rs>
std::unique_ptr<AdamWSlot> adamw_slot(nn::ParameterBase* p, std::index_sequence<Rs...>) {
  std::unique_ptr<AdamWSlot> out;
  auto try_rank = [&](auto rank) {
    constexpr std::size_t R = decltype(rank)::value;
    if (auto* q = dynamic_cast<nn::Parameter<T, R, B>*>(p)) out = std::make_unique<AdamWSlotT<T, R, B>>(q);
    return out != nullptr;
  };
  (void)(try_rank(std::integral_constant<std::size_t, Rs>{}) || ...);
  return out;
}

template <class B>
std::unique_ptr<AdamWSlot> make_adamw_slot_on(nn::ParameterBase* p) {
  using Ranks = std::make_index_sequence<max_rank + 1>;
  std::unique_ptr<AdamWSlot> s = adamw_slot<float, B>(p, Ranks{});
  if (!s) s = adamw_slot<double, B>(p, Ranks{});
  if (!s) s = adamw_slot<std::complex<float>, B>(p, Ranks{});
  if (!s) s = adamw_slot<std::complex<double>, B>(p, Ranks{});
  return s;
}
using AdamWSlotFactory = std::unique_ptr<AdamWSlot> (*)(nn::ParameterBase*);
// The backends added by register_adamw_backend (one program-wide list: an inline function's
// static).
inline std::vector<AdamWSlotFactory>& adamw_backends() {
  static std::vector<AdamWSlotFactory> factories;
  return factories;
}

// cpu parameters always; cuda parameters where the cuda backend is compiled in (an nvcc
// translation unit that included neuralop/cuda.hpp, necessarily before this header); then the
// registered backends.
inline std::unique_ptr<AdamWSlot> make_adamw_slot(nn::ParameterBase* p) {
  std::unique_ptr<AdamWSlot> s = make_adamw_slot_on<cpu>(p);
#if defined(NEURALOP_CUDA_DEFINITIONS) && NEURALOP_CUDA_DEFINITIONS
  if (!s) s = make_adamw_slot_on<cuda>(p);
#endif
  for (auto f : adamw_backends())
    if (!s) s = f(p);
  return s;
}

}  // namespace detail

// Lets AdamW take parameters of backend policy B (one defined outside this library; cpu and, in
// nvcc code, cuda are known already). AdamW finds a parameter's type by trying the backends it
// knows, so a new backend is registered once, before the optimizers are built. Not thread-safe.
template <class B>
void register_adamw_backend() {
  auto& v = detail::adamw_backends();
  const detail::AdamWSlotFactory f = &detail::make_adamw_slot_on<B>;
  if (std::find(v.begin(), v.end(), f) == v.end()) v.push_back(f);
}

// AdamW over one parameter group (Module::parameters()). State, per parameter i that has taken
// a step: step count, exp_avg, exp_avg_sq (complex parameters: complex moments). state_dict()
// has torch's optimizer layout, as NeuralOperator saves it (step is a Python int there):
//   {"state": {i: {"step": int, "exp_avg": tensor, "exp_avg_sq": tensor}},
//    "param_groups": [{"lr", "betas": (b1, b2), "eps", "weight_decay", "correct_bias",
//                      ["initial_lr",] "params": [0, ..., n-1]}]}
class AdamW final : public Optimizer {
 public:
  AdamW(std::vector<nn::ParameterBase*> params, AdamWOptions o = {}) : o_(o) {
    validate(o_);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (params[i] == nullptr) throw_error<value_error>("AdamW: params[", i, "] is null");
      for (std::size_t j = 0; j < i; ++j)
        if (params[j] == params[i])
          throw_error<value_error>("AdamW: params[", i, "] and params[", j, "] are the same parameter");
      auto s = detail::make_adamw_slot(params[i]);
      if (!s)
        throw_error<value_error>("AdamW: params[", i, "] (dtype ", io::name(params[i]->dtype()), ", shape ",
                                 format_shape(params[i]->shape()), ") is not an nn::Parameter of a floating type on the cpu (or, in nvcc code, cuda) backend or one given to register_adamw_backend");
      slots_.push_back(std::move(s));
    }
  }

  void step() override {
    for (auto& s : slots_) s->step(o_);
  }
  void zero_grad() override {
    for (auto& s : slots_) s->zero_grad();
  }
  double lr() const override { return o_.lr; }
  void set_lr(double lr) override { o_.lr = lr; }
  const AdamWOptions& options() const { return o_; }
  std::size_t size() const { return slots_.size(); }

  io::Value state_dict() const override {
    auto state = io::Value::dict();
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i]->has_state()) state.set(static_cast<std::int64_t>(i), slots_[i]->state());
    auto group = io::Value::dict();
    group.set("lr", o_.lr);
    group.set("betas", io::Value::tuple({o_.betas[0], o_.betas[1]}));
    group.set("eps", o_.eps);
    group.set("weight_decay", o_.weight_decay);
    group.set("correct_bias", o_.correct_bias);
    if (initial_lr) group.set("initial_lr", *initial_lr);
    auto ids = io::Value::list();
    for (std::size_t i = 0; i < slots_.size(); ++i) ids.push_back(static_cast<std::int64_t>(i));
    group.set("params", ids);
    auto sd = io::Value::dict();
    sd.set("state", state);
    sd.set("param_groups", io::Value::list({group}));
    return sd;
  }

  // Reads what state_dict() (or NeuralOperator's AdamW.state_dict(), via io::load_pt) wrote for
  // the same parameters in the same order: hyperparameters, then each parameter's state.
  void load_state_dict(const io::Value& sd) override {
    const auto groups = sd.at("param_groups");
    if (groups.size() != 1)
      throw_error<value_error>("AdamW.load_state_dict: ", groups.where(), " has ", groups.size(),
                               " parameter groups; this AdamW has one");
    const auto g = groups.at(std::size_t{0});
    const auto ids = g.at("params");
    if (ids.size() != slots_.size())
      throw_error<value_error>("AdamW.load_state_dict: ", ids.where(), " lists ", ids.size(), " parameters, this AdamW has ",
                               slots_.size());
    AdamWOptions o;
    o.lr = g.at("lr").to<double>();
    const auto b = g.at("betas");
    o.betas = {b.at(std::size_t{0}).to<double>(), b.at(std::size_t{1}).to<double>()};
    o.eps = g.at("eps").to<double>();
    o.weight_decay = g.at("weight_decay").to<double>();
    o.correct_bias = g.at("correct_bias").as<bool>();
    validate(o);
    const auto state = sd.at("state");
    for (const auto& [k, v] : state.items()) {
      const auto i = k.as<std::int64_t>();
      if (i < 0 || static_cast<std::size_t>(i) >= slots_.size())
        throw_error<value_error>("AdamW.load_state_dict: ", state.where(), " has state for parameter ", i, " of ",
                                 slots_.size());
    }
    auto entry = [&](std::size_t i) -> std::optional<io::Value> {
      if (const auto* s = state.find(io::Value(static_cast<std::int64_t>(i))))
        return io::Value(*s).set_where(state.where() + "[" + std::to_string(i) + "]");
      return std::nullopt;
    };
    for (std::size_t i = 0; i < slots_.size(); ++i)  // all checks first: a bad file changes nothing
      if (const auto s = entry(i)) slots_[i]->check_state(*s);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (const auto s = entry(i)) slots_[i]->load_state(*s);
      else slots_[i]->clear_state();
    }
    o_ = o;
    initial_lr.reset();
    if (g.contains("initial_lr")) initial_lr = g.at("initial_lr").to<double>();
  }

 private:
  static void validate(const AdamWOptions& o) {
    if (o.lr < 0.0) throw_error<value_error>("AdamW: invalid learning rate lr = ", o.lr, " (should be >= 0)");
    for (int i = 0; i < 2; ++i)
      if (!(o.betas[i] >= 0.0 && o.betas[i] < 1.0))
        throw_error<value_error>("AdamW: invalid betas[", i, "] = ", o.betas[i], " (should be in [0, 1))");
    if (!(o.eps >= 0.0)) throw_error<value_error>("AdamW: invalid eps = ", o.eps, " (should be >= 0)");
  }

  AdamWOptions o_;
  std::vector<std::unique_ptr<detail::AdamWSlot>> slots_;
};

}  // namespace neuralop::optim
