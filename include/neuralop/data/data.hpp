// neuralop::data: datasets, loaders, normalizers and data processors (NeuralOperator's
// neuralop.data), all in one include.
#pragma once

#include "neuralop/data/tensor_dataset.hpp"
#include "neuralop/data/dict_dataset.hpp"
#include "neuralop/data/data_loader.hpp"
#include "neuralop/data/unit_gaussian_normalizer.hpp"
#include "neuralop/data/dict_unit_gaussian_normalizer.hpp"
#include "neuralop/data/data_processor.hpp"
#include "neuralop/data/pt_dataset.hpp"
#include "neuralop/data/darcy.hpp"
#include "neuralop/data/burgers.hpp"
#include "neuralop/data/navier_stokes.hpp"
#include "neuralop/data/nonlinear_poisson.hpp"
