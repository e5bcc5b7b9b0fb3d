// Tests of include/metagrad/optim/clip_by_global_norm.hpp: PyTorch's coefficient
// min(1, max_norm / (norm + 1e-6)) checked by hand (the epsilon and the threshold included), in
// constant evaluation and at run time; the wrapper around sgd, sgd_momentum and adam through
// train_step (both forms), train_epoch and the data-parallel train_epoch; checkpoints and the
// data-parallel fingerprint of a wrapped optimizer; and the refusal of a norm that is not finite.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/dist/data_parallel.hpp"
#include "metagrad/dist/fingerprint.hpp"
#include "metagrad/dist/in_process.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
using line = mg::sequential<mg::dense<2, 1>>;

template <class T>
constexpr line::parameters<T> line_of(T w0, T w1, T b) {
    line::parameters<T> p;
    p.template layer<0>().weight = mg::matrix<T, 1, 2>{{{w0, w1}}};
    p.template layer<0>().bias = mg::vector<T, 1>{b};
    return p;
}

/// An optimizer that keeps the gradients it is given and changes nothing: what the wrapper
/// passes on, seen directly (and a user's own optimizer, wrapped).
template <class Net, class T>
struct recorder {
    static constexpr std::string_view name = "recorder";
    static constexpr std::size_t state_copies = 0;
    using parameters_type = mg::network_parameters<Net, T>;
    parameters_type seen{};
    int calls = 0;
    template <class F>
    constexpr void for_each_state(F&&) const {}
    constexpr void step(parameters_type&, const parameters_type& g) {
        seen = g;
        ++calls;
    }
};

template <class T>
constexpr T distance(T a, T b) {
    return a < b ? b - a : a - b;
}
}  // namespace

// ---- Constant evaluation ------------------------------------------------------------------------

// The names checkpoints and fingerprints read, and the memory the summary counts.
static_assert(mg::clip_by_global_norm<mg::sgd<float>>::name == "sgd clipped by global norm");
static_assert(mg::clip_by_global_norm<mg::adam<line, float>>::name == "adam clipped by global norm");
static_assert(mg::clip_by_global_norm<mg::adamw<line, float>>::name == "adamw clipped by global norm");
static_assert(mg::clip_by_global_norm<mg::sgd_momentum<line, float>>::name == "sgd_momentum clipped by global norm");
static_assert(mg::clip_by_global_norm<mg::sgd<float>>::state_copies == 0);  // sgd scales its rate: no copy
static_assert(mg::clip_by_global_norm<mg::adam<line, float>>::state_copies == 3);
static_assert(mg::clippable_optimizer<recorder<line, double>>);
static_assert(!mg::clippable_optimizer<mg::adam_options<float>>);
// It is an optimizer for the network it was made for, and for no other.
using other = mg::sequential<mg::dense<3, 1>>;
static_assert(mg::optimizer_takes<mg::optimizer_of<mg::clip_by_global_norm<mg::adam<line, float>>>, mg::parameters_of<line::parameters<float>>>);
static_assert(!mg::optimizer_takes<mg::optimizer_of<mg::clip_by_global_norm<mg::adam<line, float>>>, mg::parameters_of<other::parameters<float>>>);
static_assert(!mg::optimizer_takes<mg::optimizer_of<mg::clip_by_global_norm<mg::adam<line, float>>>, mg::parameters_of<line::parameters<double>>>);
static_assert(mg::optimizer_takes<mg::optimizer_of<mg::clip_by_global_norm<mg::sgd<float>>>, mg::parameters_of<other::parameters<float>>>);
// The workspace step fuses plain sgd into the backward pass; clipping needs every gradient first.
static_assert(!mg::step_keeps_gradients<mg::sgd<float>, float>);
static_assert(mg::step_keeps_gradients<mg::clip_by_global_norm<mg::sgd<float>>, float>);

namespace {
struct clipped_sgd_result {
    line::parameters<double> p;
    double norm;
};
/// One step of sgd (rate 1) clipped at `max_norm`, from p = (1, 2; 0.5) with g = (3, 0; 4): norm 5.
constexpr clipped_sgd_result sgd_clipped_at(double max_norm) {
    auto p = line_of(1.0, 2.0, 0.5);
    const auto g = line_of(3.0, 0.0, 4.0);
    mg::clip_by_global_norm optimizer(mg::sgd{1.0}, max_norm);
    optimizer.step(p, g);
    return {p, optimizer.last_norm};
}
}  // namespace
static_assert(sgd_clipped_at(1).norm == 5);
// Above the threshold: p - (max_norm / (5 + 1e-6)) g.
static_assert(sgd_clipped_at(1).p == line_of(1 - (1 / (5 + 1e-6)) * 3, 2.0, 0.5 - (1 / (5 + 1e-6)) * 4));
static_assert(sgd_clipped_at(2).p.layer<0>().bias[0] == 0.5 - (2 / (5 + 1e-6)) * 4);
// Below it: the plain step, bit for bit.
static_assert(sgd_clipped_at(10).p == line_of(1.0 - 3, 2.0, 0.5 - 4));

namespace {
/// The gradients a recorder wrapped with `max_norm` receives for g = (a, b; c).
constexpr line::parameters<double> passed_on(double a, double b, double c, double max_norm) {
    auto p = line_of(0.0, 0.0, 0.0);
    mg::clip_by_global_norm<recorder<line, double>> optimizer(recorder<line, double>{}, max_norm);
    optimizer.step(p, line_of(a, b, c));
    return optimizer.seen;
}
}  // namespace
// PyTorch's epsilon, where it decides: norm 1e-6 clipped at 1e-7 is scaled by 1e-7 / (1e-6 + 1e-6)
// = 0.05, where max_norm / norm would give 0.1.
static_assert(distance(passed_on(6e-7, 0, 8e-7, 1e-7).layer<0>().weight(0, 0), 6e-7 * 0.05) < 1e-22);
static_assert(distance(passed_on(6e-7, 0, 8e-7, 1e-7).layer<0>().bias[0], 8e-7 * 0.05) < 1e-22);
// PyTorch's threshold: the coefficient is clamped at 1, so a norm equal to max_norm, or up to
// 1e-6 below it, is still scaled (by a hair under 1), and one further below passes untouched.
static_assert(passed_on(3, 0, 4, 5).layer<0>().weight(0, 0) == 3 * (5 / (5 + 1e-6)));
static_assert(passed_on(4.9999995, 0, 0, 5).layer<0>().weight(0, 0) == 4.9999995 * (5 / (4.9999995 + 1e-6)));
static_assert(passed_on(4.9999995, 0, 0, 5).layer<0>().weight(0, 0) < 4.9999995);
static_assert(passed_on(4.999998, 0, 0, 5) == line_of(4.999998, 0.0, 0.0));
static_assert(passed_on(3, 0, 4, 6) == line_of(3.0, 0.0, 4.0));

// Adam, clipped, trains a small network entirely in constant evaluation: it clips at first
// (the measured norm is above max_norm) and the loss falls.
using tiny = mg::sequential<mg::dense<2, 4>, mg::tanh_layer, mg::dense<1>>;
constexpr bool clipped_adam_trains_at_compile_time() {
    tiny::parameters<double> p;
    mg::random_generator g(1);
    mg::initialize(p, mg::glorot_uniform{}, g);
    mg::clip_by_global_norm<mg::adam<tiny, double>> adam(mg::adam_options<double>{.learning_rate = 0.05}, 0.1);
    const mg::tensor<double, mg::shape<4, 2>> x{0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0};
    const mg::tensor<double, mg::shape<4, 1>> y{0.0, 1.0, 1.0, 0.0};
    const double first = mg::train_step(p, x, y, mg::squared_error{}, adam);
    const bool clipped = adam.last_norm > 0.1;
    double last = first;
    for (int i = 0; i < 30; ++i) last = mg::train_step(p, x, y, mg::squared_error{}, adam);
    return clipped && adam.steps == 31 && last < first;
}
static_assert(clipped_adam_trains_at_compile_time());

// ---- Run time -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(clip_by_global_norm)

BOOST_AUTO_TEST_CASE(the_epsilon_and_the_threshold_are_pytorchs_run_time) {
    // The same cases as the static_asserts, at run time (the norm through the hardware sqrt).
    const auto tiny_norm = passed_on(6e-7, 0, 8e-7, 1e-7);
    BOOST_TEST(tiny_norm.layer<0>().weight(0, 0) == 3e-8, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(tiny_norm.layer<0>().bias[0] == 4e-8, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(passed_on(3, 0, 4, 5).layer<0>().weight(0, 0) == 3 * (5 / (5 + 1e-6)));
    BOOST_TEST(passed_on(3, 0, 4, 5).layer<0>().weight(0, 0) < 3.0);
    BOOST_TEST((passed_on(4.999998, 0, 0, 5) == line_of(4.999998, 0.0, 0.0)));
    // Infinity clips nothing.
    BOOST_TEST((passed_on(3e30, 0, 4e30, std::numeric_limits<double>::infinity()) == line_of(3e30, 0.0, 4e30)));
}

BOOST_AUTO_TEST_CASE(momentum_receives_the_scaled_gradients_run_time) {
    // g = (3, 4; 12): norm 13 exactly. With momentum 0 the velocity is the gradient it was given,
    // and the step is -lr times it.
    mg::clip_by_global_norm<mg::sgd_momentum<line, float>> optimizer(
        mg::sgd_momentum_options<float>{.learning_rate = 1, .momentum = 0}, 1.0f);
    auto p = line_of(0.0f, 0.0f, 0.0f);
    const auto g = line_of(3.0f, 4.0f, 12.0f);
    optimizer.step(p, g);
    BOOST_TEST(optimizer.last_norm == 13.0);
    const float scale = static_cast<float>(1.0 / (13.0 + 1e-6));
    BOOST_TEST((optimizer.velocity == line_of(scale * 3, scale * 4, scale * 12)));
    BOOST_TEST((p == line_of(-(scale * 3), -(scale * 4), -(scale * 12))));
    BOOST_TEST(optimizer.steps == 1u);
    // The scaled gradient has the norm max_norm * 13 / (13 + 1e-6): just under 1.
    double sum = 0;
    mg::for_each_tensor([&](const auto& t) { for (const float v : t) sum += static_cast<double>(v) * v; }, optimizer.velocity);
    BOOST_TEST(std::sqrt(sum) < 1.0);
    BOOST_TEST(std::sqrt(sum) == 13 / (13 + 1e-6), boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(below_the_threshold_adam_steps_as_if_unwrapped_run_time) {
    mg::clip_by_global_norm<mg::adam<line, float>> clipped(mg::adam_options<float>{.learning_rate = 0.1f}, 13.5f);
    mg::adam<line, float> plain(mg::adam_options<float>{.learning_rate = 0.1f});
    auto p = line_of(1.0f, -1.0f, 0.5f), q = p;
    for (int i = 0; i < 3; ++i) {
        const auto g = line_of(3.0f, 4.0f, static_cast<float>(12 - i));  // norms 13, 12.6, 12.2
        clipped.step(p, g);
        plain.step(q, g);
    }
    BOOST_TEST((p == q));
    BOOST_TEST((clipped.first_moment == plain.first_moment));
    BOOST_TEST((clipped.second_moment == plain.second_moment));
    BOOST_TEST(clipped.steps == 3u);
    BOOST_TEST(clipped.last_norm == std::sqrt(3.0 * 3 + 4 * 4 + 10 * 10));
    // Above it, the step differs.
    clipped.max_norm = 1;
    clipped.step(p, line_of(3.0f, 4.0f, 12.0f));
    plain.step(q, line_of(3.0f, 4.0f, 12.0f));
    BOOST_TEST((clipped.first_moment != plain.first_moment));
}

namespace {
using small = mg::sequential<mg::input<3>, mg::dense<4>, mg::tanh_layer, mg::dense<2>>;
constexpr std::size_t rows = 8;

struct problem {
    small::parameters<float> p = test_support::random_parameters<small, float>();
    mg::tensor<float, mg::shape<rows, 3>> x = test_support::random_tensor<float, mg::shape<rows, 3>>();
    mg::tensor<float, mg::shape<rows, 2>> y = test_support::random_tensor<float, mg::shape<rows, 2>>();
};

double norm_of(const small::parameters<float>& g) {
    double sum = 0;
    mg::for_each_tensor([&](const auto& t) { for (const float v : t) sum += static_cast<double>(v) * v; }, g);
    return std::sqrt(sum);
}
}  // namespace

BOOST_AUTO_TEST_CASE(sgd_through_the_workspace_step_is_clipped_not_fused_run_time) {
    const problem pr;
    mg::workspace<small, float, mg::shape<rows, 3>> ws;
    mg::value_and_gradient(pr.p, pr.x, pr.y, mg::mse{}, ws);
    const small::parameters<float> g = ws.gradient.parameters;
    const double norm = norm_of(g);
    BOOST_REQUIRE(norm > 0.1);

    mg::clip_by_global_norm clipped(mg::sgd{0.5f}, static_cast<float>(norm / 4));
    auto p = pr.p;
    mg::train_step(p, pr.x, pr.y, mg::mse{}, clipped, ws);
    BOOST_TEST(clipped.last_norm == norm, boost::test_tools::tolerance(1e-12));
    // The caller's gradients are left as they were computed.
    BOOST_TEST((ws.gradient.parameters == g));
    // p - lr (max_norm / (norm + 1e-6)) g: a quarter of the plain step.
    const double c = (norm / 4) / (norm + 1e-6);
    double worst = 0, moved = 0;
    mg::for_each_tensor([&](const auto& after, const auto& before, const auto& dw) {
        for (std::size_t i = 0; i < after.size; ++i) {
            const double expected = static_cast<double>(before[i]) - 0.5 * c * static_cast<double>(dw[i]);
            worst = std::max(worst, std::abs(static_cast<double>(after[i]) - expected));
            moved = std::max(moved, std::abs(static_cast<double>(after[i] - before[i])));
        }
    }, p, pr.p, g);
    BOOST_TEST(worst < 1e-6);
    BOOST_TEST(moved > 1e-3);
}

BOOST_AUTO_TEST_CASE(adam_through_train_step_is_adam_on_the_scaled_gradients_run_time) {
    const problem pr;
    const auto [loss, g, state] = mg::value_and_gradient(pr.p, pr.x, pr.y, mg::mse{});
    const float max_norm = static_cast<float>(norm_of(g) / 3);

    mg::clip_by_global_norm<mg::adam<small, float>> clipped(mg::adam_options<float>{.learning_rate = 0.01f}, max_norm);
    auto p = pr.p;
    const float value = mg::train_step(p, pr.x, pr.y, mg::mse{}, clipped);
    BOOST_TEST(value == loss);
    BOOST_TEST(clipped.last_norm == norm_of(g), boost::test_tools::tolerance(1e-12));

    // By hand: the gradients times the coefficient (from the measured norm, so that the two
    // agree bit for bit), then plain Adam.
    const float scale = static_cast<float>(static_cast<double>(max_norm) / (clipped.last_norm + 1e-6));
    BOOST_TEST(scale < 0.34f);
    auto scaled = g;
    mg::for_each_tensor([&](auto& t) { for (float& v : t) v *= scale; }, scaled);
    mg::adam<small, float> plain(mg::adam_options<float>{.learning_rate = 0.01f});
    auto q = pr.p;
    plain.step(q, scaled);
    BOOST_TEST((p == q));
    BOOST_TEST((clipped.first_moment == plain.first_moment));
    BOOST_TEST((clipped.second_moment == plain.second_moment));

    // The workspace step gives the same gradients, hence the same clipped step.
    mg::clip_by_global_norm<mg::adam<small, float>> again(mg::adam_options<float>{.learning_rate = 0.01f}, max_norm);
    mg::workspace<small, float, mg::shape<rows, 3>> ws;
    auto r = pr.p;
    mg::train_step(r, pr.x, pr.y, mg::mse{}, again, ws);
    BOOST_TEST(again.last_norm == clipped.last_norm, boost::test_tools::tolerance(1e-6));
    double worst = 0;
    mg::for_each_tensor([&](const auto& a, const auto& b) {
        for (std::size_t i = 0; i < a.size; ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i] - b[i])));
    }, r, p);
    BOOST_TEST(worst < 1e-6);
}

namespace {
using classifier = mg::sequential<mg::input<4>, mg::dense<8>, mg::relu, mg::dense<3>>;
constexpr std::size_t batch = 4;

mg::dataset<float, mg::shape<4>> separable() { return test_support::separable_classes(); }

/// One epoch of `optimizer` from the same start; returns the parameters.
template <class Optimizer>
classifier::parameters<float> one_epoch(Optimizer& optimizer, mg::training_position& position) {
    classifier::parameters<float> p;
    mg::random_generator g(1);
    mg::initialize(p, mg::he_uniform{}, g);
    auto memory = std::make_unique<mg::training_memory<classifier, float, batch>>();
    mg::train_epoch(p, optimizer, mg::constant_rate{0.02}, separable(), mg::softmax_cross_entropy{}, position, *memory,
                    [](std::size_t, std::size_t, const mg::metrics&) {});
    return p;
}
}  // namespace

BOOST_AUTO_TEST_CASE(train_epoch_sets_the_wrapped_rate_and_steps_it_run_time) {
    const auto start = [] { return mg::training_position{.shuffle = mg::random_generator(3)}; };
    // Made in place on the heap from Adam's options.
    auto clipped = std::make_unique<mg::clip_by_global_norm<mg::adam<classifier, float>>>(mg::adam_options<float>{}, 0.05f);
    auto position = start();
    const auto p = one_epoch(*clipped, position);
    BOOST_TEST(clipped->options.learning_rate == 0.02f);  // from the schedule, through the wrapper
    BOOST_TEST(clipped->steps == 16u);
    BOOST_TEST(std::isfinite(clipped->last_norm));
    BOOST_TEST(clipped->last_norm > 0.0);
    // Unclipped (max_norm infinite) it is plain Adam bit for bit; clipped at 0.05, it is not.
    auto unclipped = std::make_unique<mg::clip_by_global_norm<mg::adam<classifier, float>>>(
        mg::adam_options<float>{}, std::numeric_limits<float>::infinity());
    auto plain = std::make_unique<mg::adam<classifier, float>>();
    auto position_u = start(), position_p = start();
    const auto pu = one_epoch(*unclipped, position_u);
    const auto pp = one_epoch(*plain, position_p);
    BOOST_TEST((pu == pp));
    BOOST_TEST((p != pp));
    // Plain sgd wrapped: its learning_rate is set, and the epoch runs the unfused step.
    mg::clip_by_global_norm clipped_sgd(mg::sgd{0.0f}, 0.05f);
    auto position_s = start();
    one_epoch(clipped_sgd, position_s);
    BOOST_TEST(clipped_sgd.learning_rate == 0.02f);
    BOOST_TEST(clipped_sgd.last_norm > 0.0);
}

BOOST_AUTO_TEST_CASE(data_parallel_ranks_clip_the_same_mean_gradient_run_time) {
    // Every rank clips the mean over all ranks' blocks, so one rank and two train the same weights.
    const auto all = separable();
    const mg::data_parallel_plan<batch> plan{.blocks = 2, .samples = all.size()};
    const auto train_on = [&](std::size_t ranks) {
        std::vector<classifier::parameters<float>> results(ranks);
        std::vector<double> norms(ranks);
        mg::run_in_process(ranks, [&](mg::in_process_group& group) {
            const auto [first, last] = plan.samples_of(group.rank(), group.size());
            classifier::parameters<float> p;
            mg::random_generator g(1);
            mg::initialize(p, mg::he_uniform{}, g);
            mg::clip_by_global_norm<mg::adam<classifier, float>> adam(mg::adam_options<float>{}, 0.05f);
            mg::training_position position{.seed = 11, .shuffle = mg::random_generator(12)};
            auto memory = std::make_unique<mg::data_parallel_memory<classifier, float, batch>>();
            mg::train_epoch(group, plan, p, adam, mg::constant_rate{0.01}, all.slice(first, last), mg::softmax_cross_entropy{}, position,
                            *memory, [](std::size_t, std::size_t, const mg::metrics&) {}, "separable");
            results[group.rank()] = p;
            norms[group.rank()] = adam.last_norm;
        });
        BOOST_TEST(norms[0] > 0.05);  // it clipped
        for (std::size_t r = 1; r < ranks; ++r) {
            BOOST_TEST((results[r] == results[0]));
            BOOST_TEST(norms[r] == norms[0]);
        }
        return results[0];
    };
    BOOST_TEST((train_on(1) == train_on(2)));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_a_wrapped_optimizer_round_trips_run_time) {
    const std::string path = std::string(METAGRAD_TEST_OUTPUT) + "/clipped_adam.safetensors";
    const problem pr;
    mg::clip_by_global_norm<mg::adam<small, float>> clipped(mg::adam_options<float>{.learning_rate = 0.01f}, 0.5f);
    auto p = pr.p;
    for (int i = 0; i < 3; ++i) mg::train_step(p, pr.x, pr.y, mg::mse{}, clipped);
    const mg::training_position position{.step = 3, .shuffle = mg::random_generator(3)};
    mg::save_checkpoint(path, p, clipped, position);
    BOOST_TEST(mg::safetensors_file::read(path).metadata("optimizer") == "adam clipped by global norm");
    BOOST_TEST(mg::safetensors_file::read(path).metadata("optimizer.steps") == "3");

    mg::clip_by_global_norm<mg::adam<small, float>> loaded(mg::adam_options<float>{.learning_rate = 0.01f}, 0.5f);
    small::parameters<float> q;
    mg::training_position where{.shuffle = mg::random_generator(5)};
    mg::load_checkpoint(path, q, loaded, where);
    BOOST_TEST((q == p));
    BOOST_TEST((loaded.first_moment == clipped.first_moment));
    BOOST_TEST((loaded.second_moment == clipped.second_moment));
    BOOST_TEST(loaded.steps == 3u);
    BOOST_TEST(where.step == 3u);
    // Resumed, the next step is the uninterrupted run's.
    mg::train_step(p, pr.x, pr.y, mg::mse{}, clipped);
    mg::train_step(q, pr.x, pr.y, mg::mse{}, loaded);
    BOOST_TEST((q == p));

    // Plain Adam refuses it, naming both optimizers, and the other way round; a plain Adam run
    // is resumed with clipping through the base class.
    mg::adam<small, float> plain(mg::adam_options<float>{.learning_rate = 0.01f});
    small::parameters<float> r;
    try {
        mg::load_checkpoint(path, r, plain, where);
        BOOST_FAIL("plain adam loaded a clipped adam's checkpoint");
    } catch (const mg::io_error& e) {
        BOOST_TEST(std::string(e.what()).find("program's optimizer, adam, found one from another optimizer, adam clipped by global norm") !=
                       std::string::npos,
                   e.what());
    }
    const std::string plain_path = std::string(METAGRAD_TEST_OUTPUT) + "/plain_adam.safetensors";
    auto t = pr.p;
    mg::train_step(t, pr.x, pr.y, mg::mse{}, plain);
    mg::save_checkpoint(plain_path, t, plain, position);
    mg::clip_by_global_norm<mg::adam<small, float>> resumed(mg::adam_options<float>{.learning_rate = 0.01f}, 0.5f);
    try {
        mg::load_checkpoint(plain_path, r, resumed, where);
        BOOST_FAIL("clipped adam loaded a plain adam's checkpoint");
    } catch (const mg::io_error& e) {
        BOOST_TEST(std::string(e.what()).find("program's optimizer, adam clipped by global norm, found one from another optimizer, adam") !=
                       std::string::npos,
                   e.what());
    }
    BOOST_TEST(resumed.steps == 0u);
    mg::load_checkpoint(plain_path, r, static_cast<mg::adam<small, float>&>(resumed), where);
    BOOST_TEST((r == t));
    BOOST_TEST((resumed.second_moment == plain.second_moment));
    BOOST_TEST(resumed.steps == 1u);
    BOOST_TEST(resumed.max_norm == 0.5f);

    // Wrapped sgd: parameters and the name only.
    const std::string sgd_path = std::string(METAGRAD_TEST_OUTPUT) + "/clipped_sgd.safetensors";
    mg::clip_by_global_norm clipped_sgd(mg::sgd{0.1f}, 1.0f);
    mg::save_checkpoint(sgd_path, p, clipped_sgd, position);
    BOOST_TEST(mg::safetensors_file::read(sgd_path).metadata("optimizer") == "sgd clipped by global norm");
    small::parameters<float> s;
    mg::load_checkpoint(sgd_path, s, clipped_sgd, where);
    BOOST_TEST((s == p));
}

BOOST_AUTO_TEST_CASE(the_fingerprint_says_the_optimizer_is_clipped_run_time) {
    const problem pr;
    const mg::training_position position{.shuffle = mg::random_generator(3)};
    mg::clip_by_global_norm<mg::adam<small, float>> clipped(mg::adam_options<float>{.learning_rate = 0.01f}, 0.5f);
    const mg::adam<small, float> plain(mg::adam_options<float>{.learning_rate = 0.01f});
    const auto f = mg::fingerprint_of(pr.p, clipped, position, "data", "plan");
    const auto h = mg::fingerprint_of(pr.p, plain, position, "data", "plan");
    BOOST_TEST(std::string(f.items[2].words()).starts_with("adam clipped by global norm, learning rate 0.01"), f.items[2].words());
    BOOST_TEST(f.items[2].hash != h.items[2].hash);
    BOOST_TEST(f.items[1].hash == h.items[1].hash);
    // Ranks that clip at different norms refuse to train together, naming the thresholds.
    BOOST_TEST(std::string(f.items[2].words()).find("gradients clipped at norm 0.5") != std::string::npos, f.items[2].words());
    mg::clip_by_global_norm<mg::adam<small, float>> other(mg::adam_options<float>{.learning_rate = 0.01f}, 2.0f);
    BOOST_TEST(mg::fingerprint_of(pr.p, other, position, "data", "plan").items[2].hash != f.items[2].hash);
}

BOOST_AUTO_TEST_CASE(a_norm_that_is_not_finite_refuses_the_step_run_time) {
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        mg::clip_by_global_norm<mg::adam<line, float>> clipped(mg::adam_options<float>{}, 1.0f);
        const auto start = line_of(1.0f, 2.0f, 3.0f);
        auto p = start;
        try {
            clipped.step(p, line_of(0.5f, 0.5f, bad));
            BOOST_FAIL("a step with a non-finite gradient was taken");
        } catch (const mg::non_finite_error& e) {
            BOOST_TEST_MESSAGE(e.what());
            BOOST_TEST(e.tensor == "0.bias");
            BOOST_TEST(std::string(e.what()).find("the gradient of '0.bias' is not finite") != std::string::npos, e.what());
        }
        // Nothing was changed: not the parameters, nor Adam's moments or its step count.
        BOOST_TEST((p == start));
        BOOST_TEST(clipped.steps == 0u);
        BOOST_TEST((clipped.first_moment == line::parameters<float>{}));
        BOOST_TEST(!std::isfinite(clipped.last_norm));
    }
    // In double, finite gradients whose squares overflow.
    mg::clip_by_global_norm clipped(mg::sgd{0.1}, 1.0);
    auto p = line_of(1.0, 2.0, 3.0);
    try {
        clipped.step(p, line_of(1e200, 0.0, 0.0));
        BOOST_FAIL("a step with an overflowing norm was taken");
    } catch (const mg::non_finite_error& e) {
        BOOST_TEST(e.tensor.empty());
        BOOST_TEST(std::string(e.what()).find("overflowed") != std::string::npos, e.what());
    }
    BOOST_TEST((p == line_of(1.0, 2.0, 3.0)));
    // A max_norm that would turn the step around or make it NaN.
    for (const double m : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
        clipped.max_norm = m;
        BOOST_CHECK_THROW(clipped.step(p, line_of(1.0, 0.0, 0.0)), std::invalid_argument);
    }
    BOOST_TEST((p == line_of(1.0, 2.0, 3.0)));
}

namespace {
/// A finite loss whose gradient is NaN: what a backward pass that overflows looks like to the
/// step, which the default checks (the loss only) let through.
struct poisoned_loss {
    template <class T, class S>
    static constexpr T value(const mg::tensor<T, S>&, const mg::tensor<T, S>&) {
        return T(1);
    }
    template <class T, class S>
    static constexpr mg::tensor<T, S> gradient(const mg::tensor<T, S>&, const mg::tensor<T, S>&) {
        mg::tensor<T, S> g;
        g[0] = std::numeric_limits<T>::quiet_NaN();
        return g;
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(train_epoch_stops_where_the_norm_is_not_finite_run_time) {
    classifier::parameters<float> start;
    mg::random_generator g(1);
    mg::initialize(start, mg::he_uniform{}, g);
    auto memory = std::make_unique<mg::training_memory<classifier, float, batch>>();
    const auto data = separable();
    const auto ignore = [](std::size_t, std::size_t, const mg::metrics&) {};

    // Unwrapped, Adam takes the NaN gradients and the weights become NaN without a word.
    auto plain = std::make_unique<mg::adam<classifier, float>>();
    auto p = start;
    mg::training_position position{.shuffle = mg::random_generator(3)};
    mg::train_epoch(p, *plain, mg::constant_rate{0.02}, data, poisoned_loss{}, position, *memory, ignore);
    BOOST_TEST(!mg::first_non_finite(p).empty());

    // Wrapped, the first step is refused, naming the gradient, with nothing changed.
    auto clipped = std::make_unique<mg::clip_by_global_norm<mg::adam<classifier, float>>>(mg::adam_options<float>{}, 1.0f);
    auto q = start;
    mg::training_position where{.shuffle = mg::random_generator(3)};
    try {
        mg::train_epoch(q, *clipped, mg::constant_rate{0.02}, data, poisoned_loss{}, where, *memory, ignore);
        BOOST_FAIL("an epoch with NaN gradients ran to its end");
    } catch (const mg::non_finite_error& e) {
        BOOST_TEST_MESSAGE(e.what());
        BOOST_TEST(e.tensor == "1.weight");
        BOOST_TEST(std::string(e.what()).find("global norm is nan") != std::string::npos, e.what());
    }
    BOOST_TEST((q == start));
    BOOST_TEST(clipped->steps == 0u);
    BOOST_TEST(where.step == 0u);
}

// The use docs/training.md shows (its snippet is this region, checked by the docs_snippets test).
BOOST_AUTO_TEST_CASE(the_documented_use_run_time) {
    classifier::parameters<float> p;
    mg::random_generator init(1);
    mg::initialize(p, mg::he_uniform{}, init);
    auto memory = std::make_unique<mg::training_memory<classifier, float, batch>>();
    mg::training_position position{.shuffle = mg::random_generator(3)};
    const auto data = separable();
    // [clipping]
    // Adam on gradients scaled down to a global L2 norm of at most 1 before each step; made in
    // place on the heap, as the unclipped one is. The norm each step measured, before clipping,
    // is in last_norm.
    auto optimizer = std::make_unique<mg::clip_by_global_norm<mg::adam<classifier, float>>>(
        mg::adam_options<float>{.learning_rate = 1e-3f}, 1.0f);
    std::vector<double> norms;
    mg::train_epoch(p, *optimizer, mg::constant_rate{1e-3}, data, mg::softmax_cross_entropy{}, position, *memory,
                    [&](std::size_t, std::size_t, const mg::metrics&) { norms.push_back(optimizer->last_norm); });
    // [clipping]
    BOOST_TEST(norms.size() == 16u);
    BOOST_TEST(norms.back() == optimizer->last_norm);
    BOOST_TEST(optimizer->steps == 16u);
}

BOOST_AUTO_TEST_SUITE_END()
