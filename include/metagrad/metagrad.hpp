// metagrad: layers as types. This umbrella header includes every area, in dependency order.
#pragma once

// math: constant-evaluable elementary functions
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"
#include "metagrad/math/sqrt.hpp"
#include "metagrad/math/tanh.hpp"

// core: shapes, tensors, lazy expressions, the layer concept, the network type
#include "metagrad/core/shape.hpp"
#include "metagrad/core/expression.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/core/elementwise.hpp"
#include "metagrad/core/transpose.hpp"
#include "metagrad/core/matmul.hpp"
#include "metagrad/core/reshape.hpp"
#include "metagrad/core/broadcast.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/layer.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/core/network.hpp"

// layers: one per header
#include "metagrad/layers/activation.hpp"
#include "metagrad/layers/dense.hpp"
#include "metagrad/layers/identity.hpp"
#include "metagrad/layers/leaky_relu.hpp"
#include "metagrad/layers/relu.hpp"
#include "metagrad/layers/sigmoid.hpp"
#include "metagrad/layers/softmax.hpp"
#include "metagrad/layers/tanh.hpp"

// losses and optimizers
#include "metagrad/losses/loss.hpp"
#include "metagrad/losses/softmax_cross_entropy.hpp"
#include "metagrad/losses/squared_error.hpp"
#include "metagrad/optim/adam.hpp"
#include "metagrad/optim/momentum.hpp"
#include "metagrad/optim/schedule.hpp"
#include "metagrad/optim/sgd.hpp"

// initialization, data and files
#include "metagrad/init/random.hpp"
#include "metagrad/init/initializers.hpp"
#include "metagrad/data/dataset.hpp"
#include "metagrad/data/batches.hpp"
#include "metagrad/data/normalize.hpp"
#include "metagrad/io/error.hpp"
#include "metagrad/io/csv.hpp"
#include "metagrad/io/idx.hpp"
#include "metagrad/io/safetensors.hpp"
#include "metagrad/io/checkpoint.hpp"

// training and checking
#include "metagrad/train/workspace.hpp"
#include "metagrad/train/step.hpp"
#include "metagrad/train/metrics.hpp"
#include "metagrad/train/position.hpp"
#include "metagrad/train/loop.hpp"
#include "metagrad/train/progress.hpp"
#include "metagrad/train/history.hpp"
#include "metagrad/train/plot.hpp"
#include "metagrad/check/gradcheck.hpp"
