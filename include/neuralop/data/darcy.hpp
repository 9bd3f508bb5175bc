// Darcy flow data (NeuralOperator's DarcyDataset, load_darcy_pt, load_darcy_flow_small):
// darcy_{train,test}_{res}.pt, x the bool permeability mask as 0/1, y the pressure, [n, 1, res, res].
#pragma once

#include <string>
#include <vector>

#include "neuralop/data/pt_dataset.hpp"

namespace neuralop::data {

// DarcyDataset's / the loaders' keyword arguments (download aside: this library never downloads).
struct DarcyOptions {
  std::string data_root{};  // required: the folder holding darcy_train_{res}.pt and darcy_test_{res}.pt
  index_t n_train = 0;
  std::vector<index_t> n_tests{};           // one per test resolution (a file's count caps it)
  index_t batch_size = 0;
  std::vector<index_t> test_batch_sizes{};  // one per test resolution
  int train_resolution = 16;              // load_darcy_flow_small: always 16
  std::vector<int> test_resolutions{16, 32};
  bool encode_input = false;
  bool encode_output = true;
  std::string encoding = "channel-wise";  // or "pixel-wise"
  int channel_dim = 1;
  SubsamplingRate subsampling_rate{};  // DarcyDataset's (input and output alike)
};


// x and y [n, 1, res, res] in T (x: 0.0 / 1.0).
template <TensorScalar T = float>
class DarcyDataset : public PTDataset<T, 4, 4> {
 public:
  explicit DarcyDataset(const DarcyOptions& o, const char* who = "DarcyDataset")
      : PTDataset<T, 4, 4>(detail::grid_pt_options(o, "darcy", {16, 32, 64, 128, 421}, "Darcy", who), who) {}
};

template <TensorScalar T = float>
using DarcyData = LoadedData<TensorDataset<T, 4, 4>, DefaultDataProcessor<T, 4, 4>>;

// Train loader unshuffled with batch_size; test loaders unshuffled, one per test resolution.
template <TensorScalar T = float>
DarcyData<T> load_darcy_pt(const DarcyOptions& o) {
  return DarcyDataset<T>(o, "load_darcy_pt").loaders(o.batch_size, o.test_batch_sizes);
}

// The legacy small Darcy example: load_darcy_pt at train resolution 16 (NeuralOperator would
// download darcy_{res}.tgz for any resolution whose train or test file is missing; here a missing
// file is an io_error).
template <TensorScalar T = float>
DarcyData<T> load_darcy_flow_small(const DarcyOptions& o) {
  if (o.train_resolution != 16)
    throw_error<value_error>("load_darcy_flow_small: the training resolution is 16 (got train_resolution ", o.train_resolution,
                             "); use load_darcy_pt for other resolutions");
  return DarcyDataset<T>(o, "load_darcy_flow_small").loaders(o.batch_size, o.test_batch_sizes);
}

}  // namespace neuralop::data
