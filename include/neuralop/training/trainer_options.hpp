// The Trainer's option structs and the types around it: losses, regularizers, the default
// (no) data processor, and the batch types a loader and a processor give the model.
#pragma once

#include <complex>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iosfwd>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "neuralop/autograd/autograd.hpp"
#include "neuralop/training/callbacks.hpp"
#include "neuralop/training/data_parallel.hpp"
#include "neuralop/training/training_state.hpp"

namespace neuralop::training {

// The Trainer's default processor (NeuralOperator's data_processor=None): batches go to the model
// and the losses as the loader yields them, copied to the model's backend first when they are
// on another one.
struct NoProcessor {};

// A loss: (prediction, target) -> the batch's loss, summed over its samples (LpLoss, H1Loss).
template <class T, std::size_t R, class B = cpu>
using LossFn = std::function<Var<T, 0, B>(const Var<T, R, B>&, const Var<T, R, B>&)>;
// Named evaluation losses, in order (NeuralOperator's eval_losses dict).
template <class T, std::size_t R, class B = cpu>
using EvalLosses = std::vector<std::pair<std::string, LossFn<T, R, B>>>;

// NeuralOperator's regularizer: reset() before each batch, loss() added to the batch's training
// loss after the forward pass (and averaged per sample into avg_lasso_loss); its state_dict goes
// to regularizer.pt.
template <class T, class B = cpu>
class Regularizer : public RegularizerBase {
 public:
  virtual Var<T, 0, B> loss() = 0;
};

// Trainer(model, {...}): NeuralOperator's constructor arguments that apply here, then ours.
struct TrainerOptions {
  std::int64_t n_epochs = 0;       // required
  std::int64_t eval_interval = 1;  // evaluate (and log, when verbose) every eval_interval epochs
  bool verbose = false;            // NeuralOperator's per-epoch lines on `out`
  // Extensions:
  std::string log_dir = {};            // metrics.csv and metrics.jsonl there (none when empty)
  std::optional<bool> progress_bar = {};  // default: verbose and stderr is a terminal
  // Recompute the model's blocks in backward instead of keeping their activations (less memory,
  // one more forward of the blocks; the same gradients): model.set_activation_checkpointing(true).
  bool activation_checkpointing = false;
  // Move the activations the forward pass saves for backward to pinned host memory and back in
  // backward (OffloadActivationsGuard around each batch's forward pass and loss): less device
  // memory on cuda, copies to and from the host per step. No effect on the cpu backend (the
  // tensors stay where they are). Composes with activation_checkpointing (then only the
  // checkpoints' inputs and the projection's activations are kept, on the host).
  bool offload_activations = false;
  std::vector<Callback*> callbacks = {};  // not owned; called in order
  std::ostream* out = nullptr;         // verbose lines (default std::cout)
  // Data-parallel training (distributed::DistributedDataParallel; not owned): gradients
  // synchronized before each optimizer step, metrics summed over the ranks, checkpoints, logs
  // and output on rank 0 only. See training/data_parallel.hpp. Keep this field last.
  DataParallel* data_parallel = nullptr;
};

// train(...)'s keyword arguments after the losses, as NeuralOperator's.
template <class T, class B = cpu>
struct TrainOptions {
  Regularizer<T, B>* regularizer = nullptr;
  std::optional<std::int64_t> save_every = {};  // checkpoint after epochs e with e % save_every == 0
  // "<loader>_<loss>" (e.g. "16_l2"): checkpoint "best_model" after evaluated epochs where it
  // is strictly lower than before; disables save_every.
  std::optional<std::string> save_best = {};
  std::string save_dir = "./ckpt";
  std::optional<std::string> resume_from_dir = {};
};

namespace detail {

template <class X>
struct var_of {};
template <TensorScalar T, std::size_t R, class B>
struct var_of<Tensor<T, R, B>> {
  using type = Var<T, R, B>;
};
template <TensorScalar T, std::size_t R, class B>
struct var_of<Var<T, R, B>> {
  using type = Var<T, R, B>;
};
template <class X>
using var_of_t = typename var_of<std::remove_cvref_t<X>>::type;

// A batch field as a Var (a tensor becomes a leaf without gradient).
template <class X>
var_of_t<X> as_var(const X& x) {
  return x;
}

// Whether V is a Var on backend B (true for other types: those are checked elsewhere).
template <class V, class B>
inline constexpr bool var_on_backend = true;
template <TensorScalar T, std::size_t R, class VB, class B>
inline constexpr bool var_on_backend<Var<T, R, VB>, B> = std::is_same_v<VB, B>;

template <class V>
inline constexpr bool is_var = false;
template <TensorScalar T, std::size_t R, class B>
inline constexpr bool is_var<Var<T, R, B>> = true;

// The backend a model computes on (where its parameters live; NeuralOperator's Trainer.device):
// Model::backend_type when the model declares one; else that of the Var its operator() returns
// for the batch's x (FNO<D, T, B>'s call takes a Var on B; overload resolution accepts a Var on
// another backend there through Var's expression constructor, whose body would reject it, so
// the call's type names B whatever x's backend is; the call itself is made with x moved to B);
// else the batch's own backend (a model generic over backends runs where the data is).
template <class Model, class XVar>
struct model_backend {
  using type = typename XVar::backend_type;
};
template <class Model, class XVar>
  requires requires { typename Model::backend_type; }
struct model_backend<Model, XVar> {
  using type = typename Model::backend_type;
};
template <class Model, class XVar>
  requires(!requires { typename Model::backend_type; } &&
           requires(Model& m, const XVar& x) { requires is_var<std::remove_cvref_t<decltype(m(x))>>; })
struct model_backend<Model, XVar> {
  using type = typename std::remove_cvref_t<decltype(std::declval<Model&>()(std::declval<const XVar&>()))>::backend_type;
};

// A batch field (a Tensor or a Var) as a tensor on backend B, copied through the backends' copy
// primitives (Tensor::to: the tensor itself when it is on B already). A Var's value is copied
// as a leaf without gradient (batches carry data, not graphs).
template <class B, TensorScalar T, std::size_t R, class A>
Tensor<T, R, B> to_backend(const Tensor<T, R, A>& t) {
  return t.template to<B>();
}
template <class B, TensorScalar T, std::size_t R, class A>
Tensor<T, R, B> to_backend(const Var<T, R, A>& v) {
  return v.value().template to<B>();
}
template <class X, class B>
using on_backend_t = decltype(to_backend<B>(std::declval<const X&>()));

// A loader batch moved to the model's backend by a Trainer without processor: its x and y (the
// only fields the Trainer reads).
template <class X, class Y>
struct MovedBatch {
  X x;
  Y y;
};

template <class Processor, class LoaderBatch>
struct model_batch_of {
  using type = typename Processor::model_batch_type;
};
template <class LoaderBatch>
struct model_batch_of<NoProcessor, LoaderBatch> {
  using type = LoaderBatch;
};

// The types one training batch goes through: loader batch -> [processor's preprocess] ->
// [moved to the model's backend] -> model batch -> x, y Vars, losses on the model batch's backend.
template <class Model, class Processor, class LoaderBatch>
struct BatchTypes {
  // What the loader yields, or what the processor makes of it.
  using data_batch = typename model_batch_of<Processor, LoaderBatch>::type;
  using data_x = std::remove_cvref_t<decltype(std::declval<data_batch&>().x)>;
  using data_y = std::remove_cvref_t<decltype(std::declval<data_batch&>().y)>;
  using model_backend_type = typename model_backend<Model, var_of_t<data_x>>::type;
  // Without a processor, batches that are not on the model's backend are moved there, as
  // NeuralOperator's `sample = {k: v.to(self.device) ...}`; a processor does its own moving.
  static constexpr bool moves = std::is_same_v<Processor, NoProcessor> &&
                                !(std::is_same_v<typename var_of_t<data_x>::backend_type, model_backend_type> &&
                                  std::is_same_v<typename var_of_t<data_y>::backend_type, model_backend_type>);
  using model_batch = std::conditional_t<moves,
                                         MovedBatch<on_backend_t<data_x, model_backend_type>, on_backend_t<data_y, model_backend_type>>,
                                         data_batch>;
  using x_var = var_of_t<decltype(std::declval<model_batch&>().x)>;
  using y_var = var_of_t<decltype(std::declval<model_batch&>().y)>;
  using value_type = typename y_var::value_type;
  using backend_type = typename y_var::backend_type;
  static constexpr std::size_t y_rank = y_var::rank;
  using loss_fn = LossFn<value_type, y_rank, backend_type>;
  using eval_losses = EvalLosses<value_type, y_rank, backend_type>;
  using train_options = TrainOptions<value_type, backend_type>;
};

template <class T>
double to_double(const T& v) {
  if constexpr (is_complex_v<T>) return static_cast<double>(std::real(v));
  else return static_cast<double>(v);
}

template <class L>
concept LoaderWithEpoch = requires(L& l, std::int64_t e) {
  { l.epoch() } -> std::convertible_to<std::int64_t>;
  l.set_epoch(e);
};
template <class L>
std::int64_t n_batches(L& l) {
  if constexpr (requires { l.size(); }) return static_cast<std::int64_t>(l.size());
  else return static_cast<std::int64_t>(std::distance(l.begin(), l.end()));
}
template <class L>
std::int64_t n_dataset_samples(const L& l) {
  if constexpr (requires { l.dataset().size(); }) return static_cast<std::int64_t>(l.dataset().size());
  else if constexpr (requires { l.n_samples(); }) return static_cast<std::int64_t>(l.n_samples());
  else return -1;
}
template <class K>
std::string name_of(const K& k) {
  if constexpr (std::is_arithmetic_v<K>) return std::to_string(k);
  else return std::string(k);
}
inline std::string quoted_name(const std::string& s) { return "'" + s + "'"; }

inline std::string format_fixed(double v, const char* fmt) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

}  // namespace detail

}  // namespace neuralop::training
