// metagrad::train_epoch and metagrad::evaluate: the pieces a training loop is written from.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <type_traits>

#include "metagrad/core/network.hpp"
#include "metagrad/data/batches.hpp"
#include "metagrad/data/dataset.hpp"
#include "metagrad/init/random.hpp"
#include "metagrad/train/metrics.hpp"
#include "metagrad/train/non_finite.hpp"
#include "metagrad/train/position.hpp"
#include "metagrad/train/step.hpp"
#include "metagrad/train/workspace.hpp"

namespace metagrad {

/// Everything a training or evaluation step writes for batches of `Batch` samples: the step's
/// workspace and the batch itself. Sized at compile time; make it once, on the heap for a
/// large network (`std::make_unique<training_memory<Net, float, 64>>()`), and no step allocates.
template <class Net, class T, std::size_t Batch>
struct training_memory {
    using network_type = Net;
    static constexpr std::size_t batch_size = Batch;
    static constexpr std::size_t classes = Net::output_shape::last;
    using batch_type = batch<T, Batch, typename Net::input_shape, classes>;

    workspace<Net, T, typename batch_type::input_shape> step{};
    batch_type data{};
};

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
    return "epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) + " of " + std::to_string(batches) + " (step " +
           std::to_string(step) + " of the run)";
}
}  // namespace detail

/// One pass over `data` in shuffled batches of `Batch` (the last partial batch dropped, see
/// `last_batch`): for each, sets the optimizer's learning rate from `schedule(position.step)`,
/// takes a training step, and calls `on_batch(batches_done, batches_total, running_metrics)`.
/// Returns the training loss and accuracy measured on the way (with the parameters of the
/// moment, as every framework reports them).
///
/// `checks` (finite_checks, train/non_finite.hpp): by default a step whose loss is NaN or
/// infinite throws `non_finite_error` naming the epoch, the batch and the step, before that step
/// updates anything, so `p`, the optimizer and `position` are those of the step before (a
/// checkpoint saved from them resumes there). `checks.tensors` also names the first parameter
/// or gradient that is not finite, at a pass over them per step.
template <class Net, class T, std::size_t Batch, class S, class Loss, class Optimizer, class Schedule, class OnBatch>
metrics train_epoch(network_parameters<Net, T>& p, Optimizer& optimizer, const Schedule& schedule,
                    const dataset<T, S>& data, Loss loss, training_position& position,
                    training_memory<Net, T, Batch>& memory, OnBatch&& on_batch, finite_checks checks = {}) {
    static_assert(std::is_same_v<S, typename Net::input_shape>,
                  "metagrad::train_epoch: the data set's sample shape must be the network's input shape");
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
    metrics running;
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
        running.add(static_cast<double>(value),
                    count_correct(memory.step.trace.output(), memory.data.labels, memory.data.rows), memory.data.rows);
        on_batch(k + 1, plan.size(), running);
    }
    ++position.epoch;
    return running;
}

/// The loss and accuracy of `p` on every sample of `data` (batches of `Batch`, the last one
/// padded and its padding ignored). Allocates only the visiting order. A loss that is NaN or
/// infinite throws `non_finite_error` naming the batch and its samples (with `checks.loss`, the
/// default): a validation loss of NaN would otherwise reach early stopping (which cannot compare
/// it), the log and the plot. With `checks.loss` off the metrics carry it.
template <class Net, class T, std::size_t Batch, class S, class Loss>
metrics evaluate(const network_parameters<Net, T>& p, const dataset<T, S>& data, Loss,
                 training_memory<Net, T, Batch>& memory, finite_checks checks = {}) {
    const batch_plan<Batch> plan = ordered_batches<Batch>(data.size(), last_batch::pad);
    constexpr std::size_t classes = training_memory<Net, T, Batch>::classes;
    metrics total;
    for (std::size_t k = 0; k < plan.size(); ++k) {
        load_batch(data, plan[k], memory.data, memory.step.trace.input());
        Net::template forward_trace_into<inference_mode>(p, memory.step.trace.input(), memory.step.trace);
        const auto& scores = memory.step.trace.output();
        double loss_sum = 0;
        for (std::size_t r = 0; r < memory.data.rows; ++r) {
            tensor<T, shape<classes>> row, target;
            for (std::size_t c = 0; c < classes; ++c) row[c] = scores[r * classes + c], target[c] = memory.data.targets[r * classes + c];
            loss_sum += static_cast<double>(Loss::value(row, target));
        }
        const std::size_t rows = memory.data.rows;
        if (checks.loss && !std::isfinite(loss_sum)) {
            const std::size_t first = k * Batch, last = k * Batch + rows - 1;
            const std::string bad = checks.tensors ? first_non_finite(p) : std::string();
            throw non_finite_error("metagrad::evaluate: the loss of batch " + std::to_string(k + 1) + " of " + std::to_string(plan.size()) +
                                       " (samples " + std::to_string(first) + " to " + std::to_string(last) + ", counted from 0) is " +
                                       number_or_marker(loss_sum) +
                                       (bad.empty() ? std::string() : "; parameter '" + bad + "' is not finite"),
                                   0, k + 1, plan.size(), 0, bad);
        }
        total.add(loss_sum / static_cast<double>(rows), count_correct(scores, memory.data.labels, rows), rows);
    }
    return total;
}

}  // namespace metagrad
