// metagrad normalization: rescaling and standardizing a data set's features.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "metagrad/data/dataset.hpp"

namespace metagrad {

/// Maps every feature from [low, high] to [0, 1] (pixels: `scale_to_unit(d, 0, 255)`).
template <class T, class S>
void scale_to_unit(dataset<T, S>& d, T low, T high) {
    const T inverse = T{1} / (high - low);
    for (T& x : d.features) x = (x - low) * inverse;
}

/// Per-feature mean and standard deviation, measured on one data set (the training set) and
/// applied to any other (validation, test), so that no statistic leaks from held-out data.
template <class T, class S>
struct standardizer {
    std::vector<T> mean, deviation;

    /// Measures `d` (in double, so that large sets lose nothing); a constant feature gets
    /// deviation 1, so that it maps to 0 rather than to NaN.
    static standardizer fit(const dataset<T, S>& d) {
        constexpr std::size_t n = S::size;
        std::vector<double> sum(n), square(n);
        for (std::size_t i = 0; i < d.size(); ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const double x = d.features[i * n + j];
                sum[j] += x;
                square[j] += x * x;
            }
        standardizer s;
        s.mean.resize(n);
        s.deviation.resize(n);
        const double count = static_cast<double>(d.size() ? d.size() : 1);
        for (std::size_t j = 0; j < n; ++j) {
            const double mean = sum[j] / count, variance = square[j] / count - mean * mean;
            s.mean[j] = static_cast<T>(mean);
            s.deviation[j] = static_cast<T>(variance > 1e-24 ? std::sqrt(variance) : 1.0);
        }
        return s;
    }

    /// Replaces each feature x by (x - mean) / deviation.
    void apply(dataset<T, S>& d) const {
        constexpr std::size_t n = S::size;
        for (std::size_t i = 0; i < d.size(); ++i)
            for (std::size_t j = 0; j < n; ++j) d.features[i * n + j] = (d.features[i * n + j] - mean[j]) / deviation[j];
    }
};

}  // namespace metagrad
