// The distributed tests' main: MPI initialised around doctest; every rank runs every test case
// (they are collective) and the job fails if any rank failed. `--fail-on-rank R` instead throws
// on rank R inside run_or_abort while the others wait in a barrier (run_failing_rank.sh).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "neuralop/backend/cpu.hpp"
#include "neuralop/core/error.hpp"
#include "neuralop/distributed/distributed.hpp"

namespace nd = neuralop::distributed;

int main(int argc, char** argv) {
  nd::Environment env(&argc, &argv);
  nd::Communicator comm;
  if (argc == 3 && std::string(argv[1]) == "--fail-on-rank") {
    const int bad = std::atoi(argv[2]);
    return nd::run_or_abort([&] {
      if (comm.rank() == bad) neuralop::throw_error<neuralop::value_error>("rank ", bad, " failed on purpose");
      comm.barrier();  // the other ranks would wait here forever
      return 0;
    });
  }
  neuralop::cpu::set_num_threads(1);
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  return comm.allreduce(rc, nd::ReduceOp::max);
}
