// metagrad::dataset: labelled samples of a compile-time shape, held on the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "metagrad/core/shape.hpp"
#include "metagrad/init/random.hpp"

namespace metagrad {

/// `size()` samples of shape `SampleShape` (row-major, one after another in `features`), each with
/// a class label below `classes`. A run-time container: data sets are read from files, so their
/// length is not part of the type; each sample's shape is, so it is checked against the network
/// when the file is read.
template <class T, class SampleShape>
struct dataset {
    using value_type = T;
    using sample_shape = SampleShape;
    static constexpr std::size_t sample_size = SampleShape::size;

    std::vector<T> features;
    std::vector<std::uint32_t> labels;
    std::size_t classes = 0;

    std::size_t size() const { return labels.size(); }
    std::span<const T, sample_size> sample(std::size_t i) const {
        return std::span<const T, sample_size>(features.data() + i * sample_size, sample_size);
    }
    std::span<T, sample_size> sample(std::size_t i) {
        return std::span<T, sample_size>(features.data() + i * sample_size, sample_size);
    }

    /// Samples [begin, end) as a new data set (a validation split, a small subset).
    dataset slice(std::size_t begin, std::size_t end) const {
        if (begin > end || end > size())
            throw std::out_of_range("metagrad::dataset::slice: [" + std::to_string(begin) + ", " + std::to_string(end) +
                                    ") is outside a data set of " + std::to_string(size()) + " samples");
        dataset out;
        out.classes = classes;
        out.features.assign(features.begin() + static_cast<std::ptrdiff_t>(begin * sample_size),
                            features.begin() + static_cast<std::ptrdiff_t>(end * sample_size));
        out.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(begin), labels.begin() + static_cast<std::ptrdiff_t>(end));
        return out;
    }
};

/// Puts the samples of `d` in a uniformly random order (Fisher-Yates; the same seed gives the
/// same order everywhere): before splitting a file sorted by class into training and test parts.
template <class T, class S>
void shuffle(dataset<T, S>& d, random_generator& g) {
    constexpr std::size_t n = S::size;
    for (std::size_t i = d.size(); i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(g.below(i));
        std::swap(d.labels[i - 1], d.labels[j]);
        for (std::size_t k = 0; k < n; ++k) std::swap(d.features[(i - 1) * n + k], d.features[j * n + k]);
    }
}

}  // namespace metagrad
