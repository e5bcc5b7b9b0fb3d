// metagrad/constexpr.hpp: every area that works in constant evaluation (no files, no heap, no
// clock): what a compile-time network, its training step and its gradient check need. It parses
// in a fraction of the time of metagrad.hpp, which adds data sets, files and the training loop.
#pragma once

// math: constant-evaluable elementary functions
#include "metagrad/math/erf.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"
#include "metagrad/math/sqrt.hpp"
#include "metagrad/math/tanh.hpp"

// core: shapes, tensors, lazy expressions, the layer concept, the network type
#include "metagrad/core/shape.hpp"
#include "metagrad/core/expression.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/assign.hpp"  // how core/ tensors are written from expressions
#include "metagrad/core/elementwise.hpp"
#include "metagrad/core/transpose.hpp"
#include "metagrad/core/matmul.hpp"
#include "metagrad/core/reshape.hpp"
#include "metagrad/core/broadcast.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/context.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/layer.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/network_checks.hpp"
#include "metagrad/core/activations.hpp"
#include "metagrad/core/chain.hpp"
#include "metagrad/core/network.hpp"
#include "metagrad/core/summary.hpp"

// layers: one per header
#include "metagrad/layers/activation.hpp"
#include "metagrad/layers/batch_norm.hpp"
#include "metagrad/layers/causal_conv1d.hpp"
#include "metagrad/layers/convolution.hpp"
#include "metagrad/layers/dense.hpp"
#include "metagrad/layers/dropout.hpp"
#include "metagrad/layers/elu.hpp"
#include "metagrad/layers/flatten.hpp"
#include "metagrad/layers/gru.hpp"
#include "metagrad/layers/gelu.hpp"
#include "metagrad/layers/identity.hpp"
#include "metagrad/layers/layer_norm.hpp"
#include "metagrad/layers/leaky_relu.hpp"
#include "metagrad/layers/log_softmax.hpp"
#include "metagrad/layers/lstm.hpp"
#include "metagrad/layers/parallel.hpp"
#include "metagrad/layers/per_step.hpp"
#include "metagrad/layers/pooling.hpp"
#include "metagrad/layers/random_flip.hpp"
#include "metagrad/layers/random_shift.hpp"
#include "metagrad/layers/recurrent.hpp"
#include "metagrad/layers/relu.hpp"
#include "metagrad/layers/residual.hpp"
#include "metagrad/layers/sigmoid.hpp"
#include "metagrad/layers/silu.hpp"
#include "metagrad/layers/softmax.hpp"
#include "metagrad/layers/softplus.hpp"
#include "metagrad/layers/tanh.hpp"

// the inference form: dropout left out, batch norm folded into the layer before it
#include "metagrad/infer/inference_form.hpp"

// losses, optimizers, learning-rate schedules, initialization
#include "metagrad/losses/loss.hpp"
#include "metagrad/losses/binary_cross_entropy.hpp"
#include "metagrad/losses/huber.hpp"
#include "metagrad/losses/nll.hpp"
#include "metagrad/losses/softmax_cross_entropy.hpp"
#include "metagrad/losses/squared_error.hpp"
#include "metagrad/optim/adam.hpp"
#include "metagrad/optim/clip_by_global_norm.hpp"
#include "metagrad/optim/momentum.hpp"
#include "metagrad/optim/schedule.hpp"
#include "metagrad/optim/sgd.hpp"
#include "metagrad/init/random.hpp"
#include "metagrad/init/initializers.hpp"

// one training step, and checking gradients
#include "metagrad/train/workspace.hpp"
#include "metagrad/train/step.hpp"
#include "metagrad/check/gradcheck.hpp"
