// metagrad::train_epoch and metagrad::evaluate: the pieces a training loop is written from.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <type_traits>

#include "metagrad/core/network.hpp"
#include "metagrad/data/batches.hpp"
#include "metagrad/data/dataset.hpp"
#include "metagrad/init/random.hpp"
#include "metagrad/train/metrics.hpp"
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

/// One pass over `data` in shuffled batches of `Batch` (the last partial batch dropped, see
/// `last_batch`): for each, sets the optimizer's learning rate from `schedule(position.step)`,
/// takes a training step, and calls `on_batch(batches_done, batches_total, running_metrics)`.
/// Returns the training loss and accuracy measured on the way (with the parameters of the
/// moment, as every framework reports them).
template <class Net, class T, std::size_t Batch, class S, class Loss, class Optimizer, class Schedule, class OnBatch>
metrics train_epoch(network_parameters<Net, T>& p, Optimizer& optimizer, const Schedule& schedule,
                    const dataset<T, S>& data, Loss loss, training_position& position,
                    training_memory<Net, T, Batch>& memory, OnBatch&& on_batch) {
    static_assert(std::is_same_v<S, typename Net::input_shape>,
                  "metagrad::train_epoch: the data set's sample shape must be the network's input shape");
    const batch_plan<Batch> plan = shuffled_batches<Batch>(data.size(), position.shuffle, last_batch::drop);
    metrics running;
    for (std::size_t k = 0; k < plan.size(); ++k) {
        // Straight into the step's own input tensor: the step copies nothing.
        load_batch(data, plan[k], memory.data, memory.step.trace.input());
        set_learning_rate(optimizer, static_cast<T>(schedule(position.step)));
        const T value = train_step(p, memory.step.trace.input(), memory.data.targets, loss, optimizer, memory.step);
        ++position.step;
        running.add(static_cast<double>(value),
                    count_correct(memory.step.trace.output(), memory.data.labels, memory.data.rows), memory.data.rows);
        on_batch(k + 1, plan.size(), running);
    }
    ++position.epoch;
    return running;
}

/// The loss and accuracy of `p` on every sample of `data` (batches of `Batch`, the last one
/// padded and its padding ignored). Allocates only the visiting order.
template <class Net, class T, std::size_t Batch, class S, class Loss>
metrics evaluate(const network_parameters<Net, T>& p, const dataset<T, S>& data, Loss,
                 training_memory<Net, T, Batch>& memory) {
    const batch_plan<Batch> plan = ordered_batches<Batch>(data.size(), last_batch::pad);
    constexpr std::size_t classes = training_memory<Net, T, Batch>::classes;
    metrics total;
    for (std::size_t k = 0; k < plan.size(); ++k) {
        load_batch(data, plan[k], memory.data, memory.step.trace.input());
        Net::forward_trace_into(p, memory.step.trace.input(), memory.step.trace);
        const auto& scores = memory.step.trace.output();
        double loss_sum = 0;
        for (std::size_t r = 0; r < memory.data.rows; ++r) {
            tensor<T, shape<classes>> row, target;
            for (std::size_t c = 0; c < classes; ++c) row[c] = scores[r * classes + c], target[c] = memory.data.targets[r * classes + c];
            loss_sum += static_cast<double>(Loss::value(row, target));
        }
        const std::size_t rows = memory.data.rows;
        total.add(loss_sum / static_cast<double>(rows), count_correct(scores, memory.data.labels, rows), rows);
    }
    return total;
}

}  // namespace metagrad
