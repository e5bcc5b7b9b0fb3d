// metagrad::confusion_matrix: counts of true against predicted classes, with precision, recall and F1.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// `count(t, p)`: how many samples of true class `t` were predicted as class `p` (rows are true
/// classes, columns predictions, as scikit-learn's `confusion_matrix`). A sample whose scores
/// hold a NaN predicts no class: it is counted in `unpredicted(t)`, so it lowers recall (and
/// accuracy, as `count_correct` counts it wrong) without being charged to any class's precision.
/// A class with nothing to divide by (no predictions, no samples) has precision, recall or F1 0,
/// scikit-learn's `zero_division=0`.
class confusion_matrix {
public:
    explicit confusion_matrix(std::size_t classes) : classes_(classes), counts_(classes * classes), unpredicted_(classes) {}

    std::size_t classes() const { return classes_; }

    /// One sample of class `truth` predicted as `predicted`; `predicted == classes()` means none.
    void add(std::size_t truth, std::size_t predicted) {
        if (truth >= classes_ || predicted > classes_)
            throw std::out_of_range("metagrad::confusion_matrix::add: class " + std::to_string(truth) + " predicted as " +
                                    std::to_string(predicted) + " in a matrix of " + std::to_string(classes_) + " classes");
        if (predicted == classes_) ++unpredicted_[truth];
        else ++counts_[truth * classes_ + predicted];
    }

    std::size_t count(std::size_t truth, std::size_t predicted) const { return counts_.at(truth * classes_ + predicted); }
    std::size_t unpredicted(std::size_t truth) const { return unpredicted_.at(truth); }
    /// Samples of class `c`.
    std::size_t support(std::size_t c) const {
        std::size_t n = unpredicted_.at(c);
        for (std::size_t p = 0; p < classes_; ++p) n += counts_[c * classes_ + p];
        return n;
    }
    /// Samples predicted as class `c`.
    std::size_t predicted(std::size_t c) const {
        std::size_t n = 0;
        for (std::size_t t = 0; t < classes_; ++t) n += counts_.at(t * classes_ + c);
        return n;
    }
    std::size_t samples() const {
        std::size_t n = 0;
        for (std::size_t c = 0; c < classes_; ++c) n += support(c);
        return n;
    }

    double precision(std::size_t c) const { return ratio(count(c, c), predicted(c)); }
    double recall(std::size_t c) const { return ratio(count(c, c), support(c)); }
    /// The harmonic mean of precision and recall: 2 tp / (2 tp + fp + fn).
    double f1(std::size_t c) const { return ratio(2 * count(c, c), predicted(c) + support(c)); }
    double accuracy() const {
        std::size_t right = 0;
        for (std::size_t c = 0; c < classes_; ++c) right += counts_[c * classes_ + c];
        return ratio(right, samples());
    }
    /// Unweighted means over classes (scikit-learn's average='macro').
    double macro_precision() const { return macro(&confusion_matrix::precision); }
    double macro_recall() const { return macro(&confusion_matrix::recall); }
    double macro_f1() const { return macro(&confusion_matrix::f1); }

    /// The matrix (rows true, columns predicted; a "none" column when a sample predicted no
    /// class), then per class its precision, recall, F1 and support, and the macro averages and
    /// accuracy: a text table for a terminal or a log. `names`, when given, label the classes.
    std::string table(const std::vector<std::string>& names = {}) const {
        // Cell by cell into one string, numbers through one buffer: the function is compiled into
        // every program that prints a table, and written with temporary strings joined by + it
        // was 14 KB of code.
        char buffer[32];
        const auto whole = [&](std::size_t v) {
            return std::string_view(buffer, static_cast<std::size_t>(std::snprintf(buffer, sizeof buffer, "%zu", v)));
        };
        const auto number = [&](double v) {
            return std::string_view(buffer, static_cast<std::size_t>(std::snprintf(buffer, sizeof buffer, "%.4f", v)));
        };
        const auto name = [&](std::size_t c) { return c < names.size() ? std::string_view(names[c]) : whole(c); };
        std::size_t width = 9;
        for (std::size_t c = 0; c < classes_; ++c) width = std::max({width, name(c).size() + 1, whole(support(c)).size() + 1});
        bool any_unpredicted = false;
        for (std::size_t c = 0; c < classes_; ++c) any_unpredicted = any_unpredicted || unpredicted_[c] > 0;
        std::string out;
        const auto cell = [&](std::string_view text) { out.append(width - std::min(width, text.size()), ' ').append(text); };
        cell("true\\pred");
        for (std::size_t p = 0; p < classes_; ++p) cell(name(p));
        if (any_unpredicted) cell("none");
        out += '\n';
        for (std::size_t t = 0; t < classes_; ++t) {
            cell(name(t));
            for (std::size_t p = 0; p < classes_; ++p) cell(whole(count(t, p)));
            if (any_unpredicted) cell(whole(unpredicted_[t]));
            out += '\n';
        }
        out += '\n';
        for (const char* heading : {"class", "precision", "recall", "f1", "support"}) cell(heading);
        out += '\n';
        const auto scores = [&](std::string_view label, double precision_, double recall_, double f1_, std::size_t support_) {
            cell(label);
            cell(number(precision_));
            cell(number(recall_));
            cell(number(f1_));
            cell(whole(support_));
            out += '\n';
        };
        for (std::size_t c = 0; c < classes_; ++c) {
            // The name first: a class without one is numbered in the same buffer as the scores.
            const std::string label(name(c));
            scores(label, precision(c), recall(c), f1(c), support(c));
        }
        scores("macro", macro_precision(), macro_recall(), macro_f1(), samples());
        cell("accuracy");
        cell("");
        cell("");
        cell(number(accuracy()));
        cell(whole(samples()));
        out += '\n';
        return out;
    }

private:
    static double ratio(std::size_t a, std::size_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }
    double macro(double (confusion_matrix::*per_class)(std::size_t) const) const {
        double sum = 0;
        for (std::size_t c = 0; c < classes_; ++c) sum += (this->*per_class)(c);
        return classes_ ? sum / static_cast<double>(classes_) : 0.0;
    }

    std::size_t classes_;
    std::vector<std::size_t> counts_, unpredicted_;
};

/// The class a row of scores predicts: the largest score (ties to the lower class), or `Classes`
/// (none) when a score is NaN, as `count_correct` decides.
template <class T, std::size_t Batch, std::size_t Classes>
constexpr std::size_t predicted_class(const tensor<T, shape<Batch, Classes>>& scores, std::size_t row) {
    std::size_t best = 0;
    bool nan = false;
    for (std::size_t c = 0; c < Classes; ++c) {
        const T s = scores[row * Classes + c];
        nan = nan || s != s;
        if (s > scores[row * Classes + best]) best = c;
    }
    return nan ? Classes : best;
}

}  // namespace metagrad
