// metagrad::dataset: samples of a compile-time shape with their targets (class labels or tensors), held on the heap.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "metagrad/core/shape.hpp"
#include "metagrad/init/random.hpp"

namespace metagrad {

/// The target kind of a classification data set: one class label per sample (the default of
/// `dataset`). Any `shape<...>` in its place makes a data set of tensor targets (regression).
struct class_label {};

namespace detail {
/// A data set's targets: labels and a class count, or one tensor per sample. A base of
/// `dataset`, so that `d.labels` and `d.targets` are members where they mean something.
template <class T, class Target>
struct dataset_targets;

template <class T>
struct dataset_targets<T, class_label> {
    std::vector<std::uint32_t> labels;
    std::size_t classes = 0;

    std::size_t target_count() const { return labels.size(); }
    void copy_targets(const dataset_targets& from, std::size_t begin, std::size_t end) {
        classes = from.classes;
        labels.assign(from.labels.begin() + static_cast<std::ptrdiff_t>(begin), from.labels.begin() + static_cast<std::ptrdiff_t>(end));
    }
    void swap_targets(std::size_t i, std::size_t j) { std::swap(labels[i], labels[j]); }
};

template <class T, std::size_t... E>
struct dataset_targets<T, shape<E...>> {
    static constexpr std::size_t target_size = shape<E...>::size;
    static_assert(target_size > 0, "metagrad::dataset: a target shape must have at least one element");

    /// Row-major, one sample's target after another.
    std::vector<T> targets;

    std::span<const T, target_size> target(std::size_t i) const {
        return std::span<const T, target_size>(targets.data() + i * target_size, target_size);
    }
    std::span<T, target_size> target(std::size_t i) { return std::span<T, target_size>(targets.data() + i * target_size, target_size); }

    std::size_t target_count() const { return targets.size() / target_size; }
    void copy_targets(const dataset_targets& from, std::size_t begin, std::size_t end) {
        targets.assign(from.targets.begin() + static_cast<std::ptrdiff_t>(begin * target_size),
                       from.targets.begin() + static_cast<std::ptrdiff_t>(end * target_size));
    }
    void swap_targets(std::size_t i, std::size_t j) {
        for (std::size_t k = 0; k < target_size; ++k) std::swap(targets[i * target_size + k], targets[j * target_size + k]);
    }
};

/// A data set's features as they are stored: in `T`, what the network computes in (the
/// default), or in the type they came in (`Stored`: bytes for IDX images), each mapped to `T` as
/// a batch is loaded, `x * scale[j] + shift[j]` for feature j (normalize.hpp composes the maps;
/// empty means 1 and 0). Kept as bytes, Fashion-MNIST takes a quarter of the memory.
template <class T, class Stored>
struct dataset_features {
    static_assert(std::is_arithmetic_v<Stored>, "metagrad::dataset: features are stored as numbers (std::uint8_t, float, ...)");
    std::vector<Stored> features;
    std::vector<T> scale, shift;

    /// The `n` features of the sample starting at `first`, as `T`, into `out`.
    void convert(std::size_t first, std::size_t n, T* out) const {
        const Stored* in = features.data() + first;
        if (scale.empty())
            for (std::size_t j = 0; j < n; ++j) out[j] = static_cast<T>(in[j]);
        else
            for (std::size_t j = 0; j < n; ++j) out[j] = static_cast<T>(in[j]) * scale[j] + shift[j];
    }
    /// Feature `j` of the sample starting at `first`, as `T`.
    T value(std::size_t first, std::size_t j) const {
        const T x = static_cast<T>(features[first + j]);
        return scale.empty() ? x : x * scale[j] + shift[j];
    }
    void copy_map(const dataset_features& from) { scale = from.scale, shift = from.shift; }
};
template <class T>
struct dataset_features<T, T> {
    std::vector<T> features;

    void convert(std::size_t first, std::size_t n, T* out) const { std::copy_n(features.data() + first, n, out); }
    T value(std::size_t first, std::size_t j) const { return features[first + j]; }
    void copy_map(const dataset_features&) {}
};
}  // namespace detail

/// `size()` samples of shape `SampleShape` (row-major, one after another in `features`), each with
/// a target: with `Target = class_label` (the default) a class label below `classes` (members
/// `labels`, `classes`); with `Target = shape<...>` a tensor of that shape (member `targets`,
/// row-major, and `target(i)`), for regression. A run-time container: data sets are read from
/// files, so their length is not part of the type; each sample's shape is, so it is checked
/// against the network when the file is read.
///
/// `Stored` is the type `features` holds: `T` by default, or the file's own type (`std::uint8_t`
/// for IDX images: `load_idx<float, shape<784>, std::uint8_t>`), converted to `T` batch by batch
/// as it is loaded, through the per-feature map that `scale_to_unit` and `standardizer` set
/// (members `scale`, `shift`) instead of rewriting the samples.
template <class T, class SampleShape, class Target = class_label, class Stored = T>
struct dataset : detail::dataset_targets<T, Target>, detail::dataset_features<T, Stored> {
    using value_type = T;
    using stored_type = Stored;
    using sample_shape = SampleShape;
    using target_type = Target;
    static constexpr std::size_t sample_size = SampleShape::size;
    static constexpr bool labelled = std::is_same_v<Target, class_label>;
    // Anything but a label or a shape as the target would leave the targets undefined above.
    static_assert(labelled || detail::is_shape<Target>, "metagrad::dataset: the target must be class_label or a shape<...>");

    std::size_t size() const { return this->target_count(); }
    /// Sample `i` as stored (`Stored` values; `copy_sample` gives it as `T`).
    std::span<const Stored, sample_size> sample(std::size_t i) const {
        return std::span<const Stored, sample_size>(this->features.data() + i * sample_size, sample_size);
    }
    std::span<Stored, sample_size> sample(std::size_t i) {
        return std::span<Stored, sample_size>(this->features.data() + i * sample_size, sample_size);
    }
    /// Sample `i` as the network sees it, into `out`.
    void copy_sample(std::size_t i, std::span<T, sample_size> out) const { this->convert(i * sample_size, sample_size, out.data()); }
    /// Feature `j` of sample `i` as the network sees it.
    T feature(std::size_t i, std::size_t j) const { return this->value(i * sample_size, j); }

    /// Samples [begin, end) as a new data set (a validation split, a small subset).
    dataset slice(std::size_t begin, std::size_t end) const {
        if (begin > end || end > size())
            throw std::out_of_range("metagrad::dataset::slice: [" + std::to_string(begin) + ", " + std::to_string(end) +
                                    ") is outside a data set of " + std::to_string(size()) + " samples");
        dataset out;
        out.copy_targets(*this, begin, end);
        out.copy_map(*this);
        out.features.assign(this->features.begin() + static_cast<std::ptrdiff_t>(begin * sample_size),
                            this->features.begin() + static_cast<std::ptrdiff_t>(end * sample_size));
        return out;
    }
};

/// A data set of tensor targets of shape `TargetShape` (regression): `dataset<T, SampleShape, TargetShape>`.
template <class T, class SampleShape, class TargetShape>
using regression_dataset = dataset<T, SampleShape, TargetShape>;

/// Puts the samples of `d` in a uniformly random order (Fisher-Yates; the same seed gives the
/// same order everywhere): before splitting a file sorted by class into training and test parts.
template <class T, class S, class Target, class Stored>
void shuffle(dataset<T, S, Target, Stored>& d, random_generator& g) {
    constexpr std::size_t n = S::size;
    for (std::size_t i = d.size(); i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(g.below(i));
        d.swap_targets(i - 1, j);
        for (std::size_t k = 0; k < n; ++k) std::swap(d.features[(i - 1) * n + k], d.features[j * n + k]);
    }
}

}  // namespace metagrad
