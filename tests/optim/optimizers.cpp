// Tests of include/metagrad/optim/: SGD with momentum and Nesterov, Adam and AdamW against
// hand-computed first steps and against PyTorch's trajectories (tests/fixtures), learning-rate
// schedules, and training with Adam in constant evaluation.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

using linear = mg::sequential<mg::dense<3, 2>>;

namespace {
linear::parameters<double> filled(double w, double b) {
    linear::parameters<double> p;
    for (auto& x : p.layer<0>().weight) x = w;
    for (auto& x : p.layer<0>().bias) x = b;
    return p;
}
}  // namespace

BOOST_AUTO_TEST_CASE(momentum_by_hand_run_time) {
    // p = 1, g = 0.5 twice; lr 0.1, momentum 0.9, dampening 0.
    // Heavy ball: b1 = 0.5, p1 = 0.95; b2 = 0.9 * 0.5 + 0.5 = 0.95, p2 = 0.95 - 0.095 = 0.855.
    // Nesterov: p1 = 1 - 0.1 (0.5 + 0.45) = 0.905; p2 = 0.905 - 0.1 (0.5 + 0.855) = 0.7695.
    auto p = filled(1, 1), q = filled(1, 1);
    const auto g = filled(0.5, 0.5);
    mg::sgd_momentum<linear, double> heavy({.learning_rate = 0.1, .momentum = 0.9});
    mg::sgd_momentum<linear, double> nesterov({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
    heavy.step(p, g);
    nesterov.step(q, g);
    BOOST_TEST(p.layer<0>().weight[0] == 0.95, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(q.layer<0>().weight[0] == 0.905, boost::test_tools::tolerance(1e-15));
    heavy.step(p, g);
    nesterov.step(q, g);
    BOOST_TEST(p.layer<0>().bias[1] == 0.855, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(q.layer<0>().bias[1] == 0.7695, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(adam_by_hand_run_time) {
    // First step: m = 0.1 g, v = 0.001 g^2, so m / (1 - 0.9) = g and sqrt(v / (1 - 0.999)) = |g|:
    // p moves by lr g / (|g| + eps) = lr (1 - eps / |g|) against the gradient's sign.
    auto p = filled(1, -1);
    auto g = filled(0.25, -4);
    mg::adam<linear, double> adam({.learning_rate = 0.01});
    adam.step(p, g);
    BOOST_TEST(p.layer<0>().weight[2] == 1 - 0.01 * 0.25 / (0.25 + 1e-8), boost::test_tools::tolerance(1e-14));
    BOOST_TEST(p.layer<0>().bias[0] == -1 + 0.01 * 4 / (4 + 1e-8), boost::test_tools::tolerance(1e-14));
    // AdamW decays first: p (1 - lr wd), then the same step.
    auto q = filled(1, -1);
    mg::adamw<linear, double> adamw({.learning_rate = 0.01, .weight_decay = 0.5});
    adamw.step(q, g);
    BOOST_TEST(q.layer<0>().weight[0] == 1 * (1 - 0.005) - 0.01 * 0.25 / (0.25 + 1e-8), boost::test_tools::tolerance(1e-14));
    BOOST_TEST(adamw.steps == 1u);
}

namespace {
// Replays the problem of tests/fixtures/make_fixtures.py: squared error on a 3-2 linear layer.
template <class Optimizer>
void check_trajectory(const std::string& name, Optimizer optimizer) {
    const auto file = mg::safetensors_file::read(METAGRAD_FIXTURES "/optimizer_trajectories.safetensors");
    mg::tensor<double, mg::shape<4, 3>> x;
    mg::tensor<double, mg::shape<4, 2>> t;
    file.copy_to("x", x);
    file.copy_to("t", t);
    linear::parameters<double> p;
    file.copy_to("weight", p.layer<0>().weight);
    file.copy_to("bias", p.layer<0>().bias);
    for (int step = 1; step <= 10; ++step) {
        mg::train_step(p, x, t, mg::squared_error{}, optimizer);
        linear::parameters<double> expected;
        file.copy_to(name + "." + std::to_string(step) + ".weight", expected.layer<0>().weight);
        file.copy_to(name + "." + std::to_string(step) + ".bias", expected.layer<0>().bias);
        double worst = 0;
        mg::for_each_tensor([&](const auto& a, const auto& b) {
            for (std::size_t i = 0; i < a.size; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
        }, p, expected);
        BOOST_TEST_INFO(name << " step " << step);
        BOOST_TEST(worst < 1e-12);
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(trajectories_match_pytorch_run_time) {
    check_trajectory("adam", mg::adam<linear, double>({.learning_rate = 0.05, .weight_decay = 0.01}));
    check_trajectory("adamw", mg::adamw<linear, double>({.learning_rate = 0.05, .weight_decay = 0.1}));
    check_trajectory("nesterov", mg::sgd_momentum<linear, double>(
                                     {.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true}));
    check_trajectory("momentum", mg::sgd_momentum<linear, double>({.learning_rate = 0.1, .momentum = 0.8, .dampening = 0.1}));
}

// Schedules are constexpr; their values at chosen steps, by hand.
static_assert(mg::step_decay{.initial = 1, .factor = 0.5, .every = 10}(25) == 0.25);
static_assert(mg::cosine_decay{.initial = 1, .final = 0, .steps = 100}(0) == 1);
static_assert(mg::cosine_decay{.initial = 1, .final = 0.1, .steps = 100}(100) == 0.1);
static_assert(mg::warmup{4, mg::constant_rate{2.0}}(0) == 0.5);
static_assert(mg::warmup{4, mg::constant_rate{2.0}}(3) == 2.0);

BOOST_AUTO_TEST_CASE(cosine_schedule_follows_the_cosine_run_time) {
    const mg::cosine_decay c{.initial = 1, .final = 0.1, .steps = 1000};
    for (std::size_t s = 0; s <= 1000; s += 37)
        BOOST_TEST(c(s) == 0.1 + 0.9 * (1 + std::cos(3.141592653589793 * static_cast<double>(s) / 1000)) / 2,
                   boost::test_tools::tolerance(1e-13));
}

// A small network trained with Adam entirely in constant evaluation: the loss falls.
using tiny = mg::sequential<mg::dense<2, 4>, mg::tanh_layer, mg::dense<1>>;
constexpr bool adam_trains_at_compile_time() {
    tiny::parameters<double> p;
    mg::random_generator g(1);
    mg::initialize(p, mg::glorot_uniform{}, g);
    mg::adam<tiny, double> adam({.learning_rate = 0.05});
    const mg::tensor<double, mg::shape<4, 2>> x{0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0};
    const mg::tensor<double, mg::shape<4, 1>> y{0.0, 1.0, 1.0, 0.0};
    const double first = mg::train_step(p, x, y, mg::squared_error{}, adam);
    double last = first;
    for (int i = 0; i < 30; ++i) last = mg::train_step(p, x, y, mg::squared_error{}, adam);
    return last < first;
}
static_assert(adam_trains_at_compile_time());

// A step count at its limit saturates instead of wrapping to 0 (issue 12: the wrap divided by
// 1 - b^0 = 0 in Adam's bias correction, and made every parameter NaN; with momentum it would take
// the next step for a first one). Both phases: constant evaluation proves no undefined behaviour.
namespace {
constexpr std::uint64_t most_steps = std::numeric_limits<std::uint64_t>::max();

template <class Optimizer>
constexpr linear::parameters<double> stepped_at_the_limit(Optimizer optimizer, std::uint64_t& steps) {
    linear::parameters<double> p, g;
    mg::for_each_tensor([](auto& w, auto& dw) {
        for (std::size_t i = 0; i < w.size; ++i) w[i] = 1, dw[i] = 0.5;
    }, p, g);
    optimizer.steps = most_steps - 1;
    for (int i = 0; i < 3; ++i) optimizer.step(p, g);
    steps = optimizer.steps;
    return p;
}
constexpr bool finite_after_the_limit(const linear::parameters<double>& p) {
    bool finite = true;
    mg::for_each_tensor([&](const auto& w) {
        for (const double x : w) finite = finite && x == x && x - x == 0;
    }, p);
    return finite;
}
constexpr bool adam_saturates() {
    std::uint64_t steps = 0;
    const auto p = stepped_at_the_limit(mg::adam<linear, double>({.learning_rate = 0.01}), steps);
    return steps == most_steps && finite_after_the_limit(p) && p.layer<0>().weight[0] < 1;
}
constexpr bool momentum_saturates() {
    std::uint64_t steps = 0;
    const auto p = stepped_at_the_limit(mg::sgd_momentum<linear, double>({.learning_rate = 0.1, .momentum = 0.9}), steps);
    return steps == most_steps && finite_after_the_limit(p);
}
}  // namespace
static_assert(adam_saturates());
static_assert(momentum_saturates());

BOOST_AUTO_TEST_CASE(step_counts_saturate_run_time) {
    std::uint64_t steps = 0;
    const auto p = stepped_at_the_limit(mg::adam<linear, double>({.learning_rate = 0.01}), steps);
    BOOST_TEST(steps == most_steps);
    // Each step moves by lr g / (|g| + eps) once the bias corrections are 1: m and v start at 0,
    // so m / sqrt(v) = 0.1 g, 0.19 g, 0.271 g over sqrt(0.001), sqrt(0.001999), sqrt(0.002997) g^2.
    const double expected = 1 - 0.01 * (0.1 / std::sqrt(0.001) + 0.19 / std::sqrt(0.001999) + 0.271 / std::sqrt(0.002997001));
    BOOST_TEST(p.layer<0>().weight[0] == expected, boost::test_tools::tolerance(1e-6));
    mg::sgd_momentum<linear, double> momentum({.learning_rate = 0.1, .momentum = 0.9});
    const auto q = stepped_at_the_limit(momentum, steps);
    BOOST_TEST(steps == most_steps);
    // The velocity after the first step: b = 0.5, then 0.95, then 1.355 (none restarts at d).
    BOOST_TEST(q.layer<0>().bias[0] == 1 - 0.1 * (0.5 + 0.95 + 1.355), boost::test_tools::tolerance(1e-12));
}

// A moment whose gradient stays 0 decays geometrically: below the normal range it is set to 0
// instead of lingering as a subnormal, which costs a microcode assist per operation (the
// Fashion-MNIST demo's epochs took 1.2-1.3 times as long, from the weights of always-black
// pixels). The vector path (lanes) and the scalar tail alike: 3 x 37 weights and 3 biases span
// both at every vector width.
BOOST_AUTO_TEST_CASE(moments_that_decay_below_the_normal_range_become_zero_run_time) {
    using wide = mg::sequential<mg::dense<37, 3>>;
    wide::parameters<float> p, g, zero;
    for (auto& v : g.layer<0>().weight) v = 1e-3f;
    mg::adam<wide, float> adam;
    mg::sgd_momentum<wide, float> momentum(mg::sgd_momentum_options<float>{.learning_rate = 0.01f, .momentum = 0.9f});
    adam.step(p, g);
    momentum.step(p, g);
    std::size_t subnormal = 0;
    const auto count = [&](const auto& t) {
        for (const float v : t) subnormal += std::fpclassify(v) == FP_SUBNORMAL;
    };
    for (int step = 0; step < 2000; ++step) {
        adam.step(p, zero);
        momentum.step(p, zero);
        mg::for_each_tensor([&](const auto& m, const auto& b) { count(m), count(b); }, adam.first_moment, momentum.velocity);
    }
    BOOST_TEST(subnormal == 0u);
    // 0.9^2000 of 1e-4 is far below the normal range: the first moment and the velocity are 0.
    BOOST_TEST(adam.first_moment.layer<0>().weight[0] == 0.0f);
    BOOST_TEST(momentum.velocity.layer<0>().weight[36] == 0.0f);
    // The second moment decays by 0.999 a step: still normal, and kept.
    BOOST_TEST(adam.second_moment.layer<0>().weight[0] > 0.0f);
}
