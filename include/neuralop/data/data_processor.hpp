// Data processors: what runs between the loader and the model (preprocess) and between the model
// and the losses (postprocess). DefaultDataProcessor is NeuralOperator's: inputs normalised
// always, targets only in training, outputs de-normalised only in evaluation.
#pragma once

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/data/tensor_dataset.hpp"
#include "neuralop/data/unit_gaussian_normalizer.hpp"
#include "neuralop/nn/embeddings.hpp"

namespace neuralop::data {

// The contract a Trainer relies on. batch_type: what the loader yields; model_batch_type: what
// preprocess hands to the model and the losses (its y rank is the model output's rank).
template <class P>
concept DataProcessor = requires(P& p, const P& cp, typename P::batch_type b, typename P::model_batch_type& mb,
                                 const Var<typename P::model_batch_type::value_type, P::model_batch_type::y_rank,
                                           typename P::model_batch_type::backend_type>& out) {
  { cp.preprocess(std::move(b)) } -> std::same_as<typename P::model_batch_type>;
  { cp.postprocess(out, mb) } -> std::same_as<std::remove_cvref_t<decltype(out)>>;
  p.train(true);
  p.eval();
  { cp.training() } -> std::convertible_to<bool>;
};

// No processing (training without a processor): batches pass through unchanged.
template <class Batch>
class IdentityProcessor {
 public:
  using batch_type = Batch;
  using model_batch_type = Batch;
  using output_type = Var<typename Batch::value_type, Batch::y_rank, typename Batch::backend_type>;

  model_batch_type preprocess(batch_type b) const { return b; }
  output_type postprocess(const output_type& out, model_batch_type&) const { return out; }
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool training() const { return training_; }

 private:
  bool training_ = true;
};

// Grid channels appended to x after normalisation (the positional_encoding of NeuralOperator's
// older DefaultDataProcessor, a GridEmbeddingND): spatial axis j gets the cell-left coordinates
// linspace(a_j, b_j, N_j + 1)[:-1] in float32, channels after the data channels.
struct GridPositionalEncoding {
  std::vector<std::pair<double, double>> grid_boundaries;  // one per spatial axis; empty = [0, 1] each

  template <TensorScalar T, std::size_t R, class B>
  Tensor<T, R, B> operator()(const Tensor<T, R, B>& x) const {
    static_assert(R >= 3, "GridPositionalEncoding: x must be [batch, channels, spatial...]");
    constexpr std::size_t D = R - 2;
    if (!grid_boundaries.empty() && grid_boundaries.size() != D)
      throw_error<value_error>("GridPositionalEncoding: ", grid_boundaries.size(), " grid_boundaries for ", D, " spatial axes");
    Shape<R> gs = x.shape();
    gs[1] = 1;
    std::vector<Tensor<T, R, B>> parts{x};
    for (std::size_t j = 0; j < D; ++j) {
      const auto [a, b] = grid_boundaries.empty() ? std::pair<double, double>{0.0, 1.0} : grid_boundaries[j];
      const index_t n = gs[j + 2];
      const auto line = nn::detail::torch_linspace(float(a), float(b), n + 1);
      std::vector<T> vals(line.begin(), line.end() - 1);
      Shape<R> ls{};
      ls.fill(1);
      ls[j + 2] = n;
      Tensor<T, R, B> g(gs);
      g.assign(Tensor<T, R, cpu>::from_data(ls, std::span<const T>(vals)).template to<B>());
      parts.push_back(std::move(g));
    }
    return concat(std::span<const Tensor<T, R, B>>(parts), 1);
  }
};

// DefaultDataProcessor(in_normalizer, out_normalizer): loader batches (host) -> the processor's
// backend B. Normalizers are shared (copies of the processor use the same ones, as Python
// references would).
template <TensorScalar T, std::size_t RX, std::size_t RY = RX, class B = cpu>
class DefaultDataProcessor {
 public:
  using value_type = T;
  using batch_type = Batch<T, RX, RY, cpu>;
  using model_batch_type = Batch<T, RX, RY, B>;
  using output_type = Var<T, RY, B>;
  using in_normalizer_type = UnitGaussianNormalizer<T, RX, B>;
  using out_normalizer_type = UnitGaussianNormalizer<T, RY, B>;

  explicit DefaultDataProcessor(std::shared_ptr<in_normalizer_type> in_normalizer = nullptr,
                                std::shared_ptr<out_normalizer_type> out_normalizer = nullptr,
                                std::optional<GridPositionalEncoding> positional_encoding = std::nullopt)
      : in_(std::move(in_normalizer)), out_(std::move(out_normalizer)), pos_(std::move(positional_encoding)) {}

  const std::shared_ptr<in_normalizer_type>& in_normalizer() const { return in_; }
  const std::shared_ptr<out_normalizer_type>& out_normalizer() const { return out_; }
  const std::optional<GridPositionalEncoding>& positional_encoding() const { return pos_; }

  // x <- in_normalizer.transform(x) (then grid channels, if any); y <- out_normalizer.transform(y)
  // in training mode only.
  model_batch_type preprocess(batch_type b) const {
    model_batch_type m{to_backend(std::move(b.x)), to_backend(std::move(b.y))};
    return process(std::move(m));
  }
  // out <- out_normalizer.inverse_transform(out) in evaluation mode only (differentiable); the
  // batch is left as it is (its y was never normalised in evaluation).
  output_type postprocess(const output_type& out, model_batch_type& batch) const {
    (void)batch;
    if (out_ && !training_) return out_->inverse_transform(out);
    return out;
  }

  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool training() const { return training_; }

  // "in_normalizer.mean", "in_normalizer.std", "out_normalizer.mean", "out_normalizer.std" (those
  // of the normalizers that are set), as the Python module's state_dict.
  io::StateDict state_dict() const {
    io::StateDict sd;
    add_state(sd, "in_normalizer.", in_);
    add_state(sd, "out_normalizer.", out_);
    return sd;
  }
  // Loads into the normalizers that are set (each must find its keys); with strict no other keys.
  void load_state_dict(const io::StateDict& sd, bool strict = true) {
    load_state(sd, "in_normalizer.", in_);
    load_state(sd, "out_normalizer.", out_);
    if (strict)
      for (const auto& [k, t] : sd) {
        const bool in = k.starts_with("in_normalizer.") && in_, out = k.starts_with("out_normalizer.") && out_;
        if (!in && !out) throw_error<value_error>("DefaultDataProcessor.load_state_dict from ", sd.where(), ": unexpected key '", k, "'");
      }
  }

  // The same processor on another backend (NeuralOperator's .to(device)): new normalizer copies.
  template <class B2>
  DefaultDataProcessor<T, RX, RY, B2> to() const {
    DefaultDataProcessor<T, RX, RY, B2> p(in_ ? in_->template to<B2>() : nullptr, out_ ? out_->template to<B2>() : nullptr, pos_);
    p.train(training_);
    return p;
  }

 protected:
  // The normalisation step on a batch already on B (Burgers1dTimeDataProcessor reuses it).
  template <std::size_t X, std::size_t Y>
  Batch<T, X, Y, B> process(Batch<T, X, Y, B> b) const {
    if (in_) b.x = in_->transform(b.x);
    if (pos_) b.x = (*pos_)(b.x);
    if (out_ && training_) b.y = out_->transform(b.y);
    return b;
  }
  template <std::size_t R>
  static Tensor<T, R, B> to_backend(Tensor<T, R, cpu> t) {
    if constexpr (std::is_same_v<B, cpu>) return t;
    else return t.template to<B>();
  }

 private:
  std::shared_ptr<in_normalizer_type> in_;
  std::shared_ptr<out_normalizer_type> out_;
  std::optional<GridPositionalEncoding> pos_;
  bool training_ = true;

  template <class N>
  static void add_state(io::StateDict& sd, const std::string& prefix, const std::shared_ptr<N>& n) {
    if (!n) return;
    for (const auto& [k, t] : n->state_dict()) sd.set(prefix + k, t);
  }
  template <class N>
  static void load_state(const io::StateDict& sd, const std::string& prefix, const std::shared_ptr<N>& n) {
    if (!n) return;
    io::StateDict part(sd.where());
    for (const auto& [k, t] : sd)
      if (k.starts_with(prefix)) part.set(k.substr(prefix.size()), t);
    try {
      n->load_state_dict(part, true);
    } catch (const value_error& e) {
      throw_error<value_error>("DefaultDataProcessor '", prefix.substr(0, prefix.size() - 1), "': ", e.what());
    }
  }
};

}  // namespace neuralop::data
