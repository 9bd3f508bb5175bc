// The CLI's pictures: test samples (input, truth, prediction, error) per test resolution and the
// loss curves of a run, as PNG files (neuralop/io/plots.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <neuralop/io/plots.hpp>
#include <neuralop/training/training.hpp>

namespace neuralop::cli {

// Collects each epoch's metrics for the loss curves.
struct CurveRecorder : training::Callback {
  std::vector<training::EpochMetrics> epochs;
  void on_epoch_end(const training::EpochMetrics& m) override { epochs.push_back(m); }
};

namespace detail {

// Sample i, channel 0 of a batch tensor: [B, C, H, W] -> H x W; [B, C, S] -> 1 x S.
template <class T, std::size_t R>
io::FieldPanel sample_panel(std::string title, const Tensor<T, R>& t, index_t i) {
  static_assert(R == 3 || R == 4, "pictures: batch tensors are [B, C, S] or [B, C, H, W]");
  const auto& s = t.shape();
  const index_t rows = R == 4 ? s[2] : 1, cols = s[R - 1];
  const T* p = t.data() + i * (s[1] * rows * cols);
  return io::field_panel(std::move(title), p, static_cast<int>(rows), static_cast<int>(cols));
}

}  // namespace detail

// The first n samples of the loader's first batch through the processor (evaluation mode, so
// the prediction is in the data's units) and the model; one row per sample.
template <class Model, class Proc, class Loader>
void write_sample_pictures(Model& model, Proc& proc, Loader& loader, index_t n, const std::string& title, const std::string& path) {
  model.eval();
  proc.eval();
  NoGradGuard no_grad;
  for (auto&& batch : loader) {
    const auto x = batch.x;
    const auto y = batch.y;
    auto mb = proc.preprocess(std::move(batch));
    const auto pred = proc.postprocess(model(training::detail::as_var(mb.x)), mb).value();
    std::vector<std::vector<io::FieldPanel>> grid;
    const index_t rows = std::min<index_t>(n, y.shape()[0]);
    for (index_t i = 0; i < rows; ++i) {
      auto truth = detail::sample_panel("truth, sample " + std::to_string(i), y, i);
      auto predicted = detail::sample_panel("prediction", pred, i);
      // Truth and prediction share one colour scale, so that they compare by eye.
      const auto [lo, hi] = io::detail::panel_range(truth);
      truth.vmin = predicted.vmin = lo;
      truth.vmax = predicted.vmax = hi;
      io::FieldPanel error = predicted;
      error.title = "error (prediction - truth)";
      error.vmin = error.vmax = std::numeric_limits<double>::quiet_NaN();
      for (std::size_t k = 0; k < error.values.size(); ++k) error.values[k] -= truth.values[k];
      grid.push_back({detail::sample_panel("input", x, i), truth, predicted, error});
    }
    io::save_png(path, io::render_fields(grid, {.title = title}));
    return;
  }
}

// Training loss (per sample) and every evaluation metric against the epoch, on a log axis; `final`
// (the final evaluation, after the last epoch) closes the evaluation curves.
inline void write_loss_curves(const CurveRecorder& rec, const std::string& training_loss, const training::Metrics& final,
                              const std::string& path) {
  std::vector<io::Curve> curves{{"train " + training_loss, {}, {}}};
  for (const auto& e : rec.epochs) {
    curves[0].x.push_back(static_cast<double>(e.epoch + 1));
    curves[0].y.push_back(e.avg_loss);
    for (const auto& kv : e.eval) {
      const std::string& k = kv.first;
      const double v = kv.second;
      auto it = std::find_if(curves.begin(), curves.end(), [&](const io::Curve& c) { return c.label == k; });
      if (it == curves.end()) it = curves.insert(curves.end(), io::Curve{k, {}, {}});
      it->x.push_back(static_cast<double>(e.epoch + 1));
      it->y.push_back(v);
    }
  }
  if (!rec.epochs.empty()) {
    const double last = static_cast<double>(rec.epochs.back().epoch + 1);
    for (const auto& kv : final)
      for (auto& c : curves)
        if (c.label == kv.first && (c.x.empty() || c.x.back() < last)) {
          c.x.push_back(last);
          c.y.push_back(kv.second);
        }
  }
  io::save_png(path, io::render_curves(curves, {.title = "loss curves", .xlabel = "epoch", .ylabel = "loss per sample"}));
}

}  // namespace neuralop::cli
