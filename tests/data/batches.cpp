// Tests of include/metagrad/data/: shuffled batches (reproducible, a permutation, the stated
// policy for the last partial batch), copying a batch into tensors, and normalization.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <type_traits>
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

// Kept as bytes (IDX images), a data set holds a quarter of the memory and loads the batches that
// the same data set in floats loads: bit for bit after scale_to_unit (one multiply either way),
// to rounding after standardizing (the map is composed instead of applied twice).
BOOST_AUTO_TEST_CASE(a_data_set_kept_as_bytes_loads_what_one_kept_as_floats_loads) {
    mg::dataset<float, mg::shape<3>, mg::class_label, std::uint8_t> bytes;
    mg::dataset<float, mg::shape<3>> floats;
    static_assert(std::is_same_v<decltype(bytes)::stored_type, std::uint8_t>);
    bytes.classes = floats.classes = 2;
    mg::random_generator g(4);
    for (std::size_t i = 0; i < 40; ++i) {
        for (int k = 0; k < 3; ++k) {
            const auto pixel = static_cast<std::uint8_t>(g.below(256));
            bytes.features.push_back(pixel);
            floats.features.push_back(static_cast<float>(pixel));
        }
        const auto label = static_cast<std::uint32_t>(i % 2);
        bytes.labels.push_back(label);
        floats.labels.push_back(label);
    }
    BOOST_TEST(bytes.features.size() * sizeof(std::uint8_t) * 4 == floats.features.size() * sizeof(float));
    BOOST_TEST(bytes.feature(7, 2) == floats.sample(7)[2]);

    const auto same_batches = [&](auto& a, auto& b, float tolerance) {
        mg::batch<float, 8, mg::shape<3>, 2> from_a, from_b;
        mg::random_generator order(1);
        const auto plan = mg::shuffled_batches<8>(a.size(), order);
        bool same = true;
        for (std::size_t k = 0; k < plan.size(); ++k) {
            mg::load_batch(a, plan[k], from_a);
            mg::load_batch(b, plan[k], from_b);
            for (std::size_t i = 0; i < from_a.inputs.data.size(); ++i)
                same = same && std::abs(from_a.inputs[i] - from_b.inputs[i]) <= tolerance;
            same = same && from_a.labels == from_b.labels;
        }
        return same;
    };
    mg::scale_to_unit(bytes, 0.0f, 255.0f);
    mg::scale_to_unit(floats, 0.0f, 255.0f);
    BOOST_TEST(same_batches(bytes, floats, 0.0f));
    BOOST_TEST(bytes.features[5] == floats.features[5] * 255.0f);  // the bytes themselves are kept

    // A slice keeps the map; shuffling moves samples and labels together.
    auto bytes_part = bytes.slice(5, 37);
    auto floats_part = floats.slice(5, 37);
    mg::random_generator s1(8), s2(8);
    mg::shuffle(bytes_part, s1);
    mg::shuffle(floats_part, s2);
    BOOST_TEST(same_batches(bytes_part, floats_part, 0.0f));

    const auto from_bytes = mg::standardizer<float, mg::shape<3>>::fit(bytes_part);
    const auto from_floats = mg::standardizer<float, mg::shape<3>>::fit(floats_part);
    for (std::size_t j = 0; j < 3; ++j) {
        BOOST_TEST(from_bytes.mean[j] == from_floats.mean[j], boost::test_tools::tolerance(1e-6f));
        BOOST_TEST(from_bytes.deviation[j] == from_floats.deviation[j], boost::test_tools::tolerance(1e-6f));
    }
    from_bytes.apply(bytes_part);
    from_floats.apply(floats_part);
    BOOST_TEST(same_batches(bytes_part, floats_part, 1e-5f));
    BOOST_TEST(std::abs(bytes_part.feature(0, 0)) < 4.0f);  // standardized, not raw
}
