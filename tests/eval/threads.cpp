// Tests of include/metagrad/eval/thread_pool.hpp and eval/parallel.hpp: the thread count is
// clamped to the machine, split work covers every part exactly once (also nested, also from two
// callers at once, also thousands of jobs in a row), balanced ranges cover every element once in
// granule-aligned pieces, and products and a training step on several threads give the same
// values, bit for bit, as on one. On a busy machine: no part waits for a particular thread, a
// caller waiting for a thread that has no core sleeps instead of spinning, and the default count
// follows the CPUs the process may use.
#include <algorithm>
#include <chrono>
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
/// Restores one thread when a test ends, passed or failed.
struct threads_for_this_test {
    // Every job shared: these tests are about the shared path.
    explicit threads_for_this_test(unsigned n) { mg::set_thread_count(n, mg::thread_sharing::always); }
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

namespace {
// Every element of [0, n) exactly once, in ranges that start at a multiple of the granule and
// end at one or at n; also when there are fewer granules than threads, and from inside a part.
// Returns what went wrong, or "" (Boost.Test's checks must not run on the pool's threads).
std::string balanced_ranges_fault(std::size_t n, std::size_t granule) {
    std::vector<std::atomic<int>> seen(n);
    std::atomic<bool> aligned{true};
    mg::eval::balanced_ranges(n, granule, [&](std::size_t begin, std::size_t end) {
        if (begin % granule != 0 || !(end % granule == 0 || end == n) || begin >= end || end > n) aligned = false;
        for (std::size_t i = begin; i < end && i < n; ++i) seen[i].fetch_add(1);
    });
    const std::string at = "n " + std::to_string(n) + ", granule " + std::to_string(granule);
    if (!aligned.load()) return "a range not aligned to the granule: " + at;
    if (!std::all_of(seen.begin(), seen.end(), [](const auto& s) { return s.load() == 1; }))
        return "an element not covered exactly once: " + at;
    return "";
}
void check_balanced_ranges(std::size_t n, std::size_t granule) {
    const std::string fault = balanced_ranges_fault(n, granule);
    BOOST_TEST(fault.empty(), fault);
}

}  // namespace

BOOST_AUTO_TEST_CASE(balanced_ranges_cover_every_element_once_in_whole_granules) {
    for (unsigned threads : {1u, 2u, hardware}) {
        threads_for_this_test t(threads);
        for (auto [n, granule] : {std::pair<std::size_t, std::size_t>{0, 4}, {1, 4}, {3, 4}, {4, 4}, {7, 4}, {256, 4},
                                  {784, 16}, {1000, 8}, {100003, 8}})
            check_balanced_ranges(n, granule);
        // Thousands of splits in a row, each with its own blocks.
        for (int job = 0; job < 2000; ++job) check_balanced_ranges(64, 8);
        // Nested: the inner split runs on the calling part's thread, whole.
        std::vector<std::string> faults(mg::eval::parallel_width());
        mg::eval::parallel_parts(mg::eval::parallel_width(), [&](unsigned part) { faults[part] = balanced_ranges_fault(300, 4); });
        for (const auto& fault : faults) BOOST_TEST(fault.empty(), fault);
    }
}

namespace {
// The kernels' three forms on threads (above the split threshold): the dot form (X W^T, split by
// columns), the row panels of an input gradient (dl/dY W, split by columns, here with a column
// remainder past the last whole vector) and of a weight gradient (dl/dY^T X, split by rows); and
// column sums. However the threads share the work, every element is summed in the same order:
// the same bits.
template <class T, std::size_t R, std::size_t K, std::size_t C>
void check_products_on_threads() {
    mg::random_generator g(5);
    auto a = std::make_unique<mg::matrix<T, R, K>>();
    auto at = std::make_unique<mg::matrix<T, K, R>>();
    auto b = std::make_unique<mg::matrix<T, K, C>>();
    auto bt = std::make_unique<mg::matrix<T, C, K>>();
    for (auto& v : *a) v = g.uniform<T>(-1, 1);
    for (auto& v : *at) v = g.uniform<T>(-1, 1);
    for (auto& v : *b) v = g.uniform<T>(-1, 1);
    for (auto& v : *bt) v = g.uniform<T>(-1, 1);
    auto products = [&](unsigned threads) {
        threads_for_this_test t(threads);
        auto out = std::make_unique<std::array<mg::matrix<T, R, C>, 3>>();
        (*out)[0] = mg::matmul(*a, mg::transpose(*bt));
        (*out)[1] = mg::matmul(*a, *b);
        (*out)[2] = mg::matmul(mg::transpose(*at), *b);
        return out;
    };
    const auto one = products(1);
    const auto many = products(hardware);
    for (std::size_t form = 0; form < 3; ++form) BOOST_TEST(((*one)[form] == (*many)[form]), "form " << form);
    // Column sums (a bias gradient), split by columns when large: the definition's sums.
    auto sums = [&](unsigned threads) {
        threads_for_this_test t(threads);
        mg::vector<T, C> s;
        s = mg::column_sums(*b);
        return s;
    };
    mg::vector<T, C> expected{};
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t c = 0; c < C; ++c) expected[c] += (*b)(k, c);
    BOOST_TEST((sums(1) == expected));
    BOOST_TEST((sums(hardware) == expected));
}

}  // namespace

BOOST_AUTO_TEST_CASE(products_on_threads_match_one_thread_bit_for_bit) {
    check_products_on_threads<float, 64, 128, 300>();
    check_products_on_threads<double, 40, 200, 260>();
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

namespace {
double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
// Polls `done` every millisecond for at most ten seconds (a test that fails must not hang); false
// on time-out.
template <class Done>
bool wait_politely(Done done) {
    for (int ms = 0; ms < 10000; ++ms) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}
}  // namespace

// A worker that is slow in one part (as a thread the system does not run on a busy machine)
// leaves the job's other parts to whoever claims them: here the worker holds its part until the
// caller has run two, which can only happen if parts are not assigned to threads in advance.
BOOST_AUTO_TEST_CASE(no_part_waits_for_a_particular_thread) {
    for (int job = 0; job < 200; ++job) {
        mg::detail::thread_pool pool(1);
        const std::thread::id caller = std::this_thread::get_id();
        std::atomic<int> by_caller{0}, runs{0};
        std::atomic<bool> timed_out{false};
        struct context_type {
            std::thread::id caller;
            std::atomic<int>&by_caller, &runs;
            std::atomic<bool>& timed_out;
        } context{caller, by_caller, runs, timed_out};
        pool.run(3, [](void* c, unsigned) {
            auto& x = *static_cast<context_type*>(c);
            x.runs.fetch_add(1);
            if (std::this_thread::get_id() == x.caller)
                x.by_caller.fetch_add(1);
            else if (!wait_politely([&] { return x.by_caller.load() >= 2; }))
                x.timed_out = true;
        }, &context);
        BOOST_REQUIRE(!timed_out.load());
        BOOST_REQUIRE(runs.load() == 3);
    }
}

// While a worker takes its time over a part, the caller that waits for it sleeps: it gives its
// core away (to that worker, on a busy machine) rather than spinning on it.
BOOST_AUTO_TEST_CASE(a_caller_waiting_for_a_slow_part_sleeps) {
    mg::detail::thread_pool pool(1);
    struct context_type {
        std::thread::id caller;
        std::atomic<bool> worker_started{false};
    } context{std::this_thread::get_id()};
    const double cpu_before = thread_cpu_seconds();
    const auto wall_before = std::chrono::steady_clock::now();
    pool.run(2, [](void* c, unsigned) {
        auto& x = *static_cast<context_type*>(c);
        if (std::this_thread::get_id() == x.caller) {
            // Leave the other part to the worker (it claims it within ten seconds).
            wait_politely([&] { return x.worker_started.load(); });
        } else {
            x.worker_started = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
    }, &context);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    const double cpu = thread_cpu_seconds() - cpu_before;
    BOOST_TEST(context.worker_started.load());
    BOOST_TEST(wall >= 0.25);
    // Spinning through the worker's 300 ms would take about 300 ms of the caller's CPU time.
    BOOST_TEST(cpu < 0.1, "the caller used " << cpu << " s of CPU while waiting " << wall << " s");

}

// The judge on times it is told: windows of 64 jobs, shared first, then alone, then the faster
// way, with the other tried once in 32 windows when it is clearly slower and once in 8 when it is
// close; the time between jobs counts, a pause of the program at most 50 ms.
BOOST_AUTO_TEST_CASE(the_sharing_judge_runs_the_faster_way_and_tries_the_other) {
    using judge_type = mg::detail::sharing_judge;
    using way = judge_type::way;
    constexpr unsigned window = judge_type::window;
    // Runs `windows` windows of jobs that take `shared_ns` each shared and `alone_ns` alone;
    // returns how many of them ran shared.
    const auto run = [](judge_type& judge, std::int64_t& now, int windows, std::int64_t shared_ns, std::int64_t alone_ns) {
        int shared = 0;
        for (int w = 0; w < windows; ++w) {
            way how = judge.next_job(now);
            shared += how == way::shared;
            for (unsigned job = 0; job < window; ++job) {
                if (job > 0) BOOST_REQUIRE((judge.next_job(now) == how));  // one way per window
                now += how == way::shared ? shared_ns : alone_ns;
            }
        }
        return shared;
    };
    judge_type judge;
    std::int64_t now = 1'000'000'000;
    BOOST_TEST(run(judge, now, 1, 600, 1000) == 1);  // shared first
    BOOST_TEST(run(judge, now, 1, 600, 1000) == 0);  // then alone
    BOOST_TEST(judge.mean_window_ns(way::shared) == 600.0f * window);
    BOOST_TEST(run(judge, now, 320, 600, 1000) == 320 - 10);  // shared clearly faster
    BOOST_TEST(judge.mean_window_ns(way::alone) == 1000.0f * window);

    // The load changes: shared now takes 1100 against 1000 alone. The shared mean follows at a
    // quarter a window; once above alone's, alone runs, with shared tried once in 8 windows.
    run(judge, now, 40, 1100, 1000);
    BOOST_TEST(run(judge, now, 320, 1100, 1000) == 40);

    // A pause of the program counts as 50 ms, and a window's sample at most 4 times the mean.
    judge_type paused;
    std::int64_t clock = 0;
    run(paused, clock, 2, 1000, 1000);
    paused.next_job(clock);
    clock += std::int64_t{3'600'000'000'000};  // an hour
    for (unsigned job = 1; job < window; ++job) paused.next_job(clock += 1000);
    paused.next_job(clock += 1000);
    BOOST_TEST(paused.mean_window_ns(way::shared) == (1000.0f * window + 3.0f * 1000.0f * window / 4));
}

// The pool's side: while the judge finds sharing slower, the next job's width is 1 and the
// workers get nothing; `thread_sharing::always` shares every job.
BOOST_AUTO_TEST_CASE(the_pool_runs_jobs_alone_while_sharing_is_slower) {
    mg::detail::thread_pool pool(1);
    using way = mg::detail::sharing_judge::way;
    // Shared jobs in which the worker takes 2 ms; alone they are nearly free.
    struct context_type {
        std::thread::id caller;
        std::atomic<bool> worker_started{false};
    } context{std::this_thread::get_id()};
    const auto slow_when_shared = [](void* c, unsigned) {
        auto& x = *static_cast<context_type*>(c);
        if (std::this_thread::get_id() == x.caller) {
            wait_politely([&] { return x.worker_started.load(); });
        } else {
            x.worker_started = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    };
    int shared = 0;
    for (unsigned job = 0; job < 4 * mg::detail::sharing_judge::window; ++job) {
        const unsigned width = pool.next_job_width();
        if (width > 1) {
            ++shared;
            context.worker_started = false;
            pool.run(width, slow_when_shared, &context);
        }
    }
    BOOST_TEST(shared == static_cast<int>(mg::detail::sharing_judge::window));  // the first window only
    BOOST_TEST((pool.judge().current() == way::alone));
    BOOST_TEST(pool.judge().mean_window_ns(way::shared) >= 64 * 2e6f);

    {
        threads_for_this_test t(2);
        for (int job = 0; job < 1000; ++job) BOOST_REQUIRE(mg::eval::detail::runner.next_job_width() == 2u);
    }
}

namespace {
// A word whose loads follow a script: the value changes from `before` to `after` at load number
// `change_at`, as if another thread stored it between two loads of the waiting thread. Its
// `wait(v)` returns at once (the real one returns once the word is not v) and records a wait on
// a value the waiter does not find busy: with nobody left to change the word, that wait would
// never return.
struct scripted_word {
    unsigned before, after;
    int change_at, loads = 0, waits = 0, hopeless_waits = 0;
    unsigned load(std::memory_order) { return loads++ < change_at ? before : after; }
    void wait(unsigned value, std::memory_order) {
        ++waits;
        if (value == after) ++hopeless_waits;
    }
};
}  // namespace

// The waiter sleeps only on a value it found busy, wherever the last change falls: a caller
// that tested one load of its part counter and slept on another hung when the worker's last
// increment came between the two (found on a busy machine).
BOOST_AUTO_TEST_CASE(a_waiter_never_sleeps_on_a_value_it_did_not_test) {
    int slept = 0;
    for (int change_at = 0; change_at < 80; ++change_at) {
        scripted_word word{1, 2, change_at};
        const bool did_sleep = mg::detail::wait_while(std::chrono::nanoseconds(0), word, [](unsigned done) { return done != 2; });
        BOOST_TEST(word.hopeless_waits == 0, "the word changed at load " << change_at);
        BOOST_TEST(did_sleep == (word.waits > 0));
        slept += did_sleep;
    }
    BOOST_TEST(slept > 0);  // the sleeping branch was reached (spinning ends after 32 rounds)
}

BOOST_AUTO_TEST_CASE(cpu_quotas_are_read_as_whole_cpus_rounded_down) {
    static_assert(mg::detail::cpu_max_threads("max 100000\n") == 0);
    static_assert(mg::detail::cpu_max_threads("200000 100000\n") == 2);
    static_assert(mg::detail::cpu_max_threads("150000 100000") == 1);
    static_assert(mg::detail::cpu_max_threads("50000 100000") == 1);  // at least one
    static_assert(mg::detail::cpu_max_threads("") == 0);
    static_assert(mg::detail::cpu_max_threads("12x 100000") == 0);
    static_assert(mg::detail::cpu_max_threads("100000 0") == 0);
    static_assert(mg::detail::cpu_quota_threads("-1\n", "100000\n") == 0);  // cgroup v1: no quota
    static_assert(mg::detail::cpu_quota_threads("400000\n", "100000\n") == 4);
    BOOST_TEST(mg::detail::cpu_max_threads("300000 100000") == 3u);
}

BOOST_AUTO_TEST_CASE(the_available_threads_follow_the_affinity_mask) {
    const unsigned available = mg::available_threads();
    BOOST_TEST(available >= 1u);
    BOOST_TEST(available <= hardware);
    // A thread allowed on one CPU only can run one thread at a time.
    unsigned pinned = 0;
    std::thread one([&] {
        cpu_set_t only;
        CPU_ZERO(&only);
        int first = -1;
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
            for (int cpu = 0; cpu < CPU_SETSIZE && first < 0; ++cpu)
                if (CPU_ISSET(cpu, &allowed)) first = cpu;
        if (first < 0) return;
        CPU_SET(first, &only);
        if (pthread_setaffinity_np(pthread_self(), sizeof only, &only) == 0) pinned = mg::available_threads();
    });
    one.join();
    BOOST_TEST(pinned == 1u);
}
