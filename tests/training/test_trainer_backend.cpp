// The losses, the data pipeline and the Trainer on a backend other than `cpu`, without a GPU:
// `host_device` is the cpu policy under another name whose memory the host may not read
// directly (host_accessible = false), so every transfer goes through the policy's copies, as
// on cuda. Its arithmetic is the cpu's, so the results must be bitwise the cpu's.
// (tests/cuda/test_cuda_training.cu runs the same checks on the GPU.)
#include <doctest/doctest.h>

#include "neuralop/backend/cpu.hpp"

namespace {
struct host_device : neuralop::cpu {
  static constexpr const char* name = "host_device";
  static constexpr bool host_accessible = false;
};
static_assert(neuralop::Backend<host_device>);
}  // namespace

#include "backend_parity.hpp"

using namespace neuralop;

TEST_CASE("Tensor::to copies between backends in both directions") {
  const auto a = Tensor<float, 3>::from_data({2, 1, 3}, {1.f, 2.f, 3.f, 4.f, 5.f, 6.f});
  const Tensor<float, 3, host_device> d = a.to<host_device>();
  CHECK(d.shape() == a.shape());
  CHECK(d.data() != a.data());  // a copy, not shared storage
  const Tensor<float, 3> back = d.to<cpu>();
  CHECK(back.to_vector() == a.to_vector());
  CHECK(back.data() != d.data());
  const Tensor<float, 3, host_device> same = d.to<host_device>();  // the same backend: shared, as torch
  CHECK(same.data() == d.data());
}

TEST_CASE("TensorDataset and DataLoader gather batches on a device backend as on the cpu") {
  const auto d = backend_parity::make_data(7, 4, 1);
  using DS = data::TensorDataset<float, 4, 4, host_device>;
  data::DataLoader<DS> ld(DS(d.x.to<host_device>(), d.y.to<host_device>()), {.batch_size = 3, .shuffle = true, .seed = 2});
  data::DataLoader<data::TensorDataset<float, 4>> lc(data::TensorDataset<float, 4>(d.x, d.y), {.batch_size = 3, .shuffle = true, .seed = 2});
  auto it = lc.begin();
  int n = 0;
  for (const auto& b : ld) {
    const auto c = *it;
    ++it;
    ++n;
    CHECK(b.x.shape() == c.x.shape());
    CHECK(b.x.to_vector() == c.x.to_vector());
    CHECK(b.y.to_vector() == c.y.to_vector());
  }
  CHECK(n == 3);
}

TEST_CASE("LpLoss and H1Loss on a device backend: values and gradients bitwise the cpu's") {
  backend_parity::check_losses<host_device>(0);
}

TEST_CASE("Trainer on a device backend with DefaultDataProcessor moving host batches: bitwise the cpu's run; its checkpoint loads on both") {
  optim::register_adamw_backend<host_device>();
  backend_parity::check_trainer_with_processor<host_device>({});
}

TEST_CASE("Trainer on a device backend with the dataset in device memory: bitwise the cpu's run") {
  optim::register_adamw_backend<host_device>();
  backend_parity::check_trainer_on_device_dataset<host_device>({});
}

TEST_CASE("Trainer without processor copies host batches to a model on a device backend: bitwise the device-dataset and cpu runs; a moving processor and a resumed run agree") {
  optim::register_adamw_backend<host_device>();
  backend_parity::check_trainer_moving_host_batches<host_device>({});
}
