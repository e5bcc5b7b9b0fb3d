// metagrad::confusion_matrix: counts of true against predicted classes, with precision, recall and F1.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
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
        const auto name = [&](std::size_t c) { return c < names.size() ? names[c] : std::to_string(c); };
        std::size_t width = 9;
        for (std::size_t c = 0; c < classes_; ++c) width = std::max(width, name(c).size() + 1);
        for (std::size_t c = 0; c < classes_; ++c) width = std::max(width, std::to_string(support(c)).size() + 1);
        bool any_unpredicted = false;
        for (std::size_t c = 0; c < classes_; ++c) any_unpredicted = any_unpredicted || unpredicted_[c] > 0;
        const auto cell = [&](const std::string& text) { return std::string(width - std::min(width, text.size()), ' ') + text; };
        const auto number = [](double v) {
            char text[32];
            std::snprintf(text, sizeof text, "%.4f", v);
            return std::string(text);
        };
        std::string out = cell("true\\pred");
        for (std::size_t p = 0; p < classes_; ++p) out += cell(name(p));
        if (any_unpredicted) out += cell("none");
        out += '\n';
        for (std::size_t t = 0; t < classes_; ++t) {
            out += cell(name(t));
            for (std::size_t p = 0; p < classes_; ++p) out += cell(std::to_string(count(t, p)));
            if (any_unpredicted) out += cell(std::to_string(unpredicted_[t]));
            out += '\n';
        }
        out += '\n' + cell("class") + cell("precision") + cell("recall") + cell("f1") + cell("support") + '\n';
        for (std::size_t c = 0; c < classes_; ++c)
            out += cell(name(c)) + cell(number(precision(c))) + cell(number(recall(c))) + cell(number(f1(c))) +
                   cell(std::to_string(support(c))) + '\n';
        out += cell("macro") + cell(number(macro_precision())) + cell(number(macro_recall())) + cell(number(macro_f1())) +
               cell(std::to_string(samples())) + '\n';
        out += cell("accuracy") + cell("") + cell("") + cell(number(accuracy())) + cell(std::to_string(samples())) + '\n';
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
