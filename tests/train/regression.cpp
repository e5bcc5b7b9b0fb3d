// Tests of regression through the data and training areas: data sets with tensor targets
// (include/metagrad/data/dataset.hpp, batches.hpp, normalize.hpp), read from CSV target columns
// (io/csv.hpp), trained and evaluated by train_epoch and evaluate (train/loop.hpp) with their
// regression metrics; and the confusion matrix of a network on a labelled data set.
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "io/files.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

BOOST_AUTO_TEST_CASE(a_regression_data_set_from_csv_target_columns) {
    // Two features, then a target of two values; a header line; spaces, CRLF and a blank line.
    const auto d = mg::load_csv<double, mg::shape<2>, mg::shape<2>>(
        test_files::write("regression.csv", "x1,x2,y1,y2\n1, 2,0.5,-1\r\n3,4,1e2,7\n\n"), {.skip_lines = 1});
    BOOST_TEST(d.size() == 2u);
    BOOST_TEST((d.features == std::vector<double>{1, 2, 3, 4}));
    BOOST_TEST((d.targets == std::vector<double>{0.5, -1, 100, 7}));
    BOOST_TEST(d.target(1)[0] == 100.0);
    // The target first (`first_target = 0`): the features are the fields after it.
    const auto first = mg::load_csv_from_memory<float, mg::shape<2>, mg::shape<1>>("9,1,2\n8,3,4\n", {.first_target = 0});
    BOOST_TEST((first.features == std::vector<float>{1, 2, 3, 4}));
    BOOST_TEST((first.targets == std::vector<float>{9, 8}));
    // Separated by spaces, as scikit-learn's diabetes files.
    const auto spaced = mg::load_csv_from_memory<double, mg::shape<1>, mg::shape<1>>("1 2\n3 4\n", {.separator = ' '});
    BOOST_TEST((spaced.targets == std::vector<double>{2, 4}));
    // The labelled reader is unchanged, and takes first_target too.
    const auto labelled = mg::load_csv_from_memory<double, mg::shape<2>>("1,5,6\n0,7,8\n", 2, {.first_target = 0});
    BOOST_TEST((labelled.labels == std::vector<std::uint32_t>{1, 0}));
    BOOST_TEST((labelled.features == std::vector<double>{5, 6, 7, 8}));
}

BOOST_AUTO_TEST_CASE(a_bad_regression_file_is_named) {
    const auto message = [](const std::string& text, mg::csv_options options = {}) {
        try {
            (void)mg::load_csv_from_memory<double, mg::shape<2>, mg::shape<2>>(text, options, "r.csv");
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    BOOST_TEST(message("1,2,3\n").find("line 1: expected 4 fields (2 features and 2 target values)") != std::string::npos,
               message("1,2,3\n"));
    BOOST_TEST(message("1,2,3,x\n").find("r.csv: line 1, field 4: expected a finite number, found 'x'") != std::string::npos,
               message("1,2,3,x\n"));
    BOOST_TEST(message("1,2,3,inf\n").find("field 4") != std::string::npos);
    BOOST_TEST(message("").find("at least one sample") != std::string::npos);
    BOOST_TEST(message("1,2,3,4\n", {.first_target = 3}).find("first_target is 3") != std::string::npos);
    // scikit-learn's header, "samples,features" with nothing after it, is checked.
    BOOST_TEST(message("2,2,,\n1,2,3,4\n", {.sklearn_header = true}).find("2 samples (as line 1 says)") != std::string::npos);
    const auto headed = mg::load_csv_from_memory<double, mg::shape<2>, mg::shape<2>>("1,2,,\n1,2,3,4\n", {.sklearn_header = true});
    BOOST_TEST(headed.size() == 1u);
}

namespace {
// y = (x0 - 2 x1 + x0 x1, x0 + 0.5) from a grid: a smooth target a small network can fit.
mg::dataset<double, mg::shape<2>, mg::shape<2>> grid(std::size_t n) {
    mg::dataset<double, mg::shape<2>, mg::shape<2>> d;
    for (std::size_t i = 0; i < n; ++i) {
        const double x0 = -1 + 2.0 * static_cast<double>(i % 8) / 7, x1 = -1 + 2.0 * static_cast<double>((i * 5) % 13) / 12;
        d.features.insert(d.features.end(), {x0, x1});
        d.targets.insert(d.targets.end(), {x0 - 2 * x1 + x0 * x1, x0 + 0.5});
    }
    return d;
}
}  // namespace

BOOST_AUTO_TEST_CASE(slices_shuffles_and_standardizing_keep_targets_with_their_samples) {
    auto d = grid(40);
    mg::random_generator g(5);
    mg::shuffle(d, g);
    const auto s = d.slice(10, 30);
    BOOST_TEST(s.size() == 20u);
    bool moved = false;
    const auto original = grid(40);
    for (std::size_t i = 0; i < s.size(); ++i) {
        const double x0 = s.sample(i)[0], x1 = s.sample(i)[1];
        BOOST_TEST(s.target(i)[0] == x0 - 2 * x1 + x0 * x1);
        BOOST_TEST(s.target(i)[1] == x0 + 0.5);
        moved = moved || s.sample(i)[0] != original.sample(i + 10)[0] || s.sample(i)[1] != original.sample(i + 10)[1];
    }
    BOOST_TEST(moved);  // the shuffle did move samples
    BOOST_CHECK_THROW((void)d.slice(30, 41), std::out_of_range);

    auto standardized = d;
    const auto targets = mg::standardizer<double, mg::shape<2>>::fit_targets(standardized);
    targets.apply_to_targets(standardized);
    double sum = 0, square = 0;
    for (std::size_t i = 0; i < standardized.size(); ++i) sum += standardized.target(i)[1], square += standardized.target(i)[1] * standardized.target(i)[1];
    BOOST_TEST(sum / 40 == 0.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(std::abs(square / 40 - 1) < 1e-12);
    BOOST_TEST(targets.restore(standardized.target(7)[0], 0) == d.target(7)[0], boost::test_tools::tolerance(1e-12));
    BOOST_TEST((standardized.features == d.features));  // the features are left alone
}

namespace {
using regressor = mg::sequential<mg::input<2>, mg::dense<16>, mg::tanh_layer, mg::dense<2>>;
constexpr std::size_t batch = 8;

struct regression_run {
    std::unique_ptr<regressor::parameters<double>> p = std::make_unique<regressor::parameters<double>>();
    std::unique_ptr<mg::training_memory<regressor, double, batch, mg::shape<2>>> memory =
        std::make_unique<mg::training_memory<regressor, double, batch, mg::shape<2>>>();
    mg::adam<regressor, double> optimizer{mg::adam_options<double>{.learning_rate = 1e-2}};
    mg::training_position position{.shuffle = mg::random_generator(3)};
    regression_run() {
        mg::random_generator g(1);
        mg::initialize(*p, mg::glorot_uniform{}, g);
    }
    mg::regression_metrics epoch(const mg::dataset<double, mg::shape<2>, mg::shape<2>>& data) {
        return mg::train_epoch(*p, optimizer, mg::constant_rate{1e-2}, data, mg::squared_error{}, position, *memory,
                               [](std::size_t, std::size_t, const mg::regression_metrics&) {});
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(evaluate_reports_the_errors_of_every_sample) {
    // 13 samples in batches of 8: the padding of the second batch must not count.
    const auto data = grid(13);
    regression_run run;
    const auto m = mg::evaluate(*run.p, data, mg::squared_error{}, *run.memory);
    double loss = 0, square = 0, absolute = 0, mean[2] = {0, 0};
    for (std::size_t i = 0; i < data.size(); ++i)
        for (std::size_t j = 0; j < 2; ++j) mean[j] += data.target(i)[j] / 13;
    double total[2] = {0, 0}, error[2] = {0, 0};
    for (std::size_t i = 0; i < data.size(); ++i) {
        mg::tensor<double, mg::shape<2>> x{{data.sample(i)[0], data.sample(i)[1]}};
        const auto y = regressor::forward(*run.p, x);
        double sample_loss = 0;
        for (std::size_t j = 0; j < 2; ++j) {
            const double e = y[j] - data.target(i)[j];
            sample_loss += 0.5 * e * e;
            square += e * e, absolute += std::abs(e);
            error[j] += e * e;
            total[j] += (data.target(i)[j] - mean[j]) * (data.target(i)[j] - mean[j]);
        }
        loss += sample_loss / 13;
    }
    const auto close = boost::test_tools::tolerance(1e-12);
    BOOST_TEST(m.samples == 13u);
    BOOST_TEST(m.loss() == loss, close);
    BOOST_TEST(m.mse() == square / 26, close);
    BOOST_TEST(m.mae() == absolute / 26, close);
    BOOST_TEST(m.r2() == (2 - error[0] / total[0] - error[1] / total[1]) / 2, close);
}

BOOST_AUTO_TEST_CASE(train_epoch_fits_a_regression) {
    const auto data = grid(64);
    regression_run run;
    const double before = mg::evaluate(*run.p, data, mg::squared_error{}, *run.memory).mse();
    mg::regression_metrics last;
    for (int e = 0; e < 60; ++e) last = run.epoch(data);
    const auto after = mg::evaluate(*run.p, data, mg::squared_error{}, *run.memory);
    BOOST_TEST_MESSAGE("MSE " << before << " -> " << after.mse() << ", R² " << after.r2());
    BOOST_TEST(last.samples == 64u);  // 8 whole batches an epoch
    BOOST_TEST(after.mse() < before / 20);
    BOOST_TEST(after.r2() > 0.95);
    BOOST_TEST(run.position.epoch == 60u);
}

BOOST_AUTO_TEST_CASE(regression_is_the_same_on_one_and_two_threads) {
    const auto data = grid(64);
    const auto train = [&](unsigned threads) {
        mg::set_thread_count(threads, mg::thread_sharing::always);
        regression_run run;
        for (int e = 0; e < 5; ++e) run.epoch(data);
        const auto m = mg::evaluate(*run.p, data, mg::squared_error{}, *run.memory);
        mg::set_thread_count(1);
        return std::pair{*run.p, m};
    };
    const auto [p1, m1] = train(1);
    const auto [p2, m2] = train(2);
    BOOST_TEST((p1 == p2));
    BOOST_TEST(m1.mse() == m2.mse());
    BOOST_TEST(m1.r2() == m2.r2());
    BOOST_TEST(m1.loss() == m2.loss());
}

BOOST_AUTO_TEST_CASE(the_confusion_matrix_of_a_network) {
    // A network that outputs its input: it predicts the larger of two features.
    using net = mg::sequential<mg::dense<2, 2>>;
    net::parameters<float> p;
    p.layer<0>().weight = mg::tensor<float, mg::shape<2, 2>>{{1, 0, 0, 1}};
    p.layer<0>().bias = {};
    mg::dataset<float, mg::shape<2>> d;
    d.classes = 2;
    // (label, predicted): (0, 0) twice, (0, 1), (1, 1) three times, (1, 0) once: 7 samples,
    // batches of 4 with one padded.
    const float rows[][2] = {{1, 0}, {2, 1}, {0, 1}, {0, 3}, {1, 2}, {0, 1}, {5, 4}};
    const std::uint32_t labels[] = {0, 0, 0, 1, 1, 1, 1};
    for (std::size_t i = 0; i < 7; ++i) d.features.insert(d.features.end(), {rows[i][0], rows[i][1]}), d.labels.push_back(labels[i]);
    mg::training_memory<net, float, 4> memory;
    const auto m = mg::confusion_matrix_of(p, d, memory);
    BOOST_TEST(m.count(0, 0) == 2u);
    BOOST_TEST(m.count(0, 1) == 1u);
    BOOST_TEST(m.count(1, 0) == 1u);
    BOOST_TEST(m.count(1, 1) == 3u);
    BOOST_TEST(m.samples() == 7u);
    BOOST_TEST(m.accuracy() == mg::evaluate(p, d, mg::softmax_cross_entropy{}, memory).accuracy());
    BOOST_TEST(m.precision(1) == 0.75);
    BOOST_TEST(m.recall(0) == 2.0 / 3);
}
