// Trainer combinations that must not compile, each with a readable diagnostic (run by
// run_compile_fail.sh as cases.cpp is). Batches on another backend than the model are not one of
// them: without a processor the Trainer copies them to the model's backend (the control, CASE 0,
// trains a model on a backend the host may not read from a host dataset).
#include <neuralop/backend/cpu.hpp>

namespace {
struct host_device : neuralop::cpu {
  static constexpr const char* name = "host_device";
  static constexpr bool host_accessible = false;
};
}  // namespace

#include <neuralop/data/data_loader.hpp>
#include <neuralop/data/data_processor.hpp>
#include <neuralop/data/tensor_dataset.hpp>
#include <neuralop/losses/losses.hpp>
#include <neuralop/models/fno.hpp>
#include <neuralop/optim/optim.hpp>
#include <neuralop/training/training.hpp>

using namespace neuralop;
using DS = data::TensorDataset<float, 4>;
using Loader = data::DataLoader<DS>;

int main() {
  Loader loader(DS(Tensor<float, 4>::zeros({2, 1, 8, 8}), Tensor<float, 4>::zeros({2, 1, 8, 8})), {.batch_size = 1});
  std::vector<std::pair<std::string, Loader>> tests;
  const losses::LpLoss<2> l2;
  const FNOOptions fo{.n_modes = {2, 2}, .in_channels = 1, .out_channels = 1, .hidden_channels = 4};
#if CASE == 1  // EXPECT: the model's output type must be the Var type of the batch's y
  FNO<2, double> model(fo);  // float data: the Trainer moves batches, it does not convert them
  optim::AdamW opt(model.parameters(), {});
  training::Trainer trainer(model, {.n_epochs = 1});
  trainer.train(loader, tests, opt, nullptr, l2);
#elif CASE == 2  // EXPECT: the model's output type must be the Var type of the batch's y
  FNO<2, double, host_device> model(fo);  // the same on another backend: moved, still float
  optim::AdamW opt(model.parameters(), {});
  training::Trainer trainer(model, {.n_epochs = 1});
  trainer.train(loader, tests, opt, nullptr, l2);
#elif CASE == 3  // EXPECT: the model runs on another backend than the batches its data processor makes
  FNO<2, float, host_device> model(fo);
  data::DefaultDataProcessor<float, 4> processor;  // makes cpu batches; the model wants host_device ones
  optim::AdamW opt(model.parameters(), {});
  training::Trainer trainer(model, {.n_epochs = 1}, processor);
  trainer.train(loader, tests, opt, nullptr, l2);
#elif CASE == 0  // the control: host batches, a model on another backend, no processor
  FNO<2, float, host_device> model(fo);
  optim::AdamW opt(model.parameters(), {});
  training::Trainer trainer(model, {.n_epochs = 1});
  trainer.train(loader, tests, opt, nullptr, l2);
  (void)trainer.evaluate({{"l2", l2}}, loader, "host");
#endif
  return 0;
}
