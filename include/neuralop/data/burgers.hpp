// 1-D viscous Burgers data in time (NeuralOperator's Burgers1dTimeDataset,
// Burgers1dTimeDataProcessor, load_mini_burgers_1dtime): x the initial condition [n, 1, S],
// y the solution [n, 1, T, S]; the processor repeats x along time before normalising.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "neuralop/data/pt_dataset.hpp"

namespace neuralop::data {

// A DefaultDataProcessor whose preprocess first turns x [B, C, S] into [B, C, T, S] (T = y's
// axis 2): x.unsqueeze(-2).repeat(1, 1, T, 1). The input normalizer, fitted on [n, C, S], is
// broadcast over the new axis.
template <TensorScalar T = float, class B = cpu>
class Burgers1dTimeDataProcessor : public DefaultDataProcessor<T, 3, 4, B> {
  using base = DefaultDataProcessor<T, 3, 4, B>;

 public:
  using batch_type = Batch<T, 3, 4, cpu>;
  using model_batch_type = Batch<T, 4, 4, B>;
  using output_type = Var<T, 4, B>;

  explicit Burgers1dTimeDataProcessor(std::shared_ptr<typename base::in_normalizer_type> in_normalizer = nullptr,
                                      std::shared_ptr<typename base::out_normalizer_type> out_normalizer = nullptr)
      : base(std::move(in_normalizer), std::move(out_normalizer)) {}

  model_batch_type preprocess(batch_type b) const {
    const Shape<3> xs = b.x.shape();
    const index_t t_len = b.y.shape()[2];
    Tensor<T, 4> x(Shape<4>{xs[0], xs[1], t_len, xs[2]});
    x.assign(b.x.reshape(Shape<4>{xs[0], xs[1], 1, xs[2]}));
    return this->process(model_batch_type{base::to_backend(std::move(x)), base::to_backend(std::move(b.y))});
  }
  output_type postprocess(const output_type& out, model_batch_type& batch) const {
    (void)batch;
    if (this->out_normalizer() && !this->training()) return this->out_normalizer()->inverse_transform(out);
    return out;
  }
};

struct Burgers1dTimeOptions {
  std::string root_dir{};  // required: the folder holding burgers_{train,test}_{res}.pt
  index_t n_train = 0;
  std::vector<index_t> n_tests{};
  int train_resolution = 16;
  std::vector<int> test_resolutions{16};
  index_t batch_size = 32;
  std::vector<index_t> test_batch_sizes{32};
  // Passed on as NeuralOperator does (input rate = spatial, output rates = [temporal, spatial]);
  // with the shipped files' ranks neither has any effect (see docs/data.md).
  std::optional<index_t> temporal_subsample{};
  std::optional<index_t> spatial_subsample{};
};

// x [n, 1, S] (through float32, as NeuralOperator casts x), y [n, 1, T, S]; both normalizers
// channel-wise.
template <TensorScalar T = float>
class Burgers1dTimeDataset : public PTDataset<T, 3, 4> {
  using base = PTDataset<T, 3, 4>;

 public:
  using processor_type = Burgers1dTimeDataProcessor<T>;

  explicit Burgers1dTimeDataset(const Burgers1dTimeOptions& o, const char* who = "Burgers1dTimeDataset")
      : base(options(o, who), who),
        processor_(base::data_processor().in_normalizer(), base::data_processor().out_normalizer()) {}

  const processor_type& data_processor() const { return processor_; }

  LoadedData<TensorDataset<T, 3, 4>, processor_type> loaders(index_t batch_size, const std::vector<index_t>& test_batch_sizes,
                                                             bool shuffle_train = true, std::uint64_t seed = 0) const {
    return base::make_loaders(processor_, batch_size, test_batch_sizes, shuffle_train, seed);
  }

 private:
  processor_type processor_;

  static PTDatasetOptions options(const Burgers1dTimeOptions& o, const char* who) {
    auto check = [who](int res) {
      if (res != 16 && res != 128)
        throw_error<value_error>(who, ": resolution ", res, " is not available (Burgers data come at 16 and 128)");
    };
    check(o.train_resolution);
    for (int r : o.test_resolutions) check(r);
    SubsamplingRate in{}, out = std::vector<index_t>{o.temporal_subsample.value_or(0), o.spatial_subsample.value_or(0)};
    if (o.spatial_subsample) in = *o.spatial_subsample;
    return {.root_dir = o.root_dir,
            .dataset_name = "burgers",
            .n_train = o.n_train,
            .n_tests = o.n_tests,
            .batch_size = o.batch_size,
            .test_batch_sizes = o.test_batch_sizes,
            .train_resolution = o.train_resolution,
            .test_resolutions = o.test_resolutions,
            .encode_input = true,
            .encode_output = true,
            .encoding = "channel-wise",
            .input_subsampling_rate = in,
            .output_subsampling_rate = out,
            .channel_dim = 1};
  }
};

template <TensorScalar T = float>
using BurgersData = LoadedData<TensorDataset<T, 3, 4>, Burgers1dTimeDataProcessor<T>>;

struct MiniBurgersOptions {
  std::string data_path{};  // required: the folder holding burgers_{train,test}_16.pt
  index_t n_train = 0;
  index_t n_test = 0;
  index_t batch_size = 0;
  index_t test_batch_size = 0;
  index_t temporal_subsample = 1;
  index_t spatial_subsample = 1;
  std::uint64_t seed = 0;  // the train loader's shuffle (torch draws it from its global generator)
};

// Resolution 16; the train loader is SHUFFLED (a seeded permutation per epoch), the test loader
// (key 16) is not.
template <TensorScalar T = float>
BurgersData<T> load_mini_burgers_1dtime(const MiniBurgersOptions& o) {
  const Burgers1dTimeDataset<T> ds({.root_dir = o.data_path,
                                    .n_train = o.n_train,
                                    .n_tests = {o.n_test},
                                    .train_resolution = 16,
                                    .test_resolutions = {16},
                                    .batch_size = o.batch_size,
                                    .test_batch_sizes = {o.test_batch_size},
                                    .temporal_subsample = o.temporal_subsample,
                                    .spatial_subsample = o.spatial_subsample},
                                   "load_mini_burgers_1dtime");
  return ds.loaders(o.batch_size, {o.test_batch_size}, true, o.seed);
}

}  // namespace neuralop::data
