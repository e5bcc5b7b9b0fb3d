// metagrad::history: one record per epoch, written as CSV; and early stopping on validation loss.
#pragma once

#include <cstddef>
#include <fstream>
#include <locale>
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
    /// locale). Throws std::runtime_error naming the file if it cannot be written.
    void write_csv(const std::string& path) const {
        std::ofstream out(path);
        out.imbue(std::locale::classic());
        out.precision(9);
        out << "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate,seconds,samples_per_second\n";
        for (const epoch_record& r : epochs)
            out << r.epoch << ',' << r.train_loss << ',' << r.train_accuracy << ',' << r.validation_loss << ','
                << r.validation_accuracy << ',' << r.learning_rate << ',' << r.seconds << ',' << r.samples_per_second << '\n';
        out.flush();
        if (!out) throw std::runtime_error(path + ": could not write the training log");
    }
};

/// Stops training when the validation loss has not improved by more than `min_delta` for
/// `patience` epochs in a row. Its state is two numbers, saved in checkpoints.
struct early_stopping {
    std::size_t patience = 5;
    double min_delta = 0;
    double best = 1e300;
    std::size_t epochs_without_improvement = 0;

    /// Records an epoch's validation loss; true when training should stop.
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
