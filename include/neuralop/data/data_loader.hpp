// DataLoader: batches of a dataset in order or in a seeded shuffle, torch.utils.data.DataLoader's
// batch_size / shuffle / drop_last. The shuffle of epoch e is a pure function of (seed, e), so a
// resumed run that sets the epoch sees the same batches as an uninterrupted one. With
// num_replicas > 1 it is also torch's DistributedSampler: each rank takes its shard of the order.
#pragma once

#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/core/rng.hpp"

namespace neuralop::data {

struct DataLoaderOptions {
  index_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;
  std::uint64_t seed = 0;  // the shuffle's seed (torch draws it from the global generator)
  // Distributed sampling (data-parallel training): every rank draws the same order (same seed
  // and epoch) and takes the samples order[rank], order[rank + num_replicas], ... With
  // even_shards every rank gets ceil(n / num_replicas) samples, the order padded by repeating
  // its start (torch's DistributedSampler, drop_last=False), so that all ranks run the same
  // number of batches (training); without, every sample is seen exactly once and shards differ
  // by at most one sample (evaluation). Rank r's k-th batch of batch_size b then holds the
  // samples of the single-process k-th batch of size b * num_replicas.
  index_t num_replicas = 1;
  index_t rank = 0;
  bool even_shards = true;

  // The number of samples of this rank's shard of a dataset of n samples.
  index_t shard_size(index_t n) const {
    if (num_replicas == 1) return n;
    if (even_shards) return (n + num_replicas - 1) / num_replicas;
    return n > rank ? (n - rank + num_replicas - 1) / num_replicas : 0;
  }
};

// A random permutation of 0..n-1 for (seed, stream): Fisher-Yates on Philox4x32 output (64 random
// bits per draw, so the modulo bias is below n / 2^64).
inline std::vector<index_t> seeded_permutation(index_t n, std::uint64_t seed, std::uint64_t stream) {
  std::vector<index_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), index_t{0});
  for (index_t i = n - 1; i > 0; --i) {
    // Counter: the stream in the high 32 bits, the draw in the low 32 (n < 2^32 samples).
    const auto w = neuralop::detail::Philox4x32::run(seed, (stream << 32) | static_cast<std::uint64_t>(i));
    const std::uint64_t r = (std::uint64_t(w[0]) << 32) | w[1];
    const auto j = static_cast<index_t>((static_cast<unsigned __int128>(r) * static_cast<std::uint64_t>(i + 1)) >> 64);
    std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(j)]);
  }
  return p;
}

// Dataset: size() and get(std::span<const index_t>) -> batch_type (TensorDataset and the
// datasets of data/ are such). The loader keeps its own copy of the dataset (cheap: tensors share
// storage).
template <class Dataset>
class DataLoader {
 public:
  using dataset_type = Dataset;
  using batch_type = typename Dataset::batch_type;

  DataLoader(Dataset dataset, DataLoaderOptions options) : ds_(std::move(dataset)), opt_(options) {
    if (opt_.batch_size <= 0)
      throw_error<value_error>("DataLoader: batch_size must be positive, got ", opt_.batch_size);
    if (ds_.size() <= 0) throw_error<value_error>("DataLoader: the dataset is empty");
    if (opt_.num_replicas < 1)
      throw_error<value_error>("DataLoader: num_replicas must be >= 1, got ", opt_.num_replicas);
    if (opt_.rank < 0 || opt_.rank >= opt_.num_replicas)
      throw_error<value_error>("DataLoader: rank ", opt_.rank, " is out of range for num_replicas ", opt_.num_replicas);
    if (opt_.drop_last && shard_samples() < opt_.batch_size)
      throw_error<value_error>("DataLoader: drop_last with batch_size ", opt_.batch_size, " > ", shard_samples(),
                               " samples leaves no batch");
  }

  const Dataset& dataset() const { return ds_; }
  const DataLoaderOptions& options() const { return opt_; }
  index_t batch_size() const { return opt_.batch_size; }
  // Number of batches per epoch (len(loader)).
  index_t size() const {
    const index_t n = shard_samples(), b = opt_.batch_size;
    return opt_.drop_last ? n / b : (n + b - 1) / b;
  }
  // Samples seen per epoch by this rank (all of its shard, or those in full batches with drop_last).
  index_t n_samples() const { return opt_.drop_last ? size() * opt_.batch_size : shard_samples(); }
  // This rank's shard size (the dataset's size without distributed sampling).
  index_t shard_samples() const { return opt_.shard_size(ds_.size()); }

  // The epoch whose order the next iteration uses; each begin() advances it, as each pass over a
  // shuffled torch DataLoader draws a new order. The Trainer sets it explicitly.
  void set_epoch(std::int64_t e) { epoch_ = e; }
  std::int64_t epoch() const { return epoch_; }

  // Sample order of epoch e (this rank's shard of it).
  std::vector<index_t> order(std::int64_t e) const {
    std::vector<index_t> p;
    if (!opt_.shuffle) {
      p.resize(static_cast<std::size_t>(ds_.size()));
      std::iota(p.begin(), p.end(), index_t{0});
    } else {
      p = seeded_permutation(ds_.size(), opt_.seed, static_cast<std::uint64_t>(e));
    }
    if (opt_.num_replicas == 1) return p;
    const index_t n = ds_.size(), w = opt_.num_replicas, m = shard_samples();
    std::vector<index_t> shard(static_cast<std::size_t>(m));
    for (index_t i = 0; i < m; ++i) shard[static_cast<std::size_t>(i)] = p[static_cast<std::size_t>((opt_.rank + i * w) % n)];
    return shard;
  }
  // Batch k of an order.
  batch_type batch(const std::vector<index_t>& order, index_t k) const {
    if (k < 0 || k >= size()) throw_error<value_error>("DataLoader: batch ", k, " out of range for ", size(), " batches");
    const index_t first = k * opt_.batch_size;
    const index_t last = std::min<index_t>(first + opt_.batch_size, static_cast<index_t>(order.size()));
    return ds_.get(std::span<const index_t>(order.data() + first, static_cast<std::size_t>(last - first)));
  }

  class iterator {
   public:
    using value_type = batch_type;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const DataLoader* l, std::shared_ptr<const std::vector<index_t>> order, index_t k)
        : l_(l), order_(std::move(order)), k_(k) {}
    batch_type operator*() const { return l_->batch(*order_, k_); }
    iterator& operator++() {
      ++k_;
      return *this;
    }
    void operator++(int) { ++k_; }
    bool operator==(const iterator& o) const { return k_ == o.k_; }

   private:
    const DataLoader* l_ = nullptr;
    std::shared_ptr<const std::vector<index_t>> order_;
    index_t k_ = 0;
  };
  // Iterating uses the current epoch's order, then advances the epoch.
  iterator begin() {
    auto o = std::make_shared<const std::vector<index_t>>(order(epoch_++));
    return iterator(this, std::move(o), 0);
  }
  iterator end() const { return iterator(this, nullptr, size()); }

 private:
  Dataset ds_;
  DataLoaderOptions opt_;
  std::int64_t epoch_ = 0;
};

}  // namespace neuralop::data
