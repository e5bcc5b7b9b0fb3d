// metagrad batches: shuffled minibatches of a compile-time size, and copying one (labels or tensor targets) into tensors.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/data/dataset.hpp"
#include "metagrad/eval/assign.hpp"
#include "metagrad/init/random.hpp"

namespace metagrad {

/// What happens to the samples left over when a data set's size is not a multiple of the
/// batch size. `drop`: they are left out of this epoch (training: the order is reshuffled each
/// epoch, so every sample is seen over epochs, and every step averages the same number of
/// samples). `pad`: the last batch is filled up with copies of its first sample and reports how
/// many of its rows are real (evaluation: every sample counts exactly once).
enum class last_batch { drop, pad };

/// The order in which one epoch visits a data set, cut into batches of `Batch` samples.
template <std::size_t Batch>
class batch_plan {
public:
    static_assert(Batch > 0, "metagrad::batch_plan: the batch size must be positive");

    batch_plan(std::vector<std::size_t> order, last_batch policy) : order_(std::move(order)), policy_(policy) {}

    /// Batches in the epoch.
    std::size_t size() const {
        return policy_ == last_batch::drop ? order_.size() / Batch : (order_.size() + Batch - 1) / Batch;
    }
    /// The sample indices of batch `k`: `Batch` of them, fewer only for a padded last batch.
    std::span<const std::size_t> operator[](std::size_t k) const {
        const std::size_t begin = k * Batch, end = std::min(begin + Batch, order_.size());
        return std::span<const std::size_t>(order_.data() + begin, end - begin);
    }
    const std::vector<std::size_t>& order() const { return order_; }

private:
    std::vector<std::size_t> order_;
    last_batch policy_;
};

/// A uniformly shuffled epoch (Fisher-Yates with metagrad's generator: the same seed gives the
/// same order everywhere).
template <std::size_t Batch>
batch_plan<Batch> shuffled_batches(std::size_t samples, random_generator& g, last_batch policy = last_batch::drop) {
    std::vector<std::size_t> order(samples);
    for (std::size_t i = 0; i < samples; ++i) order[i] = i;
    for (std::size_t i = samples; i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);
    return batch_plan<Batch>(std::move(order), policy);
}

/// The data set in order (evaluation).
template <std::size_t Batch>
batch_plan<Batch> ordered_batches(std::size_t samples, last_batch policy = last_batch::pad) {
    std::vector<std::size_t> order(samples);
    for (std::size_t i = 0; i < samples; ++i) order[i] = i;
    return batch_plan<Batch>(std::move(order), policy);
}

/// One batch as the network sees it: inputs of shape `Batch x SampleShape`, one-hot targets of
/// `Batch x Classes`, the labels, and how many rows are real samples (the rest is padding).
/// Sized at compile time; allocate it once next to the workspace.
template <class T, std::size_t Batch, class SampleShape, std::size_t Classes>
struct batch {
    using input_shape = batch_of<Batch, SampleShape>;
    tensor<T, input_shape> inputs{};
    tensor<T, shape<Batch, Classes>> targets{};
    std::array<std::uint32_t, Batch> labels{};
    std::size_t rows = 0;
};

namespace detail {
/// The inputs of the samples `indices` into `inputs`, row by row, the first repeated as padding.
template <std::size_t Batch, class T, class SampleShape, class Target, class Stored>
void copy_inputs(const dataset<T, SampleShape, Target, Stored>& data, std::span<const std::size_t> indices,
                 tensor<T, batch_of<Batch, SampleShape>>& inputs) {
    constexpr std::size_t n = SampleShape::size;
    const auto copy_rows = [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r)
            data.copy_sample(indices[r < indices.size() ? r : 0], std::span<T, n>(inputs.data.data() + r * n, n));
    };
    // Split by rows between the kernel threads when the batch is large, as eval/ splits copies.
    eval::detail::over_ranges<Batch, Batch * n>(copy_rows);
}
}  // namespace detail

/// Copies the samples `indices` of `data` into `out`, their inputs into `inputs` (padding with
/// the first sample when there are fewer than `Batch`). No allocation. A label the network cannot
/// output (at least `Classes`) throws std::out_of_range, before anything is written. A training
/// loop passes its workspace's input tensor as `inputs`, so the step then copies nothing; large
/// batches' rows are copied by the kernel threads (`set_thread_count`).
template <class T, std::size_t Batch, class SampleShape, std::size_t Classes, class Stored>
void load_batch(const dataset<T, SampleShape, class_label, Stored>& data, std::span<const std::size_t> indices,
                batch<T, Batch, SampleShape, Classes>& out, tensor<T, batch_of<Batch, SampleShape>>& inputs) {
    const auto sample_of = [&](std::size_t r) { return indices[r < indices.size() ? r : 0]; };
    for (std::size_t r = 0; r < Batch; ++r) {
        const std::size_t i = sample_of(r);
        if (data.labels[i] >= Classes)
            throw std::out_of_range("metagrad::load_batch: sample " + std::to_string(i) + " has label " +
                                    std::to_string(data.labels[i]) + ", but the network has " + std::to_string(Classes) +
                                    " outputs");
    }
    out.rows = indices.size();
    out.targets = tensor<T, shape<Batch, Classes>>{};
    for (std::size_t r = 0; r < Batch; ++r) {
        const std::size_t i = sample_of(r);
        out.labels[r] = data.labels[i];
        out.targets[r * Classes + data.labels[i]] = T{1};
    }
    detail::copy_inputs<Batch>(data, indices, inputs);
}

/// `load_batch` into the batch's own inputs, `out.inputs`.
template <class T, std::size_t Batch, class SampleShape, std::size_t Classes, class Stored>
void load_batch(const dataset<T, SampleShape, class_label, Stored>& data, std::span<const std::size_t> indices,
                batch<T, Batch, SampleShape, Classes>& out) {
    load_batch(data, indices, out, out.inputs);
}

/// One batch of a data set with tensor targets (regression): inputs of shape
/// `Batch x SampleShape`, targets of `Batch x TargetShape`, and how many rows are real samples
/// (the rest is padding). Sized at compile time, as `batch`.
template <class T, std::size_t Batch, class SampleShape, class TargetShape>
struct target_batch {
    using input_shape = batch_of<Batch, SampleShape>;
    using target_shape = batch_of<Batch, TargetShape>;
    tensor<T, input_shape> inputs{};
    tensor<T, target_shape> targets{};
    std::size_t rows = 0;
};

/// `load_batch` for tensor targets: the samples `indices` of `data` into `out` (targets) and
/// `inputs`, padded with the first sample. No allocation.
template <class T, std::size_t Batch, class SampleShape, class TargetShape, class Stored>
void load_batch(const dataset<T, SampleShape, TargetShape, Stored>& data, std::span<const std::size_t> indices,
                target_batch<T, Batch, SampleShape, TargetShape>& out, tensor<T, batch_of<Batch, SampleShape>>& inputs) {
    constexpr std::size_t m = TargetShape::size;
    out.rows = indices.size();
    for (std::size_t r = 0; r < Batch; ++r) {
        const auto target = data.target(indices[r < indices.size() ? r : 0]);
        std::copy(target.begin(), target.end(), out.targets.data.begin() + static_cast<std::ptrdiff_t>(r * m));
    }
    detail::copy_inputs<Batch>(data, indices, inputs);
}

/// `load_batch` into the batch's own inputs, `out.inputs`.
template <class T, std::size_t Batch, class SampleShape, class TargetShape, class Stored>
void load_batch(const dataset<T, SampleShape, TargetShape, Stored>& data, std::span<const std::size_t> indices,
                target_batch<T, Batch, SampleShape, TargetShape>& out) {
    load_batch(data, indices, out, out.inputs);
}

}  // namespace metagrad
