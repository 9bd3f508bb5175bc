// The CLI's data-parallel mode: `mpirun -np N neuralop train ...` (or srun) trains one model over
// N processes with MPI when the CLI is built with MPI (Meson option `mpi`). The launcher is
// detected from its environment; NEURALOP_MPI=1 forces the mode, NEURALOP_MPI=0 turns it off.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <neuralop/backend/cpu.hpp>
#include <neuralop/nn/module.hpp>
#include <neuralop/training/data_parallel.hpp>

#include "config.hpp"

#ifdef NEURALOP_CLI_MPI
#include <neuralop/distributed/distributed.hpp>
#endif

namespace neuralop::cli {

class Parallel {
 public:
  // Whether this process was started by an MPI launcher (Open MPI's mpirun, MPICH/Intel's
  // Hydra (PMI), PMIx, Slurm's srun), unless NEURALOP_MPI says otherwise.
  static bool requested() {
    if (const char* e = std::getenv("NEURALOP_MPI")) return std::string(e) != "0";
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_STEP_NUM_TASKS"})
      if (std::getenv(v)) return true;
    return false;
  }
  static constexpr bool built_with_mpi() {
#ifdef NEURALOP_CLI_MPI
    return true;
#else
    return false;
#endif
  }

  // Initialises MPI when requested and built with it; otherwise one process (a warning when a
  // launcher was detected but MPI is not built in: every process would train alone).
  void start(int* argc, char*** argv) {
    if (!requested()) return;
#ifdef NEURALOP_CLI_MPI
    env_ = std::make_unique<distributed::Environment>(argc, argv);
    comm_ = env_->world();
    rank_ = comm_.rank();
    size_ = comm_.size();
    // Processes on this node: each gets its share of the cores unless threads is set.
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_size_);
    MPI_Comm_free(&node);
#else
    (void)argc;
    (void)argv;
    if (std::getenv("NEURALOP_MPI") == nullptr)
      std::fprintf(stderr, "neuralop: started by an MPI launcher, but this neuralop is built without MPI (Meson option mpi); "
                           "every process trains alone\n");
#endif
  }

  bool enabled() const { return size_ > 1; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  void barrier() {
#ifdef NEURALOP_CLI_MPI
    if (env_) comm_.barrier();
#endif
  }

  // threads: the config's, or the cores of this node shared among its processes.
  int threads(int configured) const {
    if (configured > 0 || !env_ || std::getenv("NEURALOP_NUM_THREADS")) return configured;
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::max(1, hw / std::max(1, node_size_));
  }

  // The global batch over the ranks: this rank's shard of the training data (batch / ranks per
  // process) and of each test set (every sample once over the ranks).
  template <class Data>
  void shard(Data& data, index_t global_batch, bool training) {
    if (!enabled()) return;
#ifdef NEURALOP_CLI_MPI
    if (training && global_batch % size_ != 0)
      throw_error<config_error>("config: data.batch_size = ", global_batch, " (the global batch) does not divide evenly over ", size_,
                                " processes; use a multiple of ", size_);
    using Loader = std::remove_cvref_t<decltype(data.train)>;
    if (training) data.train = Loader(data.train.dataset(), distributed::training_shard(global_batch, comm_, data.train.options()));
    for (auto& [name, loader] : data.tests) {
      using TL = std::remove_cvref_t<decltype(loader)>;
      loader = TL(loader.dataset(), distributed::evaluation_shard(comm_, loader.options()));
    }
#else
    (void)data;
    (void)global_batch;
    (void)training;
#endif
  }

  // The Trainer's hook for `model` (parameters broadcast from rank 0), or null.
  training::DataParallel* attach(const nn::Module& model) {
    if (!enabled()) return nullptr;
#ifdef NEURALOP_CLI_MPI
    ddp_ = std::make_unique<distributed::DistributedDataParallel>(model, comm_);
    return ddp_.get();
#else
    (void)model;
    return nullptr;
#endif
  }

  // "gradient sync: X ms per step (Y% of the training time)", or "" without data parallelism.
  std::string sync_report(double train_seconds) const {
#ifdef NEURALOP_CLI_MPI
    if (ddp_ && ddp_->sync_steps() > 0) {
      char buf[200];
      const double steps = static_cast<double>(ddp_->sync_steps());
      std::snprintf(buf, sizeof(buf),
                    "gradient sync: %.3f ms per step (%.1f%% of the training time, rank 0), of which %.3f ms waiting for "
                    "the slowest rank\n",
                    1e3 * ddp_->sync_seconds() / steps, 100.0 * ddp_->sync_seconds() / std::max(1e-9, train_seconds),
                    1e3 * ddp_->wait_seconds() / steps);
      return buf;
    }
#endif
    (void)train_seconds;
    return "";
  }

  // fn(); with MPI, an exception on one rank prints "[rank R] error: ..." and ends the whole job
  // (MPI_Abort) instead of leaving the other ranks waiting.
  int run(const std::function<int()>& fn) {
#ifdef NEURALOP_CLI_MPI
    if (env_) return distributed::run_or_abort(fn);
#endif
    return fn();
  }

 private:
#ifdef NEURALOP_CLI_MPI
  std::unique_ptr<distributed::Environment> env_;
  distributed::Communicator comm_;
  std::unique_ptr<distributed::DistributedDataParallel> ddp_;
#else
  std::unique_ptr<int> env_;
#endif
  int rank_ = 0, size_ = 1, node_size_ = 1;
};

}  // namespace neuralop::cli
