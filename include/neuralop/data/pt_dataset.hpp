// PTDataset: NeuralOperator's datasets stored as torch.save'd {"x": ..., "y": ...} dicts,
// "{name}_train_{res}.pt" / "{name}_test_{res}.pt", with its sample truncation, subsampling,
// channel axis and normalizer fitting; and LoadedData, the (train, tests, processor) of a loader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "neuralop/data/data_loader.hpp"
#include "neuralop/data/data_processor.hpp"
#include "neuralop/data/tensor_dataset.hpp"
#include "neuralop/data/unit_gaussian_normalizer.hpp"
#include "neuralop/io/pt.hpp"

namespace neuralop::data {

// A subsampling rate as PTDataset takes it: none (or 0) = 1, one int for every data axis, or one
// per data axis. "Data axes" are the stored tensor's axes after the first two (see pt_dataset.md).
using SubsamplingRate = std::variant<std::monostate, index_t, std::vector<index_t>>;

struct PTDatasetOptions {
  std::string root_dir{};      // required: nothing is looked for in fixed places
  std::string dataset_name{};  // file prefix: "darcy", "burgers", "nsforcing"
  index_t n_train = 0;
  std::vector<index_t> n_tests{};  // one per test resolution
  index_t batch_size = 0;        // stored only (loaders use it)
  std::vector<index_t> test_batch_sizes{};
  int train_resolution = 0;
  std::vector<int> test_resolutions{};
  bool encode_input = false;
  bool encode_output = true;
  std::string encoding = "channel-wise";  // or "pixel-wise"
  SubsamplingRate input_subsampling_rate{};
  SubsamplingRate output_subsampling_rate{};
  int channel_dim = 1;
  bool channels_squeezed = true;  // the files hold no channel axis: one is inserted at channel_dim
  // x goes through float32 first (PTDataset's x.type(torch.float32)), whatever T is; y is read
  // as stored and converted to T.
  bool x_via_float32 = true;
};

// The loaders' result: NeuralOperator's (train_loader, test_loaders, data_processor).
template <class Dataset, class Processor>
struct LoadedData {
  DataLoader<Dataset> train;
  std::map<int, DataLoader<Dataset>> tests;
  Processor processor;
};

namespace detail {

// The file's top-level dict, or an io_error naming the path (this library never downloads).
inline io::Value load_dataset_file(const std::filesystem::path& path, const std::string& who, const std::string& hint = "") {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw_error<io_error>(who, ": data file '", path.string(), "' does not exist", hint.empty() ? "" : " (", hint,
                          hint.empty() ? "" : ")");
  io::Value v = io::load_pt(path.string());
  if (!v.is_dict()) v.fail(who, ": expected a dict with keys 'x' and 'y', found ", v.describe());
  return v;
}

// The stored entry `key` as a tensor of rank `rank`; errors name the key and the path.
inline io::RawTensor dataset_tensor(const io::Value& root, const char* key, std::size_t rank, const std::string& who,
                                    const char* axes) {
  if (!root.contains(key)) {
    std::string keys;
    for (const auto& k : root.keys()) keys += (keys.empty() ? "'" : ", '") + k + "'";
    throw_error<io_error>(who, ": '", root.where(), "' has no key '", key, "' (keys: ", keys.empty() ? "none" : keys, ")");
  }
  const io::Value v = root.at(key);
  if (!v.is_tensor()) v.fail(who, ": expected a tensor, found ", v.describe());
  io::RawTensor t = v.tensor();
  t.validate(v.where());
  if (t.rank() != rank)
    v.fail(who, ": expected a rank-", rank, " tensor (", axes, "), found a ", t.describe());
  if (io::is_complex_dtype(t.dtype)) v.fail(who, ": expected a real (or bool) tensor, found a ", t.describe());
  for (std::size_t a = 0; a < rank; ++a)
    if (t.shape[a] <= 0) v.fail(who, ": the ", t.describe(), " is empty");
  return t;
}

// Per stored axis: the step (axis 0 is never stepped). `rate` expands as PTDataset's code does:
// None / 0 -> 1, an int -> one per "data axis" (stored rank - 2 of them), a list must have that
// many entries.
inline std::vector<index_t> expand_rate(const SubsamplingRate& rate, std::size_t stored_rank, bool none_is_one,
                                        const std::string& who, const char* name) {
  const std::size_t dims = stored_rank >= 2 ? stored_rank - 2 : 0;
  std::vector<index_t> r{};
  if (const auto* v = std::get_if<std::vector<index_t>>(&rate)) {
    r = *v;
    if (r.size() != dims)
      throw_error<value_error>(who, ": ", name, " has ", r.size(), " entries but the data have ", dims,
                               " data axes (stored rank ", stored_rank, " minus 2)");
  } else {
    index_t x = 1;
    if (const auto* i = std::get_if<index_t>(&rate)) x = (*i == 0 && none_is_one) ? 1 : *i;
    r.assign(dims, x);
  }
  for (index_t x : r)
    if (x <= 0) throw_error<value_error>(who, ": ", name, " ", x, ": subsampling rates must be positive");
  return r;
}

// Samples [0, n) of the stored tensor, stepped by rates on stored axes 1..len(rates), converted
// to T (through U first), with a channel axis of size 1 inserted at channel_dim if squeezed.
template <TensorScalar T, std::size_t R, class U>
Tensor<T, R> read_samples(const io::RawTensor& raw, index_t n, const std::vector<index_t>& rates, int channel_dim,
                          bool squeezed, const std::string& where) {
  io::RawTensor v = raw;  // a strided view of the wanted elements (no copy of the storage)
  v.shape[0] = n;
  for (std::size_t i = 0; i < rates.size() && i + 1 < v.shape.size(); ++i) {
    v.shape[i + 1] = (raw.shape[i + 1] + rates[i] - 1) / rates[i];
    v.strides[i + 1] = raw.strides[i + 1] * rates[i];
  }
  auto to_T = [](const auto& t) {
    using TT = std::remove_cvref_t<decltype(t)>;
    if constexpr (std::is_same_v<U, T>) return t;
    else return Tensor<T, TT::rank>(cast<T>(t));
  };
  if (!squeezed) return to_T(v.template to_tensor<U, R>(true, where));
  const auto t = to_T(v.template to_tensor<U, R - 1>(true, where));
  Shape<R> s{};
  for (std::size_t a = 0, k = 0; a < R; ++a) s[a] = (int(a) == channel_dim) ? 1 : t.shape()[k++];
  return t.template reshape<R>(s);
}

// PTDatasetOptions of a dataset stored as square grids (Darcy, Navier-Stokes): the resolutions
// must be ones the dataset exists at; x and y are subsampled alike.
template <class O>
PTDatasetOptions grid_pt_options(const O& o, const char* dataset_name, std::initializer_list<int> available,
                                 const char* data_label, const char* who) {
  auto check = [&](int res) {
    std::string list;
    for (int r : available) {
      if (r == res) return;
      list += (list.empty() ? "" : ", ") + std::to_string(r);
    }
    throw_error<value_error>(who, ": resolution ", res, " is not available (", data_label, " data come at ", list, ")");
  };
  check(o.train_resolution);
  for (int r : o.test_resolutions) check(r);
  return {.root_dir = o.data_root,
          .dataset_name = dataset_name,
          .n_train = o.n_train,
          .n_tests = o.n_tests,
          .batch_size = o.batch_size,
          .test_batch_sizes = o.test_batch_sizes,
          .train_resolution = o.train_resolution,
          .test_resolutions = o.test_resolutions,
          .encode_input = o.encode_input,
          .encode_output = o.encode_output,
          .encoding = o.encoding,
          .input_subsampling_rate = o.subsampling_rate,
          .output_subsampling_rate = o.subsampling_rate,
          .channel_dim = o.channel_dim};
}

}  // namespace detail

// Rank RX / RY: the ranks of x and y as the model sees them (Darcy 4 and 4: [n, 1, H, W]).
template <TensorScalar T, std::size_t RX, std::size_t RY = RX>
class PTDataset {
  static_assert(RX >= 2 && RY >= 2, "PTDataset: x and y need a sample and a channel axis");

 public:
  using dataset_type = TensorDataset<T, RX, RY>;
  using processor_type = DefaultDataProcessor<T, RX, RY>;

  explicit PTDataset(PTDatasetOptions o, std::string who = "PTDataset") : opt_(std::move(o)), who_(std::move(who)) {
    if (opt_.root_dir.empty()) throw_error<value_error>(who_, ": root_dir (data_root) is required");
    if (opt_.n_train <= 0) throw_error<value_error>(who_, ": n_train must be positive, got ", opt_.n_train);
    if (opt_.encoding != "channel-wise" && opt_.encoding != "pixel-wise")
      throw_error<value_error>(who_, ": unknown encoding '", opt_.encoding, "' (expected \"channel-wise\" or \"pixel-wise\")");
    if (opt_.n_tests.size() != opt_.test_resolutions.size())
      throw_error<value_error>(who_, ": ", opt_.n_tests.size(), " n_tests for ", opt_.test_resolutions.size(),
                               " test_resolutions (one count per resolution)");
    for (index_t n : opt_.n_tests)
      if (n <= 0) throw_error<value_error>(who_, ": n_tests entries must be positive, got ", n);
    const std::size_t rank_x = opt_.channels_squeezed ? RX - 1 : RX, rank_y = opt_.channels_squeezed ? RY - 1 : RY;
    if (opt_.channel_dim < 0 || std::size_t(opt_.channel_dim) >= std::min(RX, RY))
      throw_error<value_error>(who_, ": channel_dim ", opt_.channel_dim, " is out of range for rank-", RX, "/", RY, " data");

    // Train set.
    const auto train_path = file("train", opt_.train_resolution);
    const io::Value train = detail::load_dataset_file(train_path, who_);
    const auto xr = detail::dataset_tensor(train, "x", rank_x, who_, axes_text(rank_x));
    const auto yr = detail::dataset_tensor(train, "y", rank_y, who_, axes_text(rank_y));
    if (xr.shape[0] != yr.shape[0])
      throw_error<io_error>(who_, ": '", train_path.string(), "' holds ", xr.shape[0], " x samples but ", yr.shape[0], " y samples");
    if (opt_.n_train > xr.shape[0])
      throw_error<value_error>(who_, ": n_train = ", opt_.n_train, " but '", train_path.string(), "' holds only ", xr.shape[0],
                               " samples");
    in_rates_ = detail::expand_rate(opt_.input_subsampling_rate, rank_x, true, who_, "input_subsampling_rate");
    // PTDataset's (buggy) test reads the INPUT rate list: when it is empty, outputs use rate 1.
    out_rates_ = in_rates_.empty() ? detail::expand_rate(index_t{1}, rank_y, true, who_, "output_subsampling_rate")
                                   : detail::expand_rate(opt_.output_subsampling_rate, rank_y, false, who_, "output_subsampling_rate");
    auto x = read_x(xr, opt_.n_train, train_path.string() + "['x']");
    auto y = detail::read_samples<T, RY, T>(yr, opt_.n_train, out_rates_, opt_.channel_dim, opt_.channels_squeezed,
                                            train_path.string() + "['y']");

    std::shared_ptr<UnitGaussianNormalizer<T, RX>> in_norm;
    std::shared_ptr<UnitGaussianNormalizer<T, RY>> out_norm;
    if (opt_.encode_input) {
      in_norm = std::make_shared<UnitGaussianNormalizer<T, RX>>(reduce_dims(RX));
      in_norm->fit(x);
    }
    if (opt_.encode_output) {
      out_norm = std::make_shared<UnitGaussianNormalizer<T, RY>>(reduce_dims(RY));
      out_norm->fit(y);
    }
    train_db_ = dataset_type(std::move(x), std::move(y));
    processor_ = processor_type(std::move(in_norm), std::move(out_norm));

    // Test sets: the first n_test samples (all of them if the file holds fewer).
    for (std::size_t i = 0; i < opt_.test_resolutions.size(); ++i) {
      const int res = opt_.test_resolutions[i];
      const auto path = file("test", res);
      const io::Value test = detail::load_dataset_file(path, who_);
      const auto tx = detail::dataset_tensor(test, "x", rank_x, who_, axes_text(rank_x));
      const auto ty = detail::dataset_tensor(test, "y", rank_y, who_, axes_text(rank_y));
      if (tx.shape[0] != ty.shape[0])
        throw_error<io_error>(who_, ": '", path.string(), "' holds ", tx.shape[0], " x samples but ", ty.shape[0], " y samples");
      const index_t n = std::min(opt_.n_tests[i], tx.shape[0]);
      auto xt = read_x(tx, n, path.string() + "['x']");
      auto yt = detail::read_samples<T, RY, T>(ty, n, out_rates_, opt_.channel_dim, opt_.channels_squeezed, path.string() + "['y']");
      test_dbs_.insert_or_assign(res, dataset_type(std::move(xt), std::move(yt)));
    }
  }

  const dataset_type& train_db() const { return train_db_; }
  const std::map<int, dataset_type>& test_dbs() const { return test_dbs_; }
  const processor_type& data_processor() const { return processor_; }
  const PTDatasetOptions& options() const { return opt_; }
  // The expanded subsampling steps of the stored axes 1.. (what was actually applied).
  const std::vector<index_t>& input_subsampling_rates() const { return in_rates_; }
  const std::vector<index_t>& output_subsampling_rates() const { return out_rates_; }

  // Loaders as NeuralOperator's load_* functions build them: the train loader with batch_size
  // (shuffled only if asked), one unshuffled test loader per resolution with its batch size.
  LoadedData<dataset_type, processor_type> loaders(index_t batch_size, const std::vector<index_t>& test_batch_sizes,
                                                   bool shuffle_train = false, std::uint64_t seed = 0) const {
    return make_loaders(processor_, batch_size, test_batch_sizes, shuffle_train, seed);
  }
  template <class Processor>
  LoadedData<dataset_type, Processor> make_loaders(Processor processor, index_t batch_size, const std::vector<index_t>& test_batch_sizes,
                                                   bool shuffle_train, std::uint64_t seed) const {
    if (test_batch_sizes.size() != opt_.test_resolutions.size())
      throw_error<value_error>(who_, ": ", test_batch_sizes.size(), " test_batch_sizes for ", opt_.test_resolutions.size(),
                               " test_resolutions (one batch size per resolution)");
    LoadedData<dataset_type, Processor> out{
        DataLoader<dataset_type>(train_db_, {.batch_size = batch_size, .shuffle = shuffle_train, .drop_last = false, .seed = seed}),
        {},
        std::move(processor)};
    for (std::size_t i = 0; i < test_batch_sizes.size(); ++i) {
      const int res = opt_.test_resolutions[i];
      out.tests.insert_or_assign(res, DataLoader<dataset_type>(test_dbs_.at(res), {.batch_size = test_batch_sizes[i]}));
    }
    return out;
  }

 private:
  PTDatasetOptions opt_;
  std::string who_{};
  std::vector<index_t> in_rates_, out_rates_;
  dataset_type train_db_;
  std::map<int, dataset_type> test_dbs_;
  processor_type processor_;

  std::filesystem::path file(const char* split, int res) const {
    return std::filesystem::path(opt_.root_dir) / (opt_.dataset_name + "_" + split + "_" + std::to_string(res) + ".pt");
  }
  const char* axes_text(std::size_t) const {
    return opt_.channels_squeezed ? "samples then data axes; the channel axis is added" : "samples, channels, data axes";
  }
  Tensor<T, RX> read_x(const io::RawTensor& raw, index_t n, const std::string& where) const {
    if (opt_.x_via_float32)
      return detail::read_samples<T, RX, float>(raw, n, in_rates_, opt_.channel_dim, opt_.channels_squeezed, where);
    return detail::read_samples<T, RX, T>(raw, n, in_rates_, opt_.channel_dim, opt_.channels_squeezed, where);
  }
  // channel-wise: every axis but the channel axis; pixel-wise: the sample axis only.
  std::vector<int> reduce_dims(std::size_t rank) const {
    if (opt_.encoding == "pixel-wise") return {0};
    std::vector<int> d;
    for (int a = 0; a < int(rank); ++a)
      if (a != opt_.channel_dim) d.push_back(a);
    return d;
  }
};

}  // namespace neuralop::data
