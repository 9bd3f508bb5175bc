// The built-in PDE data generators: Darcy flow, viscous Burgers, Navier-Stokes (vorticity), with
// their Gaussian random fields; reproducible from a seed, multi-threaded over samples.
#pragma once

#include "neuralop/data/generators/burgers_generator.hpp"
#include "neuralop/data/generators/darcy_generator.hpp"
#include "neuralop/data/generators/darcy_solver.hpp"
#include "neuralop/data/generators/grf.hpp"
#include "neuralop/data/generators/navier_stokes_generator.hpp"
#include "neuralop/data/generators/periodic_grf.hpp"
