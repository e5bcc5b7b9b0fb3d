// Tests of include/metagrad/train/regression_metrics.hpp and confusion_matrix.hpp against values
// computed by hand (and checked with scikit-learn's r2_score, confusion_matrix and
// precision_recall_fscore_support).
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "metagrad/train/confusion_matrix.hpp"
#include "metagrad/train/regression_metrics.hpp"

namespace mg = metagrad;

namespace {
mg::regression_metrics measured(const std::vector<double>& predictions, const std::vector<double>& targets, std::size_t outputs) {
    mg::regression_metrics m;
    m.add(0.0, std::span<const double>(predictions), std::span<const double>(targets), targets.size() / outputs, outputs);
    return m;
}
}  // namespace

BOOST_AUTO_TEST_CASE(errors_of_known_residuals) {
    // Residuals 1, 0, -1, 2 about targets of mean 2.5: MSE 6/4, MAE 4/4, R² = 1 - 6/5.
    const auto m = measured({2, 2, 2, 6}, {1, 2, 3, 4}, 1);
    BOOST_TEST(m.samples == 4u);
    BOOST_TEST(m.mse() == 1.5, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(m.mae() == 1.0, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(m.rmse() == std::sqrt(1.5), boost::test_tools::tolerance(1e-15));
    BOOST_TEST(m.r2() == -0.2, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(r2_of_a_perfect_and_of_a_mean_predictor) {
    const std::vector<double> targets{3, -1, 4, 1, 5, 9};
    BOOST_TEST(measured(targets, targets, 1).r2() == 1.0);
    BOOST_TEST(measured(targets, targets, 1).mse() == 0.0);
    const std::vector<double> mean(6, 21.0 / 6);
    BOOST_TEST(measured(mean, targets, 1).r2() == 0.0, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(batches_add_up_and_padding_is_not_read) {
    // The same four samples as two batches of two, each followed by a padding row of garbage.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> p1{2, 2, nan}, t1{1, 2, nan}, p2{2, 6, nan}, t2{3, 4, nan};
    mg::regression_metrics m;
    m.add(0.5, std::span<const double>(p1), std::span<const double>(t1), 2, 1);
    m.add(2.5, std::span<const double>(p2), std::span<const double>(t2), 2, 1);
    BOOST_TEST(m.samples == 4u);
    BOOST_TEST(m.loss() == 1.5);  // the mean of the batches' mean losses, weighted by rows
    BOOST_TEST(m.mse() == 1.5, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(m.r2() == -0.2, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(r2_averages_the_outputs) {
    // Output 0 is predicted exactly (R² 1), output 1 by its mean (R² 0): 0.5, as scikit-learn's
    // uniform average says; pooling the sums (1 - 2/52) would give 0.96.
    const auto m = measured({0, 2, 10, 2}, {0, 1, 10, 3}, 2);
    BOOST_TEST(m.outputs() == 2u);
    BOOST_TEST(m.r2() == 0.5, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(m.mse() == 0.5, boost::test_tools::tolerance(1e-15));  // squared errors 0, 1, 0, 1
    // A constant target: 1 when predicted exactly, else 0 (no division by zero).
    BOOST_TEST(measured({5, 5}, {5, 5}, 1).r2() == 1.0);
    BOOST_TEST(measured({5, 6}, {5, 5}, 1).r2() == 0.0);
}

BOOST_AUTO_TEST_CASE(r2_of_large_targets_keeps_its_digits) {
    // Targets 1e9 + {0, 1, 2, 3}: sums of squares would lose the spread to cancellation.
    const auto m = measured({1e9 + 0.5, 1e9 + 0.5, 1e9 + 2.5, 1e9 + 2.5}, {1e9, 1e9 + 1, 1e9 + 2, 1e9 + 3}, 1);
    BOOST_TEST(m.r2() == 0.8, boost::test_tools::tolerance(1e-12));  // 1 - 1 / 5
}

namespace {
// True and predicted classes: row t of the matrix is 3 1 0 / 0 2 1 / 0 1 2.
mg::confusion_matrix three_classes() {
    mg::confusion_matrix m(3);
    const std::size_t truth[] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2}, predicted[] = {0, 0, 0, 1, 1, 1, 2, 1, 2, 2};
    for (std::size_t i = 0; i < 10; ++i) m.add(truth[i], predicted[i]);
    return m;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_confusion_matrix_by_hand) {
    const auto m = three_classes();
    const std::size_t expected[3][3] = {{3, 1, 0}, {0, 2, 1}, {0, 1, 2}};
    for (std::size_t t = 0; t < 3; ++t)
        for (std::size_t p = 0; p < 3; ++p) BOOST_TEST(m.count(t, p) == expected[t][p]);
    BOOST_TEST(m.support(0) == 4u);
    BOOST_TEST(m.predicted(1) == 4u);
    BOOST_TEST(m.samples() == 10u);
    const auto close = boost::test_tools::tolerance(1e-15);
    // Precision: of the predictions of a class, the right ones; recall: of its samples.
    BOOST_TEST(m.precision(0) == 1.0, close);
    BOOST_TEST(m.precision(1) == 0.5, close);
    BOOST_TEST(m.precision(2) == 2.0 / 3, close);
    BOOST_TEST(m.recall(0) == 0.75, close);
    BOOST_TEST(m.recall(1) == 2.0 / 3, close);
    BOOST_TEST(m.recall(2) == 2.0 / 3, close);
    BOOST_TEST(m.f1(0) == 6.0 / 7, close);
    BOOST_TEST(m.f1(1) == 4.0 / 7, close);
    BOOST_TEST(m.f1(2) == 2.0 / 3, close);
    BOOST_TEST(m.macro_precision() == 13.0 / 18, close);
    BOOST_TEST(m.macro_recall() == 25.0 / 36, close);
    BOOST_TEST(m.macro_f1() == 44.0 / 63, close);
    BOOST_TEST(m.accuracy() == 0.7, close);
}

BOOST_AUTO_TEST_CASE(an_unpredicted_sample_lowers_recall_only) {
    auto m = three_classes();
    m.add(1, 3);  // a NaN score: no class
    BOOST_TEST(m.unpredicted(1) == 1u);
    BOOST_TEST(m.recall(1) == 0.5);
    BOOST_TEST(m.precision(1) == 0.5);
    BOOST_TEST(m.accuracy() == 7.0 / 11, boost::test_tools::tolerance(1e-15));
    BOOST_CHECK_THROW(m.add(3, 0), std::out_of_range);
    BOOST_CHECK_THROW(m.add(0, 4), std::out_of_range);
    // A class never predicted and never seen: 0, not NaN.
    mg::confusion_matrix empty(2);
    empty.add(0, 0);
    BOOST_TEST(empty.precision(1) == 0.0);
    BOOST_TEST(empty.recall(1) == 0.0);
    BOOST_TEST(empty.f1(1) == 0.0);
}

BOOST_AUTO_TEST_CASE(the_table_prints_the_counts_and_the_scores) {
    const std::string text = three_classes().table({"setosa", "versicolor", "virginica"});
    BOOST_TEST_MESSAGE(text);
    BOOST_TEST(text.find("versicolor") != std::string::npos);
    // Columns as wide as the longest name and a space: setosa's row of counts, the macro averages.
    BOOST_TEST(text.find("\n     setosa          3          1          0\n") != std::string::npos);
    BOOST_TEST(text.find("\n      macro     0.7222     0.6944     0.6984         10\n") != std::string::npos);
    BOOST_TEST(text.find("none") == std::string::npos);
    auto with_nan = three_classes();
    with_nan.add(2, 3);
    BOOST_TEST(with_nan.table().find("none") != std::string::npos);
    // The predicted class of a row of scores: the largest, ties to the lower, none for NaN.
    mg::tensor<float, mg::shape<3, 3>> scores{{0.1f, 0.7f, 0.2f, 0.5f, 0.5f, 0.0f, 1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f}};
    BOOST_TEST(mg::predicted_class(scores, 0) == 1u);
    BOOST_TEST(mg::predicted_class(scores, 1) == 0u);
    BOOST_TEST(mg::predicted_class(scores, 2) == 3u);
}
