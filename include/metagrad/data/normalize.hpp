// metagrad normalization: rescaling and standardizing a data set's features (and tensor targets).
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "metagrad/data/dataset.hpp"

namespace metagrad {

namespace detail {
/// The map of a data set kept in its own type, set to 1 and 0 where it is still empty.
template <class T, class S, class Target, class Stored>
void start_map(dataset<T, S, Target, Stored>& d) {
    if (d.scale.empty()) d.scale.assign(S::size, T{1}), d.shift.assign(S::size, T{0});
}
}  // namespace detail

/// Maps every feature from [low, high] to [0, 1] (pixels: `scale_to_unit(d, 0, 255)`). A data
/// set kept in its own type (bytes) keeps its samples and composes the map it applies on loading.
template <class T, class S, class Target, class Stored>
void scale_to_unit(dataset<T, S, Target, Stored>& d, T low, T high) {
    const T inverse = T{1} / (high - low);
    if constexpr (std::is_same_v<T, Stored>) {
        for (T& x : d.features) x = (x - low) * inverse;
    } else {
        detail::start_map(d);
        for (std::size_t j = 0; j < S::size; ++j) d.scale[j] *= inverse, d.shift[j] = (d.shift[j] - low) * inverse;
    }
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
    template <class Target, class Stored>
    static standardizer fit(const dataset<T, S, Target, Stored>& d) {
        return measure([&](std::size_t i, std::size_t j) { return static_cast<double>(d.feature(i, j)); }, d.size());
    }
    /// Replaces each feature x by (x - mean) / deviation (for a data set kept in its own type,
    /// composes that into the map it applies on loading).
    template <class Target, class Stored>
    void apply(dataset<T, S, Target, Stored>& d) const {
        if constexpr (std::is_same_v<T, Stored>) {
            standardize(d.features);
        } else {
            detail::start_map(d);
            for (std::size_t j = 0; j < S::size; ++j) d.scale[j] /= deviation[j], d.shift[j] = (d.shift[j] - mean[j]) / deviation[j];
        }
    }

    /// Measures `d`'s targets, as `fit` its features.
    template <class Sample, class Stored>
    static standardizer fit_targets(const dataset<T, Sample, S, Stored>& d) {
        return measure([&](std::size_t i, std::size_t j) { return static_cast<double>(d.targets[i * S::size + j]); }, d.size());
    }
    /// Replaces each target y by (y - mean) / deviation.
    template <class Sample, class Stored>
    void apply_to_targets(dataset<T, Sample, S, Stored>& d) const {
        standardize(d.targets);
    }
    /// The value of element `j` before standardizing: y * deviation + mean.
    T restore(T y, std::size_t j) const { return y * deviation[j] + mean[j]; }

private:
    template <class Value>
    static standardizer measure(Value value, std::size_t count) {
        constexpr std::size_t n = S::size;
        std::vector<double> sum(n), square(n);
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const double x = value(i, j);
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
