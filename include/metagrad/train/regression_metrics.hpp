// metagrad::regression_metrics: loss, MSE, MAE, RMSE and R² accumulated over batches.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace metagrad {

/// The loss and the errors of predictions against tensor targets over `samples` samples,
/// accumulated batch by batch (in double). Each of a sample's `outputs` target elements is an
/// output: MSE, MAE and RMSE are over every element; R² is the mean over outputs of
/// 1 - (sum of squared errors) / (sum of squared deviations of the target from its mean),
/// scikit-learn's `r2_score` (multioutput='uniform_average'). The targets' means are kept as a
/// running (Welford) mean, so one pass suffices and large targets lose nothing to cancellation.
/// Allocates once, at the first batch (one slot per output).
struct regression_metrics {
    double loss_sum = 0;
    std::size_t samples = 0;
    double squared_error_sum = 0, absolute_error_sum = 0;
    /// Per output: the running mean of the target, its sum of squared deviations, and the sum of
    /// squared errors.
    std::vector<double> target_mean, target_deviation_sum, output_squared_error;

    /// Adds a batch: its mean loss over `rows` real samples, and their predictions and targets,
    /// `rows * outputs` values each (row-major; padding rows past `rows` are not read).
    template <class T>
    void add(double mean_loss, std::span<const T> predictions, std::span<const T> targets, std::size_t rows, std::size_t outputs) {
        loss_sum += mean_loss * static_cast<double>(rows);
        if (target_mean.empty()) {
            target_mean.assign(outputs, 0.0);
            target_deviation_sum.assign(outputs, 0.0);
            output_squared_error.assign(outputs, 0.0);
        }
        for (std::size_t r = 0; r < rows; ++r) {
            const double n = static_cast<double>(samples + 1);
            for (std::size_t j = 0; j < outputs; ++j) {
                const double y = static_cast<double>(targets[r * outputs + j]);
                const double e = static_cast<double>(predictions[r * outputs + j]) - y;
                squared_error_sum += e * e;
                absolute_error_sum += std::abs(e);
                output_squared_error[j] += e * e;
                const double delta = y - target_mean[j];
                target_mean[j] += delta / n;
                target_deviation_sum[j] += delta * (y - target_mean[j]);
            }
            ++samples;
        }
    }

    std::size_t outputs() const { return target_mean.size(); }
    double loss() const { return samples ? loss_sum / static_cast<double>(samples) : 0; }
    /// Mean squared error over every target element.
    double mse() const { return values() ? squared_error_sum / values() : 0; }
    /// Mean absolute error over every target element.
    double mae() const { return values() ? absolute_error_sum / values() : 0; }
    double rmse() const { return std::sqrt(mse()); }
    /// The coefficient of determination: 1 for perfect predictions, 0 for predicting each
    /// output's mean, negative for worse. An output whose target is constant counts 1 when
    /// predicted exactly and 0 otherwise (scikit-learn's choice), not a division by zero.
    double r2() const {
        if (outputs() == 0) return 0;
        double sum = 0;
        for (std::size_t j = 0; j < outputs(); ++j) {
            if (target_deviation_sum[j] > 0) sum += 1 - output_squared_error[j] / target_deviation_sum[j];
            else sum += output_squared_error[j] == 0 ? 1 : 0;
        }
        return sum / static_cast<double>(outputs());
    }

private:
    double values() const { return static_cast<double>(samples * outputs()); }
};

}  // namespace metagrad
