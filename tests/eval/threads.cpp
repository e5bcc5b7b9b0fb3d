// Tests of include/metagrad/eval/thread_pool.hpp and eval/parallel.hpp: the thread count is
// clamped to the machine, split work covers every part exactly once (also nested, also from two
// callers at once, also thousands of jobs in a row), and a training step on several threads gives
// the same parameters, bit for bit, as on one.
#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
/// Restores one thread when a test ends, passed or failed.
struct threads_for_this_test {
    explicit threads_for_this_test(unsigned n) { mg::set_thread_count(n); }
    ~threads_for_this_test() { mg::set_thread_count(1); }
};
const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
}  // namespace

BOOST_AUTO_TEST_CASE(the_thread_count_is_clamped_to_the_machine) {
    BOOST_TEST(mg::thread_count() == 1u);  // nothing is started unless asked
    {
        threads_for_this_test t(0);
        BOOST_TEST(mg::thread_count() == 1u);
    }
    {
        threads_for_this_test t(1000);
        BOOST_TEST(mg::thread_count() == hardware);
    }
    BOOST_TEST(mg::thread_count() == 1u);
}

BOOST_AUTO_TEST_CASE(every_part_runs_once_also_nested_and_repeated) {
    threads_for_this_test t(2);
    const unsigned width = mg::eval::parallel_width();
    for (int job = 0; job < 5000; ++job) {
        std::vector<std::atomic<int>> runs(width);
        mg::eval::parallel_parts(width, [&](unsigned part) { runs[part].fetch_add(1); });
        for (const auto& r : runs) BOOST_REQUIRE(r.load() == 1);
    }
    // A part that splits its own work runs the inner parts itself: no deadlock, none lost.
    std::atomic<int> inner{0};
    mg::eval::parallel_parts(width, [&](unsigned) { mg::eval::parallel_parts(width, [&](unsigned) { inner.fetch_add(1); }); });
    BOOST_TEST(inner.load() == static_cast<int>(width * width));
}

BOOST_AUTO_TEST_CASE(two_callers_at_once_both_finish) {
    threads_for_this_test t(2);
    std::atomic<int> total{0};
    auto caller = [&] {
        for (int job = 0; job < 2000; ++job)
            mg::eval::parallel_parts(mg::eval::parallel_width(), [&](unsigned) { total.fetch_add(1); });
    };
    std::thread other(caller);
    caller();
    other.join();
    BOOST_TEST(total.load() == static_cast<int>(2 * 2000 * mg::eval::parallel_width()));
}

BOOST_AUTO_TEST_CASE(a_training_step_on_threads_matches_one_thread_bit_for_bit) {
    // Large enough that every product and the SGD update are split (above both thresholds).
    using net = mg::sequential<mg::input<300>, mg::dense<256>, mg::relu, mg::dense<64>, mg::relu, mg::dense<10>>;
    constexpr std::size_t batch = 64;
    auto make = [] {
        auto p = std::make_unique<net::parameters<float>>();
        mg::random_generator g(11);
        mg::initialize(*p, mg::he_uniform{}, g);
        return p;
    };
    auto x = std::make_unique<mg::tensor<float, mg::shape<batch, 300>>>();
    auto y = std::make_unique<mg::tensor<float, mg::shape<batch, 10>>>();
    mg::random_generator g(12);
    for (auto& v : *x) v = g.uniform<float>();
    for (std::size_t r = 0; r < batch; ++r) (*y)(r, r % 10) = 1;
    auto run = [&](unsigned threads) {
        threads_for_this_test t(threads);
        auto p = make();
        auto ws = std::make_unique<mg::workspace<net, float, mg::shape<batch, 300>>>();
        mg::sgd<float> sgd{0.05f};
        for (int step = 0; step < 3; ++step) mg::train_step(*p, *x, *y, mg::softmax_cross_entropy{}, sgd, *ws);
        return p;
    };
    const auto one = run(1);
    const auto many = run(hardware);
    BOOST_TEST((*one == *many));
    if (hardware < 2) BOOST_TEST_MESSAGE("one hardware thread: the split path was not exercised");
}
