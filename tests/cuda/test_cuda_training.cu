// Losses, the data pipeline and the Trainer on the cuda backend against the cpu backend (the
// checks of tests/training/backend_parity.hpp, which the cpu suite runs bitwise on a host-memory
// stand-in backend): LpLoss/H1Loss values and gradients on random inputs; a few epochs of
// Trainer on a small FNO<2, float, cuda> from the same seed give the cpu run's losses, metrics
// and parameters within float tolerances; its checkpoint loads on both backends. A host dataset
// given to the cuda model without processor (the Trainer copies the batches) gives bitwise the
// run whose dataset is in device memory (the same kernels on the same values).
#include "cuda_helpers.hpp"

#include "../training/backend_parity.hpp"

using namespace neuralop;

namespace {
// Reductions run in another order on the GPU, and a few steps of AdamW let the rounding
// differences of the gradients grow: the training runs are compared loosely.
constexpr backend_parity::Tolerances training_tol{.loss = 1e-5, .metric = 1e-4, .param = 1e-3};
}  // namespace

TEST_CASE("cuda LpLoss and H1Loss (rel, abs, options; 1-D, 2-D, 3-D): values and gradients match the cpu") {
  backend_parity::check_losses<cuda>(1e-5);
}

TEST_CASE("cuda Trainer: FNO 2-D with DefaultDataProcessor moving host batches to the GPU matches the cpu run; its checkpoint loads on both") {
  backend_parity::check_trainer_with_processor<cuda>(training_tol);
}

TEST_CASE("cuda Trainer: dataset in device memory, no processor, LpLoss and ReduceLROnPlateau match the cpu run") {
  backend_parity::check_trainer_on_device_dataset<cuda>(training_tol);
}

TEST_CASE("cuda Trainer: host dataset, no processor: the Trainer copies each batch to the GPU; the run equals the device-dataset run and matches the cpu run") {
  backend_parity::check_trainer_moving_host_batches<cuda>(training_tol);
}
