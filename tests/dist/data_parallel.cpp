// Tests of include/metagrad/dist/ without MPI (ranks as threads, in_process_group): the sums
// are the fixed tree's bit for bit, data-parallel training gives the same weights on 1, 2 and 4
// ranks (with batch norm and dropout), and ranks that disagree or stop answering end with a
// message naming what went wrong, never a hang.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "metagrad/dist/collectives.hpp"
#include "metagrad/dist/data_parallel.hpp"
#include "metagrad/dist/in_process.hpp"
#include "metagrad/metagrad.hpp"
#include "synthetic.hpp"

namespace mg = metagrad;

namespace {
// Values whose sums round differently in every order, so that a wrong order shows.
std::vector<float> values_of_rank(std::size_t rank, std::size_t n) {
    mg::random_generator g(100 + rank);
    std::vector<float> v(n);
    for (auto& x : v) x = g.uniform<float>(-1, 1) * (rank % 2 ? 1e4f : 1e-3f);
    return v;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <class F>
std::string message_of(F f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}
}  // namespace

BOOST_AUTO_TEST_CASE(sum_all_adds_over_the_fixed_tree_on_every_rank) {
    for (const std::size_t n : {0u, 1u, 7u, 1000u}) {
        const std::size_t ranks = 4;
        // The tree, computed here in one thread: pairs of neighbours first.
        std::vector<float> expected(n);
        const auto v0 = values_of_rank(0, n), v1 = values_of_rank(1, n), v2 = values_of_rank(2, n), v3 = values_of_rank(3, n);
        for (std::size_t i = 0; i < n; ++i) expected[i] = (v0[i] + v1[i]) + (v2[i] + v3[i]);
        std::vector<std::vector<float>> results(ranks);
        mg::run_in_process(ranks, [&](mg::in_process_group& group) {
            auto mine = values_of_rank(group.rank(), n);
            std::vector<float> scratch((n + 1) / 2);
            mg::sum_all(group, std::span<float>(mine), std::span<float>(scratch));
            results[group.rank()] = mine;
        });
        for (std::size_t r = 0; r < ranks; ++r)
            for (std::size_t i = 0; i < n; ++i) BOOST_TEST_REQUIRE(std::bit_cast<std::uint32_t>(results[r][i]) == std::bit_cast<std::uint32_t>(expected[i]));
    }
    // Two ranks: one addition per element; one rank: nothing to add.
    std::vector<std::vector<double>> results(2);
    mg::run_in_process(2, [&](mg::in_process_group& group) {
        std::array<double, 3> mine{1.0 + static_cast<double>(group.rank()), 10, 100};
        std::array<double, 2> scratch{};
        mg::sum_all(group, std::span<double>(mine), std::span<double>(scratch));
        results[group.rank()].assign(mine.begin(), mine.end());
    });
    BOOST_TEST(results[0] == (std::vector<double>{3, 20, 200}), boost::test_tools::per_element());
    BOOST_TEST(results[1] == results[0], boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gather_all_gives_every_rank_every_record) {
    for (const std::size_t ranks : {1u, 2u, 4u, 8u}) {
        std::mutex checked;
        std::size_t good = 0;
        mg::run_in_process(ranks, [&](mg::in_process_group& group) {
            std::vector<std::uint32_t> records(ranks, 0);
            records[group.rank()] = 7 * static_cast<std::uint32_t>(group.rank()) + 1;
            mg::gather_all(group, std::as_writable_bytes(std::span<std::uint32_t>(records)), sizeof(std::uint32_t));
            bool all = true;
            for (std::size_t r = 0; r < ranks; ++r) all = all && records[r] == 7 * r + 1;
            const std::lock_guard lock(checked);
            good += all;
        });
        BOOST_TEST(good == ranks);
    }
}

BOOST_AUTO_TEST_CASE(rank_counts_the_tree_cannot_use_are_refused_by_name) {
    const std::string three = message_of([] {
        mg::run_in_process(3, [](mg::in_process_group& group) {
            std::array<float, 4> v{}, scratch{};
            mg::sum_all(group, std::span<float>(v), std::span<float>(scratch));
        });
    });
    BOOST_TEST(contains(three, "power of two of ranks (1, 2, 4, ...), not 3"), three);
    const mg::data_parallel_plan<16> plan{.blocks = 2, .samples = 1000};
    const std::string too_many = message_of([&] { plan.check(4); });
    BOOST_TEST(contains(too_many, "use at most 2 ranks"), too_many);
    const std::string small = message_of([] { mg::data_parallel_plan<16>{.blocks = 4, .samples = 60}.check(1); });
    BOOST_TEST(contains(small, "a shard of 15 samples holds no whole block"), small);
    const std::string odd_blocks = message_of([] { mg::data_parallel_plan<16>{.blocks = 3, .samples = 600}.check(1); });
    BOOST_TEST(contains(odd_blocks, "blocks per step must be a power of two"), odd_blocks);
    // Rank r holds shards [r B/P, (r+1) B/P): 4 shards of 250 samples on 2 ranks.
    const mg::data_parallel_plan<16> four{.blocks = 4, .samples = 1003};
    BOOST_TEST(four.samples_of(1, 2).first == 500u);
    BOOST_TEST(four.samples_of(1, 2).second == 1000u);
    BOOST_TEST(four.steps_per_epoch() == 15u);
}

namespace {
// The network and data of tests/dist/synthetic.hpp: every kind of layer whose result could
// depend on how a step is cut.
using dist_test::block;
using dist_test::image_network;
using dist_test::synthetic_images;

struct trained {
    mg::network_parameters<image_network, float> parameters;
    std::vector<double> losses;
};

// Two epochs of data-parallel training on `ranks` threads; rank 0's result (checked to be every
// rank's).
trained train_on(std::size_t ranks, std::size_t blocks) {
    const auto all = synthetic_images(4 * 3 * block + 5);  // 4 shards of 3 blocks, 5 left out
    const mg::data_parallel_plan<block> plan{.blocks = blocks, .samples = all.size()};
    std::vector<trained> results(ranks);
    mg::run_in_process(ranks, [&](mg::in_process_group& group) {
        const auto [first, last] = plan.samples_of(group.rank(), group.size());
        const auto shards = all.slice(first, last);
        auto p = std::make_unique<mg::network_parameters<image_network, float>>();
        mg::random_generator init(3);
        mg::initialize(*p, mg::he_uniform{}, init);
        mg::adam<image_network, float> adam(mg::adam_options<float>{.learning_rate = 0.01f});
        mg::training_position position{.seed = 11, .shuffle = mg::random_generator(12)};
        auto memory = std::make_unique<mg::data_parallel_memory<image_network, float, block>>();
        for (int epoch = 0; epoch < 2; ++epoch) {
            const mg::metrics m = mg::train_epoch(group, plan, *p, adam, mg::constant_rate{0.01}, shards, mg::softmax_cross_entropy{}, position,
                                                  *memory, [](std::size_t, std::size_t, const mg::metrics&) {}, "synthetic");
            results[group.rank()].losses.push_back(m.loss());
        }
        results[group.rank()].parameters = *p;
    });
    for (std::size_t r = 1; r < ranks; ++r) {
        BOOST_TEST_REQUIRE((results[r].parameters == results[0].parameters));
        BOOST_TEST_REQUIRE((results[r].losses == results[0].losses));
    }
    return results[0];
}
}  // namespace

BOOST_AUTO_TEST_CASE(one_two_and_four_ranks_train_the_same_weights_bit_for_bit) {
    const trained one = train_on(1, 4), two = train_on(2, 4), four = train_on(4, 4);
    BOOST_TEST((one.parameters == two.parameters));
    BOOST_TEST((one.parameters == four.parameters));
    BOOST_TEST(one.losses == four.losses, boost::test_tools::per_element());
    // The running statistics moved (the state is summed too), and training did something.
    BOOST_TEST(one.parameters.state<2>().running_mean[0] != 0.0f);
    BOOST_TEST(one.losses[1] < one.losses[0]);
    // Cut into two blocks instead, the same samples make another run: the plan is part of it.
    const trained halves = train_on(1, 2);
    BOOST_TEST(!(halves.parameters == one.parameters));
}

BOOST_AUTO_TEST_CASE(ranks_that_would_train_different_runs_stop_before_training) {
    const auto all = synthetic_images(64);
    const mg::data_parallel_plan<block> plan{.blocks = 2, .samples = all.size()};
    const auto attempt = [&](auto vary) {
        return message_of([&] {
            mg::run_in_process(2, [&](mg::in_process_group& group) {
                const auto [first, last] = plan.samples_of(group.rank(), group.size());
                auto p = std::make_unique<mg::network_parameters<image_network, float>>();
                mg::random_generator init(3);
                mg::initialize(*p, mg::he_uniform{}, init);
                mg::adam<image_network, float> adam(mg::adam_options<float>{.learning_rate = 0.01f});
                mg::training_position position{.seed = 11, .shuffle = mg::random_generator(12)};
                std::string data = "synthetic";
                vary(group.rank(), *p, adam, position, data);
                auto memory = std::make_unique<mg::data_parallel_memory<image_network, float, block>>();
                mg::train_epoch(group, plan, *p, adam, mg::constant_rate{0.01}, all.slice(first, last), mg::softmax_cross_entropy{}, position,
                                *memory, [](std::size_t, std::size_t, const mg::metrics&) {}, data);
            });
        });
    };
    const std::string seed = attempt([](std::size_t rank, auto& p, auto&, auto&, auto&) {
        if (rank == 1) p.template layer<1>().weight[0] += 1;
    });
    BOOST_TEST(contains(seed, "the ranks disagree on the parameters: rank 0 has 'parameters and state with hash"), seed);
    const std::string rate = attempt([](std::size_t rank, auto&, auto& adam, auto&, auto&) {
        if (rank == 1) adam.options.learning_rate = 0.02f;
    });
    BOOST_TEST(contains(rate, "disagree on the optimizer: rank 0 has 'adam, learning rate 0.010000"), rate);
    BOOST_TEST(contains(rate, "rank 1 has 'adam, learning rate 0.020000"), rate);
    const std::string data = attempt([](std::size_t rank, auto&, auto&, auto&, std::string& words) {
        if (rank == 1) words = "other files";
    });
    BOOST_TEST(contains(data, "disagree on the data: rank 0 has 'synthetic, 64 samples of 36 values, 3 classes', rank 1 has 'other files"), data);
    const std::string place = attempt([](std::size_t rank, auto&, auto&, mg::training_position& position, auto&) {
        if (rank == 1) position.step = 5;
    });
    BOOST_TEST(contains(place, "disagree on the training position: rank 0 has 'epoch 0, step 0"), place);
}

BOOST_AUTO_TEST_CASE(a_rank_that_stops_answering_ends_the_others_with_a_time_out) {
    const auto started = std::chrono::steady_clock::now();
    const std::string message = message_of([] {
        mg::run_in_process(
            2,
            [](mg::in_process_group& group) {
                if (group.rank() == 1) return;  // as if it had died
                std::array<float, 4> v{}, scratch{};
                mg::sum_all(group, std::span<float>(v), std::span<float>(scratch));
            },
            std::chrono::milliseconds(200));
    });
    BOOST_TEST(contains(message, "rank 0 waited 200 ms for rank 1 to send its part; it stopped or died"), message);
    BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(10)));
}
