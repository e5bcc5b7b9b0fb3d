// metagrad normalization: rescaling and standardizing a data set's features (and tensor targets).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "metagrad/data/dataset.hpp"

namespace metagrad {

/// Maps every feature from [low, high] to [0, 1] (pixels: `scale_to_unit(d, 0, 255)`).
template <class T, class S, class Target>
void scale_to_unit(dataset<T, S, Target>& d, T low, T high) {
    const T inverse = T{1} / (high - low);
    for (T& x : d.features) x = (x - low) * inverse;
}

/// Per-element mean and standard deviation of a data set's features (`fit`, `apply`) or tensor
/// targets (`fit_targets`, `apply_to_targets`; `S` is then the target shape), measured on one
/// data set (the training set) and applied to any other (validation, test), so that no statistic
/// leaks from held-out data. `restore` maps a standardized target (a prediction) back.
template <class T, class S>
struct standardizer {
    std::vector<T> mean, deviation;

    /// Measures `d`'s features (in double, so that large sets lose nothing); a constant feature
    /// gets deviation 1, so that it maps to 0 rather than to NaN.
    template <class Target>
    static standardizer fit(const dataset<T, S, Target>& d) {
        return measure(d.features, d.size());
    }
    /// Replaces each feature x by (x - mean) / deviation.
    template <class Target>
    void apply(dataset<T, S, Target>& d) const {
        standardize(d.features);
    }

    /// Measures `d`'s targets, as `fit` its features.
    template <class Sample>
    static standardizer fit_targets(const dataset<T, Sample, S>& d) {
        return measure(d.targets, d.size());
    }
    /// Replaces each target y by (y - mean) / deviation.
    template <class Sample>
    void apply_to_targets(dataset<T, Sample, S>& d) const {
        standardize(d.targets);
    }
    /// The value of element `j` before standardizing: y * deviation + mean.
    T restore(T y, std::size_t j) const { return y * deviation[j] + mean[j]; }

private:
    static standardizer measure(const std::vector<T>& values, std::size_t count) {
        constexpr std::size_t n = S::size;
        std::vector<double> sum(n), square(n);
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const double x = values[i * n + j];
                sum[j] += x;
                square[j] += x * x;
            }
        standardizer s;
        s.mean.resize(n);
        s.deviation.resize(n);
        const double samples = static_cast<double>(count ? count : 1);
        for (std::size_t j = 0; j < n; ++j) {
            const double mean = sum[j] / samples, variance = square[j] / samples - mean * mean;
            s.mean[j] = static_cast<T>(mean);
            s.deviation[j] = static_cast<T>(variance > 1e-24 ? std::sqrt(variance) : 1.0);
        }
        return s;
    }
    void standardize(std::vector<T>& values) const {
        constexpr std::size_t n = S::size;
        for (std::size_t i = 0; i < values.size(); i += n)
            for (std::size_t j = 0; j < n; ++j) values[i + j] = (values[i + j] - mean[j]) / deviation[j];
    }
};

}  // namespace metagrad
