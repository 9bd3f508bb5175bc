// The loader options of one rank's shard of the data: training (the global batch split evenly,
// equal shard sizes) and evaluation (every sample once).
#pragma once

#include "neuralop/data/data_loader.hpp"
#include "neuralop/distributed/communicator.hpp"

namespace neuralop::distributed {

// `base` with batch_size = global_batch / ranks and this rank's shard (padded to equal sizes,
// so that every rank runs the same number of steps). Rank r's k-th batch then holds the samples
// of the single-process k-th batch of size global_batch. Throws a value_error when global_batch
// does not divide evenly over the ranks.
inline data::DataLoaderOptions training_shard(index_t global_batch, const Communicator& comm = {},
                                              data::DataLoaderOptions base = {}) {
  const int n = comm.size();
  if (global_batch <= 0) throw_error<value_error>("training_shard: the global batch size must be positive, got ", global_batch);
  if (global_batch % n != 0)
    throw_error<value_error>("training_shard: the global batch size ", global_batch, " does not divide evenly over ", n,
                             " ranks; choose a multiple of ", n);
  base.batch_size = global_batch / n;
  base.num_replicas = n;
  base.rank = comm.rank();
  base.even_shards = true;
  return base;
}

// `base` (its batch_size is per rank) with this rank's shard: every sample exactly once over the
// ranks, shards differing by at most one sample. The Trainer sums evaluation losses and sample
// counts over the ranks, so the metrics are those of the whole set.
inline data::DataLoaderOptions evaluation_shard(const Communicator& comm = {}, data::DataLoaderOptions base = {}) {
  base.num_replicas = comm.size();
  base.rank = comm.rank();
  base.even_shards = false;
  return base;
}

}  // namespace neuralop::distributed
