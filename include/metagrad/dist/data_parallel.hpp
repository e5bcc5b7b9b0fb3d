// metagrad::data_parallel_plan and train_epoch over a communicator: data-parallel training whose
// result does not depend on the number of ranks.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "metagrad/core/network.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/data/batches.hpp"
#include "metagrad/data/dataset.hpp"
#include "metagrad/dist/collectives.hpp"
#include "metagrad/dist/communicator.hpp"
#include "metagrad/dist/fingerprint.hpp"
#include "metagrad/init/random.hpp"
#include "metagrad/train/loop.hpp"
#include "metagrad/train/metrics.hpp"
#include "metagrad/train/non_finite.hpp"
#include "metagrad/train/position.hpp"
#include "metagrad/train/step.hpp"

namespace metagrad {

/// How every global step of data-parallel training is cut, and the training set shared, so that
/// the result is the same on any number of ranks:
///
/// - a global step takes `blocks` blocks of `Block` samples (a power of two of blocks); its
///   gradient is the mean of the blocks' gradients, summed over a fixed binary tree;
/// - the training set (`samples` in all) is cut into `blocks` equal, contiguous shards (the
///   `samples % blocks` at its end are left out), and block b of every step is drawn from shard b,
///   shuffled each epoch by a generator keyed by the run's position and b alone;
/// - rank r of P computes blocks [r B/P, (r + 1) B/P) and holds only their shards
///   (`samples_of`): P must be a power of two that divides `blocks`.
///
/// So a block's samples, its random numbers (dropout), its batch statistics (batch norm) and
/// its place in the sum are the same on 1, 2 or 4 ranks, and so are the weights, bit for bit.
/// Batch norm normalizes over each block (as PyTorch's DDP without SyncBatchNorm normalizes
/// over each rank's batch); its running statistics move once per step, by the mean of the
/// blocks' moves.
template <std::size_t Block>
struct data_parallel_plan {
    static_assert(Block > 0, "metagrad::data_parallel_plan: a block holds at least one sample");
    static constexpr std::size_t block_size = Block;

    /// Blocks per global step (a power of two; at least the number of ranks).
    std::size_t blocks = 1;
    /// Samples in the whole training set (every rank's shards together).
    std::size_t samples = 0;

    std::size_t global_batch() const { return blocks * Block; }
    std::size_t shard_size() const { return blocks ? samples / blocks : 0; }
    std::size_t steps_per_epoch() const { return shard_size() / Block; }
    std::size_t blocks_per_rank(std::size_t ranks) const { return blocks / ranks; }

    /// The samples [first, second) of the whole training set that rank `rank` of `ranks` holds:
    /// what it loads (`dataset::slice`), and all it reads.
    std::pair<std::size_t, std::size_t> samples_of(std::size_t rank, std::size_t ranks) const {
        check(ranks);
        const std::size_t per_rank = blocks_per_rank(ranks) * shard_size();
        return {rank * per_rank, (rank + 1) * per_rank};
    }

    /// Throws `distributed_error` when `ranks` ranks cannot run this plan.
    void check(std::size_t ranks) const {
        const auto fail = [&](const std::string& why) {
            throw distributed_error("metagrad::data_parallel_plan (" + words() + ") on " + std::to_string(ranks) + " rank" +
                                    (ranks == 1 ? "" : "s") + ": " + why);
        };
        if (blocks == 0 || !std::has_single_bit(blocks)) fail("the blocks per step must be a power of two (1, 2, 4, ...)");
        if (ranks == 0 || !std::has_single_bit(ranks)) fail("the number of ranks must be a power of two (1, 2, 4, ...)");
        if (ranks > blocks) fail("each rank needs at least one block per step: use at most " + std::to_string(blocks) + " ranks, or more blocks");
        if (steps_per_epoch() == 0) fail("a shard of " + std::to_string(shard_size()) + " samples holds no whole block");
    }

    /// "2 blocks of 64 samples per step, shards of 27500 samples": for messages and fingerprints.
    std::string words() const {
        return std::to_string(blocks) + " block" + (blocks == 1 ? "" : "s") + " of " + std::to_string(Block) + " samples per step, shards of " +
               std::to_string(shard_size()) + " samples";
    }
};

/// What data-parallel training writes besides the parameters: one block's training memory,
/// the step's summed gradient, and the buffers its sums travel in. Sized when first used (then
/// no step allocates); make it once, on the heap.
template <class Net, class T, std::size_t Block>
struct data_parallel_memory {
    training_memory<Net, T, Block> block{};
    /// The step's mean gradient (and, in its state, the mean of the blocks' new states).
    network_parameters<Net, T> gradient{};
    std::array<std::size_t, Block> indices{};
    /// Partial sums of this rank's blocks, one per level of the tree (dist/collectives.hpp).
    std::vector<std::vector<T>> partial{};
    std::vector<T> scratch{};
};

namespace detail {
template <class Net>
inline constexpr std::size_t state_scalars = total_scalars<typename Net::template state_tuple<float>>::value;

/// What one block contributes to a step's sum, as one flat vector: every parameter gradient,
/// every state tensor after the block, the block's mean loss and its count of right answers.
template <class Net>
inline constexpr std::size_t flat_size = Net::parameter_count + state_scalars<Net> + 2;

/// The parameter gradients of `values` into the front of `flat`.
template <class Net, class T>
void pack(std::span<T> flat, const network_parameters<Net, T>& values) {
    std::size_t at = 0;
    const auto put = [&](const auto& t) { at = static_cast<std::size_t>(std::copy(t.data.begin(), t.data.end(), flat.begin() + static_cast<std::ptrdiff_t>(at)) - flat.begin()); };
    for_each_tensor(put, values);
}

/// The parameters of `values` as one span, when they lie one after another in memory (they do
/// in practice: the tuple of parameter structs of tensors has no gaps), else an empty span.
template <class Net, class T>
std::span<T> contiguous_parameters(network_parameters<Net, T>& values) {
    T* first = nullptr;
    T* next = nullptr;
    bool contiguous = true;
    for_each_tensor(
        [&](auto& t) {
            if (!first) first = next = t.data.data();
            contiguous = contiguous && t.data.data() == next;
            next = t.data.data() + t.data.size();
        },
        values);
    return contiguous && first ? std::span<T>(first, Net::parameter_count) : std::span<T>();
}

/// The state tensors of `values` into `flat` (the tail of a block's contribution), or back, times `scale`.
template <class Net, class T>
void pack_state(std::span<T> flat, const network_parameters<Net, T>& values) {
    std::size_t at = 0;
    for_each_state_tensor([&](const auto& t) { at = static_cast<std::size_t>(std::copy(t.data.begin(), t.data.end(), flat.begin() + static_cast<std::ptrdiff_t>(at)) - flat.begin()); }, values);
}
template <class Net, class T>
void unpack_state(network_parameters<Net, T>& values, std::span<const T> flat, T scale) {
    std::size_t at = 0;
    for_each_state_tensor([&](auto& t) {
        for (auto& v : t.data) v = flat[at++] * scale;
    }, values);
}

/// The flat sum back into tensors, times `scale` (1 / blocks, a power of two: exact).
template <class Net, class T>
void unpack(network_parameters<Net, T>& values, std::span<const T> flat, T scale) {
    std::size_t at = 0;
    const auto take = [&](auto& t) {
        // Through plain pointers, so that the loop vectorizes.
        const T* from = flat.data() + at;
        T* to = t.data.data();
        const std::size_t n = t.data.size();
        for (std::size_t i = 0; i < n; ++i) to[i] = from[i] * scale;
        at += n;
    };
    for_each_tensor(take, values);
    for_each_state_tensor(take, values);
}
}  // namespace detail

/// One epoch of data-parallel training on `comm`'s ranks, each calling it with its own shards
/// (`shards`: samples `plan.samples_of(rank, ranks)` of the training set, class labels): every
/// step, each rank computes the gradients of its blocks (`train_step`'s forward, loss and
/// backward), sums them over its part of the tree, and `sum_all` sums the ranks' parts in one
/// exchange of one flat vector; then every rank takes the same optimizer step, so parameters,
/// optimizer and `position` stay identical everywhere without being sent. The learning rate
/// follows `schedule(position.step)`, counted in global steps.
///
/// Before the first step the ranks compare fingerprints (`check_same_run`): the network, the
/// parameter values, the optimizer, the data's description (`plan`, `data_words`) and the
/// position must agree, or every rank throws `distributed_error` saying what differs.
/// `on_batch(steps_done, steps, metrics)` sees the metrics of all ranks' samples so far. A loss
/// that is not finite stops every rank alike with `non_finite_error`, before the update.
template <communicator C, class Net, class T, std::size_t Block, class S, class Stored, class Loss, class Optimizer, class Schedule,
          class OnBatch>
metrics train_epoch(C& comm, const data_parallel_plan<Block>& plan, network_parameters<Net, T>& p, Optimizer& optimizer,
                    const Schedule& schedule, const dataset<T, S, class_label, Stored>& shards, Loss, training_position& position,
                    data_parallel_memory<Net, T, Block>& memory, OnBatch&& on_batch, std::string_view data_words = "",
                    finite_checks checks = {}) {
    static_assert(std::is_same_v<S, typename Net::input_shape>,
                  "metagrad::train_epoch: the data set's sample shape must be the network's input shape");
    static_assert(optimizer_takes<optimizer_of<Optimizer>, parameters_of<network_parameters<Net, T>>>,
                  "metagrad::train_epoch: the optimizer must be made for the parameters it updates");
    const std::size_t ranks = comm.size(), rank = comm.rank();
    const auto [first, last] = plan.samples_of(rank, ranks);
    if (shards.size() != last - first)
        throw distributed_error("metagrad::train_epoch: rank " + std::to_string(rank) + " holds " + std::to_string(shards.size()) +
                                " samples; the plan (" + plan.words() + ") gives it samples " + std::to_string(first) + " to " +
                                std::to_string(last) + " of the training set (" + std::to_string(last - first) + ")");
    const std::string data_size =
        std::to_string(plan.samples) + " samples of " + std::to_string(S::size) + " values, " + std::to_string(shards.classes) + " classes";
    check_same_run(comm, fingerprint_of(p, optimizer, position, data_words.empty() ? data_size : std::string(data_words) + ", " + data_size,
                                        plan.words()));

    // This epoch's order within each of this rank's shards, from one draw of the run's generator.
    const std::size_t local_blocks = plan.blocks_per_rank(ranks), first_block = rank * local_blocks;
    const std::uint64_t epoch_key = position.shuffle.next();
    std::vector<batch_plan<Block>> orders;
    for (std::size_t j = 0; j < local_blocks; ++j) {
        random_generator shard_generator(epoch_key ^ (0x9e3779b97f4a7c15u * (first_block + j + 1)));
        orders.push_back(shuffled_batches<Block>(plan.shard_size(), shard_generator));
    }

    constexpr std::size_t flat = detail::flat_size<Net>, tail = detail::state_scalars<Net> + 2;
    auto& ws = memory.block.step;
    auto& gradient = ws.gradient.parameters;
    // With one block per rank and the gradients one span in memory (the usual case), the sum runs
    // on the workspace's gradients in place, and only the state, the loss and the count travel
    // apart: two passes over the gradients fewer than packing them.
    const std::span<T> in_place = local_blocks == 1 ? detail::contiguous_parameters(gradient) : std::span<T>();
    const std::size_t levels = static_cast<std::size_t>(std::countr_zero(local_blocks)) + 1;
    memory.partial.resize(levels + 1);
    for (auto& level : memory.partial) level.resize(in_place.empty() ? flat : tail);
    memory.scratch.resize((flat + 1) / 2);
    std::vector<bool> filled(levels, false);

    using input_shape = typename std::remove_cvref_t<decltype(ws.trace.input())>::shape_type;
    using target_shape = typename std::remove_cvref_t<decltype(memory.block.data.targets)>::shape_type;
    const std::size_t steps = plan.steps_per_epoch(), epoch = position.epoch + 1;
    const T scale = T(1) / static_cast<T>(plan.blocks);
    metrics running;
    for (std::size_t k = 0; k < steps; ++k) {
        set_learning_rate(optimizer, static_cast<T>(schedule(position.step)));
        for (std::size_t j = 0; j < local_blocks; ++j) {
            const std::size_t b = first_block + j;
            const auto picked = orders[j][k];
            for (std::size_t i = 0; i < Block; ++i) memory.indices[i] = j * plan.shard_size() + picked[i];
            load_batch(shards, std::span<const std::size_t>(memory.indices), memory.block.data, ws.trace.input());
            // Block b's random numbers are those of its place in the global step, on any rank count.
            ws.key = {position.seed, position.step * plan.blocks + b};
            const T value = detail::forward_loss_backward<Net, T, input_shape, target_shape, Loss>(
                p, ws.trace.input(), memory.block.data.targets, ws, [&](const auto& dl_doutput) {
                    Net::template backward_into<input_gradient::skip>(p, ws.trace, dl_doutput, ws.gradient);
                });
            // The block's contribution as one flat vector: gradients (unless summed in place), its
            // new state (carried by the gradient's own state part, otherwise unused), its mean
            // loss and its count of right answers.
            if constexpr (Net::has_state) gradient.states = ws.trace.states;
            std::vector<T>& current = memory.partial[levels];
            if (in_place.empty()) detail::pack(std::span<T>(current), gradient);
            const std::span<T> current_tail = std::span<T>(current).last(tail);
            detail::pack_state(current_tail, gradient);
            current_tail[tail - 2] = value;
            current_tail[tail - 1] = static_cast<T>(count_correct(ws.trace.output(), memory.block.data.labels, Block));
            // The tree, pairs of neighbours first: level l holds the sum of 2^l consecutive
            // blocks, as a binary counter carries.
            std::size_t level = 0;
            for (; filled[level]; ++level) {
                std::vector<T>& earlier = memory.partial[level];
                for (std::size_t i = 0; i < current.size(); ++i) current[i] = earlier[i] + current[i];
                filled[level] = false;
            }
            std::swap(memory.partial[level], current);
            filled[level] = true;
        }
        filled[levels - 1] = false;
        const std::span<T> sum(memory.partial[levels - 1]);
        if (!in_place.empty()) sum_all(comm, in_place, std::span<T>(memory.scratch), scale);
        sum_all(comm, sum, std::span<T>(memory.scratch));
        const std::span<const T> sum_tail = std::span<const T>(sum).last(tail);

        const T loss = sum_tail[tail - 2] * scale;
        if (checks.loss && !std::isfinite(loss))
            throw non_finite_error("metagrad::train_epoch: the loss is " + number_or_marker(static_cast<double>(loss)) + " at " +
                                       detail::step_place(epoch, k + 1, steps, position.step + 1) +
                                       " (the mean over every rank's blocks); the parameters, the optimizer and the training position are "
                                       "as before that step, on every rank",
                                   epoch, k + 1, steps, position.step + 1, "");
        // The mean, where the optimizer reads it: the sum times 1 / blocks (a power of two: exact).
        network_parameters<Net, T>& mean = in_place.empty() ? memory.gradient : gradient;
        if (in_place.empty())
            detail::unpack(memory.gradient, std::span<const T>(sum), scale);
        else
            detail::unpack_state(gradient, sum_tail, scale);  // the gradients were scaled by sum_all
        if (checks.tensors)
            if (const std::string bad = first_non_finite(mean); !bad.empty())
                throw non_finite_error("metagrad::train_epoch: the gradient of '" + bad + "' is not finite at " +
                                           detail::step_place(epoch, k + 1, steps, position.step + 1),
                                       epoch, k + 1, steps, position.step + 1, bad);
        optimizer.step(p, mean);
        if constexpr (Net::has_state) p.states = mean.states;
        ++position.step;
        running.add(static_cast<double>(loss), static_cast<std::size_t>(sum_tail[tail - 1]), plan.global_batch());
        on_batch(k + 1, steps, running);
    }
    ++position.epoch;
    return running;
}

/// `evaluate` over the ranks: each rank evaluates its part of a data set (any split: a slice
/// each, as `data_parallel_plan::samples_of` cuts one, or the whole set on rank 0 and nothing
/// elsewhere), and every rank gets the metrics of all parts together.
template <communicator C, class Net, class T, std::size_t Batch, class S, class Stored, class Loss>
metrics evaluate(C& comm, const network_parameters<Net, T>& p, const dataset<T, S, class_label, Stored>& part, Loss loss, training_memory<Net, T, Batch>& memory,
                 finite_checks checks = {}) {
    const metrics mine = part.size() ? evaluate(p, part, loss, memory, checks) : metrics{};
    std::array<double, 3> totals{mine.loss_sum, static_cast<double>(mine.correct), static_cast<double>(mine.samples)};
    std::array<double, 2> scratch{};
    sum_all(comm, std::span<double>(totals), std::span<double>(scratch));
    return {totals[0], static_cast<std::size_t>(totals[1]), static_cast<std::size_t>(totals[2])};
}

}  // namespace metagrad
