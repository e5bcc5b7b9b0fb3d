// metagrad: layers as types. This umbrella header includes every area, in dependency order.
#pragma once

// The checks of a layer list first (they bring their own dependencies), then the network type:
// a header included from here is named in one "included from" line, not two.
#include "metagrad/core/network_checks.hpp"
#include "metagrad/core/network.hpp"

// Everything that works in constant evaluation: math, core, layers, losses, optimizers,
// initialization, the training step, the gradient checker.
#include "metagrad/constexpr.hpp"

// threads for the run-time kernels (set_thread_count)
#include "metagrad/eval/thread_pool.hpp"

// inference with parameters packed for the run-time kernels
#include "metagrad/infer/predictor.hpp"
#include "metagrad/infer/stream.hpp"

// data sets and batches
#include "metagrad/data/dataset.hpp"
#include "metagrad/data/batches.hpp"
#include "metagrad/data/normalize.hpp"

// files: data readers, safetensors, checkpoints, ONNX export
#include "metagrad/io/error.hpp"
#include "metagrad/io/read_limit.hpp"
#include "metagrad/io/csv.hpp"
#include "metagrad/io/idx.hpp"
#include "metagrad/io/safetensors.hpp"
#include "metagrad/io/checkpoint.hpp"
#include "metagrad/io/onnx_graph.hpp"
#include "metagrad/io/onnx_export.hpp"

// text from types: summaries
#include "metagrad/report/summary_table.hpp"
#include "metagrad/report/derivation.hpp"

// the training loop
#include "metagrad/train/metrics.hpp"
#include "metagrad/train/regression_metrics.hpp"
#include "metagrad/train/confusion_matrix.hpp"
#include "metagrad/train/position.hpp"
#include "metagrad/train/non_finite.hpp"
#include "metagrad/train/loop.hpp"
#include "metagrad/train/progress.hpp"
#include "metagrad/train/history.hpp"
#include "metagrad/train/plot.hpp"
