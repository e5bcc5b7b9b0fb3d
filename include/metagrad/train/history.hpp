// metagrad::history: one record per epoch, written as CSV; and early stopping on validation loss.
#pragma once

#include <array>
#include <cstddef>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>
#include <stdexcept>
#include <string>
#include <vector>

namespace metagrad {

/// What one epoch measured.
struct epoch_record {
    std::size_t epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;
    double validation_loss = 0, validation_accuracy = 0;
    double learning_rate = 0;
    double seconds = 0, samples_per_second = 0;
};

/// The learning curves of a run: one `epoch_record` per epoch, in order.
struct history {
    std::vector<epoch_record> epochs;

    void add(const epoch_record& r) { epochs.push_back(r); }

    /// Writes a header line and one line per epoch (full precision, '.' decimal point whatever the
    /// locale). Throws std::runtime_error naming the file if it cannot be written. A value that is
    /// not finite is written as "nan", "inf" or "-inf" (see `csv`), and said on standard error,
    /// field by field: a log is a record of what happened, so it keeps the value, but no one
    /// should find it there by surprise. Through <cstdio>, not file and standard streams, which
    /// would cost every program that includes the training loop about 0.2 s of parsing.
    void write_csv(const std::string& path) const {
        write_file(path);
        const std::string bad = non_finite_fields();
        if (!bad.empty()) std::fprintf(stderr, "metagrad: %s: values that are not finite, written as such: %s\n", path.c_str(), bad.c_str());
    }
    /// The same, saying the values that are not finite on `warnings` (a std::ostream, or anything
    /// that takes strings by <<).
    template <class Stream>
    void write_csv(const std::string& path, Stream& warnings) const {
        write_file(path);
        const std::string bad = non_finite_fields();
        if (!bad.empty()) warnings << std::string("metagrad: ") + path + ": values that are not finite, written as such: " + bad + "\n";
    }

    /// The CSV text: numbers in their shortest form that reads back exactly (std::to_chars),
    /// so that a history saved in a checkpoint is restored bit for bit. Values that are not
    /// finite are "nan", "inf" and "-inf", words that `from_csv`, Python's float() and pandas
    /// read back (the sign of a NaN, which to_chars writes as "-nan", is dropped: it means nothing).
    std::string csv() const {
        std::string out = std::string(header) + "\n";
        for (const epoch_record& r : epochs) {
            out += std::to_string(r.epoch);
            for (const double v : fields(r)) {
                char text[32];
                const auto end = v != v ? std::strcpy(text, "nan") + 3 : std::to_chars(text, text + sizeof text, v).ptr;
                out += ',' + std::string(text, end);
            }
            out += '\n';
        }
        return out;
    }

    /// "epoch 3 validation_loss nan, epoch 4 train_loss inf": every field that is not finite, or
    /// an empty string.
    std::string non_finite_fields() const {
        std::string out;
        for (const epoch_record& r : epochs) {
            const auto values = fields(r);
            for (std::size_t i = 0; i < values.size(); ++i)
                if (!(values[i] - values[i] == 0))  // NaN or infinite: <cmath>'s isfinite, without <cmath>
                    out += (out.empty() ? "" : ", ") + std::string("epoch ") + std::to_string(r.epoch) + " " +
                           std::string(field_names[i]) + (values[i] != values[i] ? " nan" : values[i] > 0 ? " inf" : " -inf");
        }
        return out;
    }

    /// Reads what `csv()` wrote; throws std::invalid_argument naming the line on anything else.
    static history from_csv(std::string_view text) {
        history h;
        std::size_t line_number = 0;
        while (!text.empty()) {
            const std::size_t newline = text.find('\n');
            const std::string_view line = text.substr(0, newline);
            text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
            if (++line_number == 1) {
                if (line != header) throw std::invalid_argument("training history: line 1 is not the expected header");
                continue;
            }
            epoch_record r;
            double* fields[] = {&r.train_loss, &r.train_accuracy, &r.validation_loss, &r.validation_accuracy,
                                &r.learning_rate, &r.seconds, &r.samples_per_second};
            const char* p = line.data();
            const char* end = line.data() + line.size();
            auto [next, error] = std::from_chars(p, end, r.epoch);
            bool ok = error == std::errc{};
            for (double* field : fields) {
                if (!ok || next == end || *next != ',') { ok = false; break; }
                auto [after, e] = std::from_chars(next + 1, end, *field);
                ok = e == std::errc{};
                next = after;
            }
            if (!ok || next != end) throw std::invalid_argument("training history: line " + std::to_string(line_number) + " is not a record");
            h.epochs.push_back(r);
        }
        return h;
    }

    static constexpr std::string_view header =
        "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate,seconds,samples_per_second";
    static constexpr std::array<std::string_view, 7> field_names{"train_loss",          "train_accuracy", "validation_loss",
                                                                 "validation_accuracy", "learning_rate",  "seconds",
                                                                 "samples_per_second"};

private:
    void write_file(const std::string& path) const {
        const std::string text = csv();
        std::FILE* out = std::fopen(path.c_str(), "w");
        if (out == nullptr) throw std::runtime_error(path + ": could not write the training log");
        const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
        // Closing flushes: a full disk shows here, as a failed close.
        if (std::fclose(out) != 0 || !written) throw std::runtime_error(path + ": could not write the training log");
    }
    static std::array<double, 7> fields(const epoch_record& r) {
        return {r.train_loss, r.train_accuracy, r.validation_loss, r.validation_accuracy, r.learning_rate, r.seconds, r.samples_per_second};
    }
};

/// Stops training when the validation loss has not improved by more than `min_delta` for
/// `patience` epochs in a row. Its state is two numbers, saved in checkpoints.
struct early_stopping {
    std::size_t patience = 5;
    double min_delta = 0;
    double best = 1e300;
    std::size_t epochs_without_improvement = 0;

    /// Records an epoch's validation loss; true when training should stop. A NaN loss compares
    /// false, so it counts as an epoch without improvement (`evaluate` throws on one by default).
    bool should_stop(double validation_loss) {
        if (validation_loss < best - min_delta) {
            best = validation_loss;
            epochs_without_improvement = 0;
        } else {
            ++epochs_without_improvement;
        }
        return epochs_without_improvement >= patience;
    }
    /// Whether the last epoch recorded was the best so far (keep its weights).
    bool improved() const { return epochs_without_improvement == 0; }
};

}  // namespace metagrad
