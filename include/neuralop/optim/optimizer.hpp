// The optimizer interface the LR schedulers and the Trainer use: one parameter group (as
// NeuralOperator's recipes) with a learning rate that schedulers read and set.
#pragma once

#include <optional>

#include "neuralop/io/value.hpp"

namespace neuralop::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // Drops every parameter's gradient (torch's zero_grad(set_to_none=True)): a parameter
  // without a gradient is skipped by the next step().
  virtual void zero_grad() = 0;
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // torch's param_group["initial_lr"]: set by the first scheduler attached (setdefault) and
  // kept in the state_dict; the schedulers' base learning rate.
  std::optional<double> initial_lr;
  // torch's Optimizer.state_dict() layout: {"state": {index: {...}}, "param_groups": [{...}]}.
  virtual io::Value state_dict() const = 0;
  virtual void load_state_dict(const io::Value& sd) = 0;
};

}  // namespace neuralop::optim
