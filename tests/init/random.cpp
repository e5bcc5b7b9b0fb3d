// Tests of include/metagrad/init/random.hpp and initializers.hpp: the generator against an
// independent implementation, its distributions, and initializers reproducible bit for bit.
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

// The first outputs for seed 42, from the plain-Python xoshiro256** in
// tests/fixtures/make_fixtures.py (an independent implementation).
constexpr std::uint64_t expected_seed_42[] = {0x15780b2e0c2ec716u, 0x6104d9866d113a7eu, 0xae17533239e499a1u,
                                              0xecb8ad4703b360a1u};

constexpr bool matches_the_reference() {
    mg::random_generator g(42);
    for (const std::uint64_t v : expected_seed_42)
        if (g.next() != v) return false;
    return true;
}
static_assert(matches_the_reference());

BOOST_AUTO_TEST_CASE(generator_matches_the_reference_run_time) {
    mg::random_generator g(42);
    for (const std::uint64_t v : expected_seed_42) BOOST_TEST(g.next() == v);
}

BOOST_AUTO_TEST_CASE(distributions_have_their_moments_run_time) {
    mg::random_generator g(7);
    constexpr int n = 200000;
    double sum = 0, square = 0, normal_sum = 0, normal_square = 0;
    float low = 1, high = 0;
    std::size_t counts[7] = {};
    for (int i = 0; i < n; ++i) {
        const double u = g.uniform<double>();
        sum += u, square += u * u;
        const float f = g.uniform<float>();
        low = std::min(low, f), high = std::max(high, f);
        const double z = g.normal<double>();
        normal_sum += z, normal_square += z * z;
        ++counts[g.below(7)];
    }
    BOOST_TEST(sum / n == 0.5, boost::test_tools::tolerance(0.01));
    BOOST_TEST(square / n - (sum / n) * (sum / n) == 1.0 / 12, boost::test_tools::tolerance(0.02));
    BOOST_TEST(low >= 0.0f);
    BOOST_TEST(high < 1.0f);
    BOOST_TEST(std::abs(normal_sum / n) < 0.01);
    BOOST_TEST(normal_square / n == 1.0, boost::test_tools::tolerance(0.02));
    for (const std::size_t c : counts) BOOST_TEST(static_cast<double>(c) == n / 7.0, boost::test_tools::tolerance(0.03));
}

BOOST_AUTO_TEST_CASE(a_snapshot_restores_the_sequence_run_time) {
    mg::random_generator g(3);
    (void)g.normal<double>();  // leaves a spare normal behind: part of the state
    const auto saved = g.save();
    const double a = g.normal<double>(), b = g.uniform<double>();
    mg::random_generator h(99);
    h.restore(saved);
    BOOST_TEST(h.normal<double>() == a);
    BOOST_TEST(h.uniform<double>() == b);
}

// No generator holds the all-zero state, xoshiro's fixed point (it draws only zeros, and `below`
// would never return). Seeding cannot reach it: splitmix64 maps counter 0 to 0 and no other, so
// this seed, whose first counter is 0, gives one zero word and three others.
constexpr std::uint64_t seed_with_a_zero_word = 0 - 0x9e3779b97f4a7c15u;
constexpr bool a_zero_word_still_draws() {
    mg::random_generator g(seed_with_a_zero_word);
    const auto words = g.save().words;
    return words[0] == 0 && words[1] && words[2] && words[3] && g.below(10) < 10 && g.next() != 0;
}
static_assert(a_zero_word_still_draws());

BOOST_AUTO_TEST_CASE(restoring_a_state_of_zeros_is_refused_run_time) {
    mg::random_generator g(5);
    const auto before = g.save();
    BOOST_TEST(!mg::random_generator::restorable(mg::random_generator::snapshot{}));
    BOOST_CHECK_EXCEPTION(g.restore(mg::random_generator::snapshot{}), std::invalid_argument, [](const std::invalid_argument& e) {
        return std::string(e.what()) == "metagrad::random_generator::restore: the state is all zeros, which draws only zeros";
    });
    BOOST_TEST((g.save() == before));  // unchanged
    mg::random_generator h(seed_with_a_zero_word);
    BOOST_TEST(h.save().words[0] == 0u);
    BOOST_TEST(h.below(10) < 10u);
}

using net = mg::sequential<mg::dense<20, 30>, mg::relu, mg::dense<10>>;

constexpr auto initialized(std::uint64_t seed) {
    net::parameters<float> p;
    mg::random_generator g(seed);
    mg::initialize(p, mg::he_uniform{}, g);
    return p;
}
// Constant-evaluable, and the same value at compile time and at run time, bit for bit.
constexpr auto compile_time_weights = initialized(11);

BOOST_AUTO_TEST_CASE(initialization_is_reproducible_bit_for_bit_run_time) {
    BOOST_TEST((initialized(11) == compile_time_weights));
    BOOST_TEST(!(initialized(12) == compile_time_weights));
}

BOOST_AUTO_TEST_CASE(initializers_have_their_scale_run_time) {
    mg::random_generator g(5);
    using wide = mg::sequential<mg::dense<200, 300>>;  // 60,000 weights: variance within about 1%
    const auto check = [&](auto scheme, double expected_variance, bool bounded, double limit) {
        auto owned = std::make_unique<wide::parameters<double>>();
        auto& p = *owned;
        mg::initialize(p, scheme, g);
        const auto& w = p.layer<0>().weight;  // fan_in 200, fan_out 300
        double square = 0, largest = 0;
        for (const double x : w) square += x * x, largest = std::max(largest, std::abs(x));
        BOOST_TEST(square / w.size == expected_variance, boost::test_tools::tolerance(0.03));
        if (bounded) BOOST_TEST(largest <= limit);
        for (const double b : p.layer<0>().bias) BOOST_TEST(b == 0.0);
    };
    check(mg::glorot_uniform{}, 2.0 / 500, true, std::sqrt(6.0 / 500));
    check(mg::glorot_normal{}, 2.0 / 500, false, 0);
    check(mg::he_uniform{}, 2.0 / 200, true, std::sqrt(6.0 / 200));
    check(mg::he_normal{}, 2.0 / 200, false, 0);
}

// A batch norm's scale starts at 1 wherever it sits: at the top level and inside a residual
// block's chain alike (the nested one once started at 0, silencing every block's body).
using blocks = mg::sequential<mg::input<4, 4, 2>, mg::batch_norm<>,
                              mg::residual<mg::chain<mg::conv2d<2, mg::kernel<3>, mg::padding<1>>, mg::batch_norm<>, mg::relu>>>;
constexpr auto initialized_blocks() {
    blocks::parameters<double> p;
    mg::random_generator g(2);
    mg::initialize(p, mg::he_uniform{}, g);
    return p;
}
constexpr auto nested_scale = [] { return initialized_blocks().layer<2>().body.at<1>().weight; };
static_assert(initialized_blocks().layer<1>().weight[0] == 1.0);
static_assert(nested_scale()[0] == 1.0 && nested_scale()[1] == 1.0);
static_assert(initialized_blocks().layer<2>().body.at<0>().weight[0] != 0.0);

BOOST_AUTO_TEST_CASE(a_nested_batch_norm_starts_as_the_identity_run_time) {
    const auto p = initialized_blocks();
    for (const double s : p.layer<2>().body.at<1>().weight) BOOST_TEST(s == 1.0);
    for (const double b : p.layer<2>().body.at<1>().bias) BOOST_TEST(b == 0.0);
}
