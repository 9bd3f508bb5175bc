// Data-parallel training over MPI: Environment, Communicator, DistributedDataParallel (the
// Trainer's data_parallel hook), the loaders' shards, run_or_abort. Needs <mpi.h> and MPI at
// link time, so neuralop.hpp does not include it: include this header and link MPI (Meson:
// dependency('mpi', language: 'cpp'); CMake: MPI::MPI_CXX). See docs/distributed.md.
#pragma once

#include "neuralop/distributed/communicator.hpp"
#include "neuralop/distributed/distributed_data_parallel.hpp"
#include "neuralop/distributed/environment.hpp"
#include "neuralop/distributed/gradient_transport.hpp"
#include "neuralop/distributed/run_or_abort.hpp"
#include "neuralop/distributed/shard.hpp"
