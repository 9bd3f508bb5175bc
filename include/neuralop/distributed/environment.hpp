// Environment: MPI initialised for the lifetime of an object, unless the program (a solver code)
// already did it; then it is used as it is and left for its owner to finalise.
#pragma once

#include "neuralop/distributed/mpi.hpp"

#include "neuralop/distributed/communicator.hpp"

namespace neuralop::distributed {

class Environment {
 public:
  // MPI_Init_thread(MPI_THREAD_FUNNELED) unless MPI is initialised already: only the thread that
  // made the Environment calls MPI (our CPU thread pool never does).
  Environment() : Environment(nullptr, nullptr) {}
  Environment(int* argc, char*** argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) throw_error<value_error>("distributed::Environment: MPI was finalized already; it cannot be initialised again");
    int provided = 0;
    detail::check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owns_ = true;
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  // Finalises MPI only if this object initialised it.
  ~Environment() {
    if (!owns_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  // Whether this object initialised MPI (and will finalise it).
  bool owns_mpi() const { return owns_; }
  Communicator world() const { return Communicator(MPI_COMM_WORLD); }

 private:
  bool owns_ = false;
};

}  // namespace neuralop::distributed
