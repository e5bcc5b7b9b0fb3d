// metagrad metrics: loss and accuracy accumulated over batches.
#pragma once

#include <cstddef>
#include <cstdint>

#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// A mean loss and an accuracy over `samples` samples, accumulated batch by batch.
struct metrics {
    double loss_sum = 0;
    std::size_t correct = 0;
    std::size_t samples = 0;

    /// Adds a batch: its mean loss over `rows` real samples, and how many it classified right.
    void add(double mean_loss, std::size_t right, std::size_t rows) {
        loss_sum += mean_loss * static_cast<double>(rows);
        correct += right;
        samples += rows;
    }
    double loss() const { return samples ? loss_sum / static_cast<double>(samples) : 0; }
    double accuracy() const { return samples ? static_cast<double>(correct) / static_cast<double>(samples) : 0; }
};

/// How many of the first `rows` rows of `scores` (one row of class scores per sample) have
/// their largest score at the sample's label (ties go to the lower class). A row with a NaN
/// score counts as wrong: comparisons with NaN are false, so its "largest" score would be
/// whichever came first, and a diverged network would seem to predict class 0.
template <class T, std::size_t Batch, std::size_t Classes, class Labels>
constexpr std::size_t count_correct(const tensor<T, shape<Batch, Classes>>& scores, const Labels& labels, std::size_t rows) {
    std::size_t right = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        std::size_t best = 0;
        bool nan = scores[r * Classes] != scores[r * Classes];
        for (std::size_t c = 1; c < Classes; ++c) {
            nan = nan || scores[r * Classes + c] != scores[r * Classes + c];
            if (scores[r * Classes + c] > scores[r * Classes + best]) best = c;
        }
        right += !nan && best == static_cast<std::size_t>(labels[r]);
    }
    return right;
}

}  // namespace metagrad
