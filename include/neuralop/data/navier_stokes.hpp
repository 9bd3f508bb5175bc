// Navier-Stokes vorticity data (NeuralOperator's NavierStokesDataset, load_navier_stokes_pt):
// nsforcing_{train,test}_{res}.pt with x, y [n, res, res], resolutions 128 and 1024.
#pragma once

#include <string>
#include <vector>

#include "neuralop/data/pt_dataset.hpp"

namespace neuralop::data {

struct NavierStokesOptions {
  std::string data_root{};  // required: the folder holding nsforcing_{train,test}_{res}.pt
  index_t n_train = 0;
  std::vector<index_t> n_tests{};
  index_t batch_size = 0;
  std::vector<index_t> test_batch_sizes{};
  int train_resolution = 128;
  std::vector<int> test_resolutions{128};
  bool encode_input = false;
  bool encode_output = true;
  std::string encoding = "channel-wise";
  int channel_dim = 1;
  SubsamplingRate subsampling_rate{};
};


// x and y [n, 1, res, res] in T.
template <TensorScalar T = float>
class NavierStokesDataset : public PTDataset<T, 4, 4> {
 public:
  explicit NavierStokesDataset(const NavierStokesOptions& o, const char* who = "NavierStokesDataset")
      : PTDataset<T, 4, 4>(detail::grid_pt_options(o, "nsforcing", {128, 1024}, "Navier-Stokes", who), who) {}
};

template <TensorScalar T = float>
using NavierStokesData = LoadedData<TensorDataset<T, 4, 4>, DefaultDataProcessor<T, 4, 4>>;

// Train loader unshuffled, test loaders unshuffled (NeuralOperator's default data_root points to
// a folder that does not exist; here data_root is required).
template <TensorScalar T = float>
NavierStokesData<T> load_navier_stokes_pt(const NavierStokesOptions& o) {
  return NavierStokesDataset<T>(o, "load_navier_stokes_pt").loaders(o.batch_size, o.test_batch_sizes);
}

}  // namespace neuralop::data
