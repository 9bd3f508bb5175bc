// run_or_abort: an exception on one rank ends the whole MPI job (with the error printed and the
// rank named) instead of leaving the other ranks waiting in a collective forever.
#pragma once

#include "neuralop/distributed/mpi.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <type_traits>
#include <utility>

namespace neuralop::distributed {

namespace detail {
[[noreturn]] inline void abort_job(const char* what, MPI_Comm comm) {
  int initialized = 0, finalized = 0, rank = -1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  const bool live = initialized && !finalized;
  if (live) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "[rank %d] error: %s\n", rank, what);
  std::fflush(stderr);
  if (live) MPI_Abort(comm, 1);
  std::_Exit(1);
}
}  // namespace detail

// fn() (returning void or an int exit status); if it throws, prints "[rank R] error: ..." to
// stderr and calls MPI_Abort(comm, 1), which ends every process of the job with non-zero status.
template <class F>
int run_or_abort(F&& fn, MPI_Comm comm = MPI_COMM_WORLD) {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      fn();
      return 0;
    } else {
      return static_cast<int>(fn());
    }
  } catch (const std::exception& e) {
    detail::abort_job(e.what(), comm);
  } catch (...) {
    detail::abort_job("unknown exception", comm);
  }
}

}  // namespace neuralop::distributed
