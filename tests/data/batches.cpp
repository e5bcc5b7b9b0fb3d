// Tests of include/metagrad/data/: shuffled batches (reproducible, a permutation, the stated
// policy for the last partial batch), copying a batch into tensors, and normalization.
#include <algorithm>
#include <numeric>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
mg::dataset<double, mg::shape<2>> counting(std::size_t n) {
    mg::dataset<double, mg::shape<2>> d;
    d.classes = 3;
    for (std::size_t i = 0; i < n; ++i) {
        d.features.push_back(static_cast<double>(i));
        d.features.push_back(static_cast<double>(10 * i));
        d.labels.push_back(static_cast<std::uint32_t>(i % 3));
    }
    return d;
}
}  // namespace

BOOST_AUTO_TEST_CASE(shuffled_batches_are_a_reproducible_permutation) {
    mg::random_generator a(9), b(9), c(10);
    const auto first = mg::shuffled_batches<4>(10, a), same = mg::shuffled_batches<4>(10, b), other = mg::shuffled_batches<4>(10, c);
    BOOST_TEST(first.order() == same.order());
    BOOST_TEST(first.order() != other.order());
    std::vector<std::size_t> sorted = first.order();
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> all(10);
    std::iota(all.begin(), all.end(), 0);
    BOOST_TEST(sorted == all);
    // The next epoch's order differs (the generator moved on).
    BOOST_TEST(mg::shuffled_batches<4>(10, a).order() != first.order());
}

BOOST_AUTO_TEST_CASE(the_last_partial_batch_is_dropped_or_padded) {
    mg::random_generator g(1);
    const auto dropped = mg::shuffled_batches<4>(10, g, mg::last_batch::drop);
    BOOST_TEST(dropped.size() == 2u);
    BOOST_TEST(dropped[1].size() == 4u);
    const auto padded = mg::ordered_batches<4>(10);
    BOOST_TEST(padded.size() == 3u);
    BOOST_TEST(padded[2].size() == 2u);

    const auto d = counting(10);
    mg::batch<double, 4, mg::shape<2>, 3> b;
    mg::load_batch(d, padded[2], b);
    BOOST_TEST(b.rows == 2u);
    BOOST_TEST(b.inputs(1, 1) == 90.0);  // sample 9
    BOOST_TEST(b.inputs(3, 0) == 8.0);   // padding repeats the batch's first sample
    BOOST_TEST(b.targets(1, 0) == 1.0);  // label 9 % 3 = 0, one-hot
    BOOST_TEST(b.targets(1, 1) == 0.0);
    BOOST_TEST(b.labels[0] == 2u);
    // A label the network cannot output is an error, not a write past the targets.
    mg::batch<double, 4, mg::shape<2>, 2> two_classes;
    BOOST_CHECK_THROW(mg::load_batch(d, padded[0], two_classes), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(normalization_uses_training_statistics) {
    auto train = counting(5), test = counting(3);
    const auto s = mg::standardizer<double, mg::shape<2>>::fit(train);
    BOOST_TEST(s.mean[0] == 2.0);
    BOOST_TEST(s.deviation[1] == std::sqrt(200.0), boost::test_tools::tolerance(1e-12));
    s.apply(train);
    s.apply(test);
    double total = 0;
    for (std::size_t i = 0; i < train.size(); ++i) total += train.sample(i)[1];
    BOOST_TEST(std::abs(total) < 1e-12);
    BOOST_TEST(test.sample(0)[0] == -2.0 / std::sqrt(2.0), boost::test_tools::tolerance(1e-12));
    auto pixels = counting(2);
    mg::scale_to_unit(pixels, 0.0, 10.0);
    BOOST_TEST(pixels.sample(1)[1] == 1.0);
    // A slice outside the data set is an error, not garbage.
    BOOST_CHECK_THROW((void)train.slice(3, 9), std::out_of_range);
}
