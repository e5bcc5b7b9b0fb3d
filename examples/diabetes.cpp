// Regression on scikit-learn's diabetes data set (442 patients, 10 features: age, sex, body mass
// index, blood pressure and six blood serum measurements; the target is a measure of the
// disease's progression a year later), read from the gzip-compressed files Debian's
// python3-sklearn ships. A small network is trained on standardized features and target, and
// its test MAE and R² are printed beside those of a least-squares linear model fitted here to
// the same training samples (the normal equations, solved by Cholesky). The network starts from
// that linear fit and learns a correction. Exits 1 unless it beats the baseline on both (with
// the default seed; over seeds 1 to 10 it does on 8 splits: on this data a line is hard to beat).
//
//   diabetes [--data DIR] [--epochs N] [--seed S]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <zlib.h>

#include <metagrad/metagrad.hpp>

#include "whole_number.hpp"

namespace mg = metagrad;

// [network]
// A linear branch beside a small tanh layer, summed: the network starts as the least-squares
// line (below) and learns what the line misses.
using network = mg::sequential<mg::input<10>,
                               mg::parallel<mg::merge::sum, mg::dense<1>, mg::chain<mg::dense<16>, mg::tanh_layer, mg::dense<1>>>>;
constexpr std::size_t batch_size = 16;
// [network]
using features = mg::shape<10>;
using target = mg::shape<1>;
using data_set = mg::dataset<double, features, target>;

// A text file, gzip-compressed or not (zlib reads both).
std::string read_text(const std::string& path) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) throw std::runtime_error(path + ": cannot open");
    std::string text;
    char buffer[1 << 14];
    int got = 0;
    while ((got = gzread(file, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
    const bool failed = got < 0;
    gzclose(file);
    if (failed) throw std::runtime_error(path + ": cannot decompress");
    return text;
}

// The features file and the target file side by side: line i of one, a space, line i of the other.
std::string join_columns(const std::string& left, const std::string& right) {
    std::string out;
    std::size_t a = 0, b = 0;
    while (a < left.size() && b < right.size()) {
        const std::size_t end_a = std::min(left.find('\n', a), left.size()), end_b = std::min(right.find('\n', b), right.size());
        out.append(left, a, end_a - a).append(" ").append(right, b, end_b - b).append("\n");
        a = end_a + 1, b = end_b + 1;
    }
    if (a < left.size() || b < right.size()) throw std::runtime_error("the features and target files have different numbers of lines");
    return out;
}

// [baseline]
// Least squares with an intercept: w minimizing ||A w - y||^2 for A = [1 x], from the normal
// equations (A^T A) w = A^T y, solved by Cholesky (A^T A is symmetric positive definite when the
// features are not collinear). 11 unknowns: the cost is one pass over the data.
std::vector<double> least_squares(const data_set& d) {
    constexpr std::size_t n = features::size + 1;
    std::vector<double> m(n * n), w(n);
    for (std::size_t i = 0; i < d.size(); ++i) {
        double row[n] = {1};
        for (std::size_t j = 1; j < n; ++j) row[j] = d.sample(i)[j - 1];
        for (std::size_t j = 0; j < n; ++j) {
            w[j] += row[j] * d.target(i)[0];
            for (std::size_t k = 0; k < n; ++k) m[j * n + k] += row[j] * row[k];
        }
    }
    for (std::size_t j = 0; j < n; ++j) {  // m = L L^T, L stored in the lower triangle
        for (std::size_t k = 0; k < j; ++k) {
            for (std::size_t l = 0; l < k; ++l) m[j * n + k] -= m[j * n + l] * m[k * n + l];
            m[j * n + k] /= m[k * n + k];
        }
        for (std::size_t l = 0; l < j; ++l) m[j * n + j] -= m[j * n + l] * m[j * n + l];
        if (!(m[j * n + j] > 0)) throw std::runtime_error("least squares: the features are collinear");
        m[j * n + j] = std::sqrt(m[j * n + j]);
    }
    for (std::size_t j = 0; j < n; ++j) {  // L z = A^T y
        for (std::size_t l = 0; l < j; ++l) w[j] -= m[j * n + l] * w[l];
        w[j] /= m[j * n + j];
    }
    for (std::size_t j = n; j-- > 0;) {  // L^T w = z
        for (std::size_t l = j + 1; l < n; ++l) w[j] -= m[l * n + j] * w[l];
        w[j] /= m[j * n + j];
    }
    return w;
}
// [baseline]

int main(int argc, char** argv) try {
    std::string dir = "/usr/lib/python3/dist-packages/sklearn/datasets/data";
    std::size_t epochs = 100;
    std::uint64_t seed = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--data") dir = value;
        else if (flag == "--epochs") epochs = whole_number(argv[0], flag, value);
        else if (flag == "--seed") seed = whole_number(argv[0], flag, value);
        else throw std::invalid_argument("unknown option " + flag);
    }

    // [data]
    // Ten space-separated features a line in one file, the target in another: joined, they are
    // a CSV data set whose last field is the target.
    const std::string text = join_columns(read_text(dir + "/diabetes_data_raw.csv.gz"), read_text(dir + "/diabetes_target.csv.gz"));
    auto all = mg::load_csv_from_memory<double, features, target>(text, {.separator = ' '}, dir + "/diabetes_*.csv.gz");
    mg::random_generator split(seed);
    mg::shuffle(all, split);
    const std::size_t test_size = all.size() / 5;
    auto test = all.slice(0, test_size);
    auto train = all.slice(test_size, all.size());
    // Features and target standardized with the training set's statistics only.
    const auto scaling = mg::standardizer<double, features>::fit(train);
    const auto target_scaling = mg::standardizer<double, target>::fit_targets(train);
    for (auto* d : {&train, &test}) scaling.apply(*d), target_scaling.apply_to_targets(*d);
    // [data]
    std::printf("diabetes: %zu training, %zu test samples\n", train.size(), test.size());
    const double unit = target_scaling.deviation[0];  // MAE back in the target's units

    // The baseline, fitted to the training set.
    const std::vector<double> w = least_squares(train);

    // [start]
    // The network starts as the baseline: its linear branch holds the least-squares weights and
    // the tanh branch's output weights are zero, so training moves from the linear fit only where
    // the gradient finds structure it misses.
    network::parameters<double> parameters;
    mg::random_generator init(seed + 1);
    mg::initialize(parameters, mg::glorot_uniform{}, init);
    auto& linear = parameters.layer<1>().at<0>();
    linear.bias[0] = w[0];
    for (std::size_t j = 0; j < features::size; ++j) linear.weight[j] = w[j + 1];
    parameters.layer<1>().at<1>().at<2>().weight = {};
    // [start]
    // Small steps and strong weight decay: 354 samples do not support much beyond a line.
    const double rate = 1e-3;
    mg::adamw<network, double> optimizer({.learning_rate = rate, .weight_decay = 0.1});
    mg::training_memory<network, double, batch_size, target> memory;
    mg::training_position position{.shuffle = mg::random_generator(seed + 2)};
    const mg::cosine_decay schedule{.initial = rate, .final = rate / 100, .steps = epochs * (train.size() / batch_size)};

    // [train]
    for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
        const auto fit = mg::train_epoch(parameters, optimizer, schedule, train, mg::squared_error{}, position, memory,
                                         [](std::size_t, std::size_t, const mg::regression_metrics&) {});
        if (epoch % 25 == 24 || epoch + 1 == epochs)
            std::printf("epoch %3zu  training MSE %.4f  R² %.4f\n", epoch + 1, fit.mse(), fit.r2());
    }
    const auto result = mg::evaluate(parameters, test, mg::squared_error{}, memory);
    // [train]

    // The baseline, scored by the same metrics.
    std::vector<double> predictions(test.size());
    for (std::size_t i = 0; i < test.size(); ++i) {
        predictions[i] = w[0];
        for (std::size_t j = 0; j < features::size; ++j) predictions[i] += w[j + 1] * test.sample(i)[j];
    }
    mg::regression_metrics baseline;
    baseline.add(0.0, std::span<const double>(predictions), std::span<const double>(test.targets), test.size(), 1);

    std::printf("test (%zu samples)          MAE     R²\n", test.size());
    std::printf("  network                 %6.2f  %.4f\n", result.mae() * unit, result.r2());
    std::printf("  least-squares baseline  %6.2f  %.4f\n", baseline.mae() * unit, baseline.r2());
    const bool beats = result.mae() < baseline.mae() && result.r2() > baseline.r2();
    std::printf("beats the least-squares baseline: %s\n", beats ? "yes" : "no");
    return beats ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "diabetes: " << e.what() << '\n';
    return 2;
}
