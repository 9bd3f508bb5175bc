// Training an FNO on Darcy flow, as NeuralOperator's examples/models/plot_FNO_darcy.py: learn the
// map from the permeability field a(x) (two values) to the pressure u(x) of -div(a grad u) = 1,
// train at 16x16 and evaluate at 16x16 and, zero-shot, at 32x32.
//
//   fno_darcy DATA_DIR [n_epochs=15] [n_train=1000]
// DATA_DIR holds darcy_train_16.pt, darcy_test_16.pt and darcy_test_32.pt (NeuralOperator's
// small Darcy files, neuralop/data/datasets/data in its package).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <neuralop/data/data.hpp>
#include <neuralop/losses/losses.hpp>
#include <neuralop/models/fno.hpp>
#include <neuralop/neuralop.hpp>
#include <neuralop/optim/optim.hpp>
#include <neuralop/training/training.hpp>

namespace no = neuralop;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fno_darcy DATA_DIR [n_epochs=15] [n_train=1000]\n");
    return 2;
  }
  const std::string data_dir = argv[1];
  const int n_epochs = argc > 2 ? std::atoi(argv[2]) : 15;
  const int n_train = argc > 3 ? std::atoi(argv[3]) : 1000;
  try {
    no::manual_seed(0);

    // Data: 1000 training samples at 16x16; test sets at 16 (the file holds 50 of the 100 asked
    // for) and 32. The output is normalised channel-wise in training; the data processor
    // normalises y in training mode and de-normalises the model's output in evaluation mode, so
    // the test errors are in physical units.
    auto data = no::data::load_darcy_flow_small<float>({.data_root = data_dir,
                                                        .n_train = n_train,
                                                        .n_tests = {100, 50},
                                                        .batch_size = 64,
                                                        .test_batch_sizes = {32, 32},
                                                        .test_resolutions = {16, 32}});

    // The model: 4 Fourier layers keeping 8x8 modes, width 24.
    no::FNO<2> model({.n_modes = {8, 8}, .in_channels = 1, .out_channels = 1, .hidden_channels = 24,
                      .projection_channel_ratio = 2});
    // NeuralOperator's count (a complex spectral weight entry counts twice): 191,881.
    std::printf("FNO with %lld parameters\n", static_cast<long long>(model.count_model_params()));

    // NeuralOperator's AdamW (eps 1e-6, decay after the step) and a cosine schedule.
    no::optim::AdamW optimizer(model.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
    no::optim::CosineAnnealingLR scheduler(optimizer, {.T_max = 30});

    // Train on the relative H1 error; report H1 and L2 on every test set.
    no::losses::H1Loss<2> h1;
    no::losses::LpLoss<2> l2;
    using Trainer = no::training::Trainer<no::FNO<2>, decltype(data.processor)>;
    using Loader = decltype(data.train);
    Trainer::loss_fn<Loader> train_loss = [&](const auto& pred, const auto& y) { return h1(pred, y); };
    Trainer::eval_losses_type<Loader> eval_losses = {{"h1", train_loss}, {"l2", [&](const auto& p, const auto& y) { return l2(p, y); }}};

    Trainer trainer(model, {.n_epochs = n_epochs, .eval_interval = 5, .verbose = true}, data.processor);
    trainer.train(data.train, data.tests, optimizer, scheduler, train_loss, eval_losses);

    // Final errors, and three test samples at each resolution: the 32x32 inputs were never seen
    // at that resolution in training (zero-shot super-resolution).
    std::printf("\nfinal test errors (per sample, physical units):\n");
    for (auto& [res, loader] : data.tests) {
      const auto m = trainer.evaluate(eval_losses, loader, std::to_string(res));
      std::printf("  %dx%d: h1 %.4f, l2 %.4f\n", res, res, m.at(std::to_string(res) + "_h1"), m.at(std::to_string(res) + "_l2"));
    }
    model.eval();
    data.processor.eval();
    no::NoGradGuard no_grad;
    for (auto& [res, loader] : data.tests) {
      auto batch = loader.dataset().get(std::vector<no::index_t>{0, 1, 2});
      auto mb = data.processor.preprocess(batch);
      auto pred = data.processor.postprocess(model(no::Var<float, 4>(mb.x, false)), mb);
      for (no::index_t i = 0; i < 3; ++i) {
        double err = 0, ref = 0;
        const auto& p = pred.value();
        const no::index_t n = static_cast<no::index_t>(res) * res;
        for (no::index_t k = 0; k < n; ++k) {
          const double d = p.data()[i * n + k] - mb.y.data()[i * n + k];
          err += d * d;
          ref += double(mb.y.data()[i * n + k]) * mb.y.data()[i * n + k];
        }
        std::printf("  test sample %lld at %dx%d: relative L2 error %.4f\n", static_cast<long long>(i), res, res,
                    std::sqrt(err / ref));
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fno_darcy: %s\n", e.what());
    return 1;
  }
  return 0;
}
