// metagrad::load_csv: a tabular data set (numeric features; an integer class label or numeric targets) from CSV.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <vector>

#include "metagrad/core/shape.hpp"
#include "metagrad/data/dataset.hpp"
#include "metagrad/io/error.hpp"
#include "metagrad/io/input_file.hpp"
#include "metagrad/io/read_limit.hpp"

namespace metagrad {

/// How a CSV file is laid out. Each data line holds the sample's `SampleShape::size` features
/// and then its target: a class label (an integer below `classes`), or for a regression data set
/// `TargetShape::size` numbers; fields are separated by `separator`.
struct csv_options {
    /// `first_target`'s default: the target comes after the features.
    static constexpr std::size_t after_features = static_cast<std::size_t>(-1);

    /// Header lines to skip before the data.
    std::size_t skip_lines = 0;
    /// scikit-learn's bundled files (iris.csv, wine_data.csv, breast_cancer.csv) start with a
    /// line "samples,features,class names...": when set, it is read and checked against the
    /// data that follow and the network's input.
    bool sklearn_header = false;
    char separator = ',';
    /// The field (counted from 0) where the target starts; the features are the other fields, in
    /// their order (a file with the target first: `.first_target = 0`).
    std::size_t first_target = after_features;
};

namespace detail {
inline std::vector<std::string_view> split_fields(std::string_view line, char separator) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = line.find(separator, start);
        std::string_view field = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.remove_prefix(1);
        while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
        fields.push_back(field);
        if (end == std::string_view::npos) return fields;
        start = end + 1;
    }
}

template <class Number>
bool parse_number(std::string_view field, Number& out) {
    if (!field.empty() && field.front() == '+') field.remove_prefix(1);
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), out);
    return error == std::errc{} && end == field.data() + field.size() && !field.empty();
}
}  // namespace detail

namespace detail {
template <class T, class SampleShape, class Target>
dataset<T, SampleShape, Target> parse_csv(std::string_view text, const std::string& path, std::size_t classes, const csv_options& options) {
    constexpr bool labelled = std::is_same_v<Target, class_label>;
    constexpr std::size_t features = SampleShape::size;
    constexpr std::size_t target_fields = [] {
        if constexpr (labelled) return std::size_t{1};
        else return Target::size;
    }();
    const std::size_t first_target = options.first_target == csv_options::after_features ? features : options.first_target;
    if (first_target > features)
        throw std::invalid_argument("metagrad::load_csv: csv_options::first_target is " + std::to_string(first_target) +
                                    ", but a line has only " + std::to_string(features + target_fields) + " fields (" +
                                    std::to_string(features) + " features, " + std::to_string(target_fields) + " target)");
    dataset<T, SampleShape, Target> out;
    if constexpr (labelled) out.classes = classes;

    std::string_view line;
    std::size_t number = 0, declared_samples = 0, samples = 0;
    // The next line, without its '\n' (and '\r'); false at the end of the text.
    const auto next_line = [&] {
        if (text.empty()) return false;
        const std::size_t end = text.find('\n');
        line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        ++number;
        return true;
    };
    const auto where = [&](std::size_t column) {
        return "line " + std::to_string(number) + (column ? ", field " + std::to_string(column) : "");
    };
    while (number < options.skip_lines && next_line()) {
    }
    if (options.sklearn_header) {
        const char* expected = labelled ? "a header line 'samples,features,class names'" : "a header line 'samples,features'";
        if (!next_line()) throw io_error(path, "line " + std::to_string(number + 1), expected, "end of file");
        const auto fields = split_fields(line, options.separator);
        std::size_t declared_features = 0;
        if (fields.size() < 2 || !parse_number(fields[0], declared_samples) || !parse_number(fields[1], declared_features))
            throw io_error(path, where(0), labelled ? "a header 'samples,features,class names'" : "a header 'samples,features'",
                           "'" + std::string(line) + "'");
        if (declared_features != features)
            throw io_error(path, where(2), std::to_string(features) + " features (the network's input)", std::to_string(declared_features));
        // Regression files (the Boston prices) leave the rest of the line empty.
        if (labelled && fields.size() - 2 != classes)
            throw io_error(path, where(0), std::to_string(classes) + " class names", std::to_string(fields.size() - 2));
    }
    const std::uint64_t bytes_per_sample = features * sizeof(T) + (labelled ? sizeof(std::uint32_t) : target_fields * sizeof(T));
    // A field as a finite number of type T, or an error naming it.
    const auto number_at = [&](const std::vector<std::string_view>& fields, std::size_t j) {
        T value{};
        if (!parse_number(fields[j], value) || value != value || value - value != 0)
            throw io_error(path, where(j + 1), "a finite number", "'" + std::string(fields[j]) + "'");
        return value;
    };
    while (next_line()) {
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank lines, e.g. at the end
        const auto fields = split_fields(line, options.separator);
        if (fields.size() != features + target_fields)
            throw io_error(path, where(0),
                           std::to_string(features + target_fields) + " fields (" + std::to_string(features) + " features and " +
                               (labelled ? std::string("a label") : std::to_string(target_fields) + " target values") + ")",
                           std::to_string(fields.size()));
        // A data set may take more room than its text ("1,2,0" is 6 bytes, 12 as two floats and a label).
        if (bytes_per_sample * (samples + 1) > max_read_bytes())
            check_read_limit(path, where(0), bytes_per_sample * (samples + 1), "a data set of " + std::to_string(samples + 1) + " samples");
        for (std::size_t j = 0; j < features + target_fields; ++j) {
            if (j >= first_target && j < first_target + target_fields) continue;
            out.features.push_back(number_at(fields, j));
        }
        if constexpr (labelled) {
            std::uint32_t label = 0;
            if (!parse_number(fields[first_target], label) || label >= classes)
                throw io_error(path, where(first_target + 1), "a class label 0.." + std::to_string(classes - 1),
                               "'" + std::string(fields[first_target]) + "'");
            out.labels.push_back(label);
        } else {
            for (std::size_t j = first_target; j < first_target + target_fields; ++j) out.targets.push_back(number_at(fields, j));
        }
        ++samples;
    }
    if (options.sklearn_header && samples != declared_samples)
        throw io_error(path, "line " + std::to_string(number), std::to_string(declared_samples) + " samples (as line 1 says)",
                       std::to_string(samples));
    if (samples == 0) throw io_error(path, "line " + std::to_string(number), "at least one sample", "none");
    return out;
}
}  // namespace detail

/// Reads a CSV data set whose samples have shape `SampleShape` from a file, a pipe or a device,
/// to its end. Throws `io_error` naming the file, line and column on a missing file, a directory,
/// a file or data set larger than `max_read_bytes()`, a line with the wrong number of fields, a
/// field that is not a number (or not finite), a label that is not an integer below `classes`,
/// or (with `sklearn_header`) counts that disagree with the header.
template <class T, class SampleShape>
dataset<T, SampleShape> load_csv(const std::string& path, std::size_t classes, csv_options options = {}) {
    return detail::reporting_allocation_failure(path, [&] {
        detail::input_file in(path);
        return detail::parse_csv<T, SampleShape, class_label>(in.read_to_end(), path, classes, options);
    });
}

/// `load_csv` for regression: each line holds the features and `TargetShape::size` target values
/// (row-major), the targets after the features unless `options.first_target` says where they
/// start. Throws as the labelled `load_csv` does (a target value must be a finite number), and
/// std::invalid_argument when `first_target` lies past the features.
template <class T, class SampleShape, shape_type TargetShape>
dataset<T, SampleShape, TargetShape> load_csv(const std::string& path, csv_options options = {}) {
    return detail::reporting_allocation_failure(path, [&] {
        detail::input_file in(path);
        return detail::parse_csv<T, SampleShape, TargetShape>(in.read_to_end(), path, 0, options);
    });
}

/// `load_csv` of a file's text held in memory; `name` stands for the file in error messages.
template <class T, class SampleShape>
dataset<T, SampleShape> load_csv_from_memory(std::string_view text, std::size_t classes, csv_options options = {},
                                             const std::string& name = "<memory>") {
    return detail::reporting_allocation_failure(
        name, [&] { return detail::parse_csv<T, SampleShape, class_label>(text, name, classes, options); });
}

/// The regression `load_csv` of a file's text held in memory.
template <class T, class SampleShape, shape_type TargetShape>
dataset<T, SampleShape, TargetShape> load_csv_from_memory(std::string_view text, csv_options options = {},
                                                          const std::string& name = "<memory>") {
    return detail::reporting_allocation_failure(name, [&] { return detail::parse_csv<T, SampleShape, TargetShape>(text, name, 0, options); });
}

}  // namespace metagrad
