// Data losses of neural operators (NeuralOperator's neuralop.losses): LpLoss, H1Loss and the
// finite differences they use.
#pragma once

#include "neuralop/losses/finite_diff.hpp"
#include "neuralop/losses/h1_loss.hpp"
#include "neuralop/losses/lp_loss.hpp"
