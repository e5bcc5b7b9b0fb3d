// metagrad::train_epoch, metagrad::evaluate and confusion_matrix_of: the pieces a training loop is written from.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <type_traits>

#include "metagrad/core/network.hpp"
#include "metagrad/data/batches.hpp"
#include "metagrad/data/dataset.hpp"
#include "metagrad/init/random.hpp"
#include "metagrad/losses/loss.hpp"
#include "metagrad/train/confusion_matrix.hpp"
#include "metagrad/train/metrics.hpp"
#include "metagrad/train/non_finite.hpp"
#include "metagrad/train/position.hpp"
#include "metagrad/train/regression_metrics.hpp"
#include "metagrad/train/step.hpp"
#include "metagrad/train/workspace.hpp"

namespace metagrad {

/// Everything a training or evaluation step writes for batches of `Batch` samples: the step's
/// workspace and the batch itself. Sized at compile time; make it once, on the heap for a
/// large network (`std::make_unique<training_memory<Net, float, 64>>()`), and no step allocates.
/// `Target` is the data set's: `class_label` (the default: labels, one-hot targets) or, for
/// regression, the network's output shape (`training_memory<Net, float, 32, shape<1>>`).
template <class Net, class T, std::size_t Batch, class Target = class_label>
struct training_memory {
    using network_type = Net;
    using target_type = Target;
    static constexpr std::size_t batch_size = Batch;
    static constexpr std::size_t classes = Net::output_shape::last;
    static constexpr bool labelled = std::is_same_v<Target, class_label>;
    // A regression target is compared with the network's output by the loss: their shapes agree.
    static_assert(labelled || loss_shapes_agree<prediction<typename Net::output_shape>, target<Target>>,
                  "metagrad::training_memory: a tensor target must have the network's output shape");
    using batch_type = std::conditional_t<labelled, batch<T, Batch, typename Net::input_shape, classes>,
                                          target_batch<T, Batch, typename Net::input_shape, Target>>;

    workspace<Net, T, typename batch_type::input_shape> step{};
    batch_type data{};
};

/// What `train_epoch` and `evaluate` report for a data set with targets `Target`: loss and
/// accuracy for class labels, loss, MSE, MAE, RMSE and R² for tensor targets.
template <class Target>
using metrics_for = std::conditional_t<std::is_same_v<Target, class_label>, metrics, regression_metrics>;

/// Sets an optimizer's learning rate: `options.learning_rate` (Adam, momentum) or
/// `learning_rate` (plain SGD).
template <class Optimizer, class T>
constexpr void set_learning_rate(Optimizer& optimizer, T rate) {
    if constexpr (requires { optimizer.options.learning_rate = rate; })
        optimizer.options.learning_rate = rate;
    else
        optimizer.learning_rate = rate;
}

namespace detail {
/// "epoch 3, batch 117 of 843 (step 1803 of the run)": where a training step is, in words.
inline std::string step_place(std::size_t epoch, std::size_t batch, std::size_t batches, std::size_t step) {
    // One snprintf, not a chain of std::to_string and +, which g++ expanded into 2 KB of code.
    char text[160];  // four numbers of at most 20 digits and the words
    const int length = std::snprintf(text, sizeof text, "epoch %zu, batch %zu of %zu (step %zu of the run)", epoch, batch, batches, step);
    return std::string(text, static_cast<std::size_t>(length));
}

/// Adds a batch's loss and its accuracy (labels) or errors (tensor targets) to `m`.
template <class Scores, class T, std::size_t Batch, class S, std::size_t Classes>
void add_batch(metrics& m, double mean_loss, const Scores& scores, const batch<T, Batch, S, Classes>& data) {
    m.add(mean_loss, count_correct(scores, data.labels, data.rows), data.rows);
}
template <class Output, class T, std::size_t Batch, class S, class Target>
void add_batch(regression_metrics& m, double mean_loss, const Output& output, const target_batch<T, Batch, S, Target>& data) {
    m.add(mean_loss, std::span<const T>(output.data.data(), output.data.size()), std::span<const T>(data.targets.data.data(), data.targets.data.size()),
          data.rows, Target::size);
}
}  // namespace detail

/// One pass over `data` in shuffled batches of `Batch` (the last partial batch dropped, see
/// `last_batch`): for each, sets the optimizer's learning rate from `schedule(position.step)`,
/// takes a training step, and calls `on_batch(batches_done, batches_total, running_metrics)`.
/// Returns the training loss and accuracy (class labels) or the loss, MSE, MAE, RMSE and R²
/// (tensor targets: regression) measured on the way (with the parameters of the moment, as every
/// framework reports them). The data set's targets decide, and `memory` must be made for them.
///
/// `checks` (finite_checks, train/non_finite.hpp): by default a step whose loss is NaN or
/// infinite throws `non_finite_error` naming the epoch, the batch and the step, before that step
/// updates anything, so `p`, the optimizer and `position` are those of the step before (a
/// checkpoint saved from them resumes there). `checks.tensors` also names the first parameter
/// or gradient that is not finite, at a pass over them per step.
template <class Net, class T, std::size_t Batch, class S, class Target, class Stored, class MemoryTarget, class Loss, class Optimizer,
          class Schedule, class OnBatch>
metrics_for<Target> train_epoch(network_parameters<Net, T>& p, Optimizer& optimizer, const Schedule& schedule,
                                const dataset<T, S, Target, Stored>& data, Loss loss, training_position& position,
                                training_memory<Net, T, Batch, MemoryTarget>& memory, OnBatch&& on_batch, finite_checks checks = {}) {
    static_assert(std::is_same_v<S, typename Net::input_shape>,
                  "metagrad::train_epoch: the data set's sample shape must be the network's input shape");
    static_assert(std::is_same_v<Target, MemoryTarget>,
                  "metagrad::train_epoch: the training memory must be made for the data set's targets (training_memory<Net, T, Batch, Target>)");
    if constexpr (std::is_same_v<Target, MemoryTarget>) {
        const batch_plan<Batch> plan = shuffled_batches<Batch>(data.size(), position.shuffle, last_batch::drop);
        const std::size_t epoch = position.epoch + 1;
        const auto fail = [&](std::size_t batch, const std::string& what, const std::string& tensor, const std::string& advice) {
            throw non_finite_error("metagrad::train_epoch: " + what + " at " + detail::step_place(epoch, batch, plan.size(), position.step + 1) +
                                       "; " + advice,
                                   epoch, batch, plan.size(), position.step + 1, tensor);
        };
        constexpr const char* unchanged = "the parameters, the optimizer and the training position are as before that step";
        if (checks.tensors)
            if (const std::string bad = first_non_finite(p); !bad.empty())
                fail(1, "parameter '" + bad + "' is not finite before the step", bad, "they came in that way (from a checkpoint, or set by hand)");
        metrics_for<Target> running;
        for (std::size_t k = 0; k < plan.size(); ++k) {
            // Straight into the step's own input tensor: the step copies nothing.
            load_batch(data, plan[k], memory.data, memory.step.trace.input());
            set_learning_rate(optimizer, static_cast<T>(schedule(position.step)));
            // The step's random numbers (dropout) from the run's seed and the step's number alone.
            memory.step.key = {position.seed, position.step};
            // One comparison per step: the hot path is unchanged. Both hooks run before the update.
            const auto check_loss = [&](T value) {
                if (checks.loss && !std::isfinite(value))
                    fail(k + 1, "the loss is " + number_or_marker(static_cast<double>(value)), "",
                         std::string(unchanged) + ". Look for NaN or infinity in the data, or lower the learning rate; "
                                                  "finite_checks{.tensors = true} names the first parameter or gradient that is not finite");
            };
            const auto check_gradients = [&](const network_parameters<Net, T>& gradient) {
                if (checks.tensors)
                    if (const std::string bad = first_non_finite(gradient); !bad.empty())
                        fail(k + 1, "the gradient of '" + bad + "' is not finite", bad, unchanged);
            };
            const T value = detail::guarded_train_step(p, memory.step.trace.input(), memory.data.targets, loss, optimizer, memory.step,
                                                       check_loss, check_gradients);
            if (checks.tensors)
                if (const std::string bad = first_non_finite(p); !bad.empty())
                    fail(k + 1, "parameter '" + bad + "' is not finite after the update", bad,
                         step_keeps_gradients<Optimizer, T> ? "the step's loss and gradients were finite: the update overflowed (lower the learning rate)"
                                                            : "the step's loss was finite (plain sgd keeps no gradients to check): lower the learning rate");
            ++position.step;
            detail::add_batch(running, static_cast<double>(value), memory.step.trace.output(), memory.data);
            on_batch(k + 1, plan.size(), running);
        }
        ++position.epoch;
        return running;
    } else {
        return {};  // reported by the static_assert above
    }
}

namespace detail {
/// Runs `p` in inference mode over every sample of `data` (batches of `Batch`, the last one
/// padded), calling `visit(k, batches, scores)` after each batch, whose rows are in `memory.data`.
template <class Net, class T, std::size_t Batch, class S, class Target, class Stored, class Visit>
void for_each_inference_batch(const network_parameters<Net, T>& p, const dataset<T, S, Target, Stored>& data,
                              training_memory<Net, T, Batch, Target>& memory, Visit visit) {
    static_assert(std::is_same_v<S, typename Net::input_shape>,
                  "metagrad::evaluate: the data set's sample shape must be the network's input shape");
    const batch_plan<Batch> plan = ordered_batches<Batch>(data.size(), last_batch::pad);
    for (std::size_t k = 0; k < plan.size(); ++k) {
        load_batch(data, plan[k], memory.data, memory.step.trace.input());
        Net::template forward_trace_into<inference_mode>(p, memory.step.trace.input(), memory.step.trace);
        visit(k, plan.size(), memory.step.trace.output());
    }
}
}  // namespace detail

/// The loss and accuracy (labels) or the loss, MSE, MAE, RMSE and R² (tensor targets) of `p` on
/// every sample of `data` (batches of `Batch`, the last one padded and its padding ignored).
/// Allocates only the visiting order (and the regression metrics' per-output sums). A loss that
/// is NaN or infinite throws `non_finite_error` naming the batch and its samples (with
/// `checks.loss`, the default): a validation loss of NaN would otherwise reach early stopping
/// (which cannot compare it), the log and the plot. With `checks.loss` off the metrics carry it.
template <class Net, class T, std::size_t Batch, class S, class Target, class Stored, class MemoryTarget, class Loss>
metrics_for<Target> evaluate(const network_parameters<Net, T>& p, const dataset<T, S, Target, Stored>& data, Loss,
                             training_memory<Net, T, Batch, MemoryTarget>& memory, finite_checks checks = {}) {
    static_assert(std::is_same_v<Target, MemoryTarget>,
                  "metagrad::evaluate: the training memory must be made for the data set's targets (training_memory<Net, T, Batch, Target>)");
    if constexpr (std::is_same_v<Target, MemoryTarget>) {
        // One sample's prediction and target: a row of class scores against its one-hot row, or the
        // network's output against the target tensor.
        using sample_shape = std::conditional_t<std::is_same_v<Target, class_label>, shape<training_memory<Net, T, Batch, Target>::classes>, Target>;
        constexpr std::size_t width = sample_shape::size;
        metrics_for<Target> total;
        detail::for_each_inference_batch(p, data, memory, [&](std::size_t k, std::size_t batches, const auto& scores) {
            double loss_sum = 0;
            for (std::size_t r = 0; r < memory.data.rows; ++r) {
                tensor<T, sample_shape> row, target;
                for (std::size_t c = 0; c < width; ++c) row[c] = scores[r * width + c], target[c] = memory.data.targets[r * width + c];
                loss_sum += static_cast<double>(Loss::value(row, target));
            }
            const std::size_t rows = memory.data.rows;
            if (checks.loss && !std::isfinite(loss_sum)) {
                const std::size_t first = k * Batch, last = k * Batch + rows - 1;
                const std::string bad = checks.tensors ? first_non_finite(p) : std::string();
                throw non_finite_error("metagrad::evaluate: the loss of batch " + std::to_string(k + 1) + " of " + std::to_string(batches) +
                                           " (samples " + std::to_string(first) + " to " + std::to_string(last) + ", counted from 0) is " +
                                           number_or_marker(loss_sum) +
                                           (bad.empty() ? std::string() : "; parameter '" + bad + "' is not finite"),
                                       0, k + 1, batches, 0, bad);
            }
            detail::add_batch(total, loss_sum / static_cast<double>(rows), scores, memory.data);
        });
        return total;
    } else {
        return {};  // reported by the static_assert above
    }
}

/// The confusion matrix of `p` on every sample of labelled `data` (in inference mode, batches of
/// `Batch`): each sample counted under its label and the class of its largest score. Print it
/// with `table()`; it holds per-class precision, recall and F1 and their macro averages.
template <class Net, class T, std::size_t Batch, class S, class Stored>
confusion_matrix confusion_matrix_of(const network_parameters<Net, T>& p, const dataset<T, S, class_label, Stored>& data, training_memory<Net, T, Batch>& memory) {
    confusion_matrix result(training_memory<Net, T, Batch>::classes);
    detail::for_each_inference_batch(p, data, memory, [&](std::size_t, std::size_t, const auto& scores) {
        for (std::size_t r = 0; r < memory.data.rows; ++r) result.add(memory.data.labels[r], predicted_class(scores, r));
    });
    return result;
}

}  // namespace metagrad
