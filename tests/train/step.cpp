// Tests of include/metagrad/train/step.hpp: a training step on a sample and on a minibatch, its
// result against its parts, learning progress, constant evaluation, and no heap allocation.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <new>

#include <pthread.h>

#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/metagrad.hpp"

#include "../allocation_counter.hpp"

namespace mg = metagrad;
using namespace test_support;

using net = mg::sequential<mg::dense<3, 8>, mg::tanh_layer, mg::dense<8>, mg::relu, mg::dense<2>>;

// Three SGD steps in constant evaluation: the loss goes down.
constexpr bool loss_decreases_at_compile_time() {
    net::parameters<double> p;
    double seed = 0.2;
    mg::for_each_tensor([&](auto& w) {
        for (auto& v : w) {
            seed = seed * 1.3 + 0.17;
            seed -= static_cast<int>(seed);
            v = seed - 0.5;
        }
    }, p);
    const mg::matrix<double, 2, 3> x{{{0.5, -0.3, 0.8}, {-0.1, 0.9, 0.2}}};
    const mg::matrix<double, 2, 2> y{{{1.0, 0.0}, {0.0, 1.0}}};
    mg::sgd<double> optimizer{0.1};
    const double first = mg::train_step(p, x, y, mg::mse{}, optimizer);
    mg::train_step(p, x, y, mg::mse{}, optimizer);
    const double third = mg::train_step(p, x, y, mg::mse{}, optimizer);
    return third < first;
}
static_assert(loss_decreases_at_compile_time());

BOOST_AUTO_TEST_SUITE(train_step)

BOOST_AUTO_TEST_CASE(runtime_step_is_forward_loss_backward_update) {
    auto p = random_parameters<net, double>();
    const auto x = random_tensor<double, mg::shape<3>>();
    const auto y = random_tensor<double, mg::shape<2>>();
    const auto expected = mg::value_and_gradient(p, x, y, mg::squared_error{});
    auto expected_after = p;
    mg::for_each_tensor([](auto& w, const auto& g) { w = w - 0.05 * g; }, expected_after, expected.gradient);
    mg::sgd<double> optimizer{0.05};
    const double loss = mg::train_step(p, x, y, mg::squared_error{}, optimizer);
    BOOST_TEST(loss == expected.loss);
    BOOST_TEST((p == expected_after));
}

BOOST_AUTO_TEST_CASE(runtime_workspace_step_equals_the_value_step) {
    // The in-place step (which skips the input's gradient) gives the same loss and parameter
    // gradients as the step that returns everything by value, bit for bit, for a network that
    // starts with a layer without parameters too.
    using padded = mg::sequential<mg::input<3>, mg::relu, mg::dense<8>, mg::tanh_layer, mg::dense<2>>;
    const auto p = random_parameters<padded, double>();
    const auto x = random_tensor<double, mg::shape<5, 3>>(0.05);
    const auto y = random_tensor<double, mg::shape<5, 2>>();
    const auto expected = mg::value_and_gradient(p, x, y, mg::squared_error{});
    mg::workspace<padded, double, mg::shape<5, 3>> ws;
    const double loss = mg::value_and_gradient(p, x, y, mg::squared_error{}, ws);
    BOOST_TEST(loss == expected.loss);
    BOOST_TEST((ws.gradient.parameters == expected.gradient));
    BOOST_TEST((ws.trace.output() == padded::forward(p, x)));
}

// The hooks train_epoch checks finiteness through run before anything is updated: a hook that
// throws leaves the parameters and the optimizer as they were, with plain SGD (whose update is
// fused into the backward pass: only the loss hook runs) and with Adam (the gradient hook too,
// given the gradients the update would use).
static_assert(!mg::step_keeps_gradients<mg::sgd<float>, float>);
static_assert(mg::step_keeps_gradients<mg::adam<net, float>, float>);
struct stop_here {};

BOOST_AUTO_TEST_CASE(runtime_guarded_step_checks_before_it_updates) {
    using X = mg::shape<4, 3>;
    const auto start = random_parameters<net, float>();
    const auto x = random_tensor<float, X>();
    const auto y = random_tensor<float, mg::shape<4, 2>>();
    auto ws = std::make_unique<mg::workspace<net, float, X>>();
    const auto throw_loss = [](float) { throw stop_here{}; };
    const auto throw_gradients = [](const net::parameters<float>&) { throw stop_here{}; };

    auto p = start;
    mg::sgd<float> sgd{0.1f};
    BOOST_CHECK_THROW(mg::detail::guarded_train_step(p, x, y, mg::squared_error{}, sgd, *ws, throw_loss, mg::detail::no_check{}),
                      stop_here);
    BOOST_TEST((p == start));
    auto adam = std::make_unique<mg::adam<net, float>>(mg::adam_options<float>{.learning_rate = 0.1f});
    const auto adam_before = *adam;
    BOOST_CHECK_THROW(mg::detail::guarded_train_step(p, x, y, mg::squared_error{}, *adam, *ws, throw_loss, mg::detail::no_check{}),
                      stop_here);
    BOOST_CHECK_THROW(mg::detail::guarded_train_step(p, x, y, mg::squared_error{}, *adam, *ws, mg::detail::no_check{}, throw_gradients),
                      stop_here);
    BOOST_TEST((p == start));
    BOOST_TEST(adam->steps == adam_before.steps);
    // Hooks that pass change nothing: the guarded step is train_step.
    net::parameters<float> seen_gradient;
    auto q = start;
    const float loss = mg::detail::guarded_train_step(p, x, y, mg::squared_error{}, *adam, *ws, mg::detail::no_check{},
                                                      [&](const net::parameters<float>& g) { seen_gradient = g; });
    auto adam_again = std::make_unique<mg::adam<net, float>>(adam_before);
    auto ws_again = std::make_unique<mg::workspace<net, float, X>>();
    BOOST_TEST(loss == mg::train_step(q, x, y, mg::squared_error{}, *adam_again, *ws_again));
    BOOST_TEST((p == q));
    BOOST_TEST((seen_gradient == ws_again->gradient.parameters));
}

// The workspace step with plain SGD takes each layer's step inside the backward pass (dense
// layers inside their weight-gradient kernel): the loss is the same bit for bit, and the
// parameters after it are those after the gradient step and a separate SGD update, up to one
// rounding (w - lr g is one fused multiply-add or two roundings, as the compiler contracts each
// loop). Shapes where the weight gradients take the plain-loop, row-panel and threaded paths.
template <class Net, class T, std::size_t Batch>
void check_fused_sgd(unsigned threads) {
    using X = mg::batch_of<Batch, typename Net::template shape_at<0>>;
    using Y = mg::batch_of<Batch, typename Net::output_shape>;
    mg::set_thread_count(threads, mg::thread_sharing::always);
    auto p = std::make_unique<typename Net::template parameters<T>>(random_parameters<Net, T>());
    auto expected = std::make_unique<typename Net::template parameters<T>>(*p);
    const auto x = std::make_unique<mg::tensor<T, X>>(random_tensor<T, X>(T(0.05)));
    const auto y = std::make_unique<mg::tensor<T, Y>>(random_tensor<T, Y>());
    const mg::sgd<T> optimizer{T(0.03)};
    auto separate = std::make_unique<mg::workspace<Net, T, X>>();
    auto fused = std::make_unique<mg::workspace<Net, T, X>>();
    for (int step = 0; step < 2; ++step) {
        const T expected_loss = mg::value_and_gradient(*expected, *x, *y, mg::squared_error{}, *separate);
        optimizer.step(*expected, separate->gradient.parameters);
        mg::sgd<T> fused_optimizer = optimizer;
        const T loss = mg::train_step(*p, *x, *y, mg::squared_error{}, fused_optimizer, *fused);
        BOOST_TEST(loss == expected_loss);
        double worst = 0;
        mg::for_each_tensor([&](const auto& got, const auto& want) {
            for (std::size_t i = 0; i < got.size; ++i)
                worst = std::max(worst, std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i])) /
                                            std::max(1.0, std::abs(static_cast<double>(want[i]))));
        }, *p, *expected);
        BOOST_TEST(worst <= 4 * static_cast<double>(std::numeric_limits<T>::epsilon()));
    }
    mg::set_thread_count(1);
}

// A dense layer whose own backward pass doubles the weight gradient: a class derived from dense
// keeps the passes it overrides, also when plain SGD is fused into the backward pass.
template <std::size_t Out>
struct dense_doubling_its_gradient : mg::dense<Out> {
    template <class T, class S, class P>
    static constexpr mg::tensor<T, S> backward(const P& p, const mg::tensor<T, S>& x, const mg::tensor<T, mg::with_last<S, Out>>& y,
                                               const mg::tensor<T, mg::with_last<S, Out>>& dl_dy, P& dl_dp) {
        auto dx = mg::dense<Out>::backward(p, x, y, dl_dy, dl_dp);
        dl_dp.weight = dl_dp.weight * T{2};
        return dx;
    }
};

BOOST_AUTO_TEST_CASE(runtime_sgd_fused_into_the_backward_pass_equals_the_separate_update) {
    using derived = mg::sequential<mg::input<5>, dense_doubling_its_gradient<24>, mg::relu, dense_doubling_its_gradient<16>, mg::relu, mg::dense<3>>;
    check_fused_sgd<derived, float, 8>(1);
    using small = mg::sequential<mg::dense<4, 3>, mg::relu, mg::dense<2>, mg::relu, mg::dense<1>>;
    check_fused_sgd<small, float, 1>(1);
    check_fused_sgd<small, double, 7>(1);
    using padded = mg::sequential<mg::input<3>, mg::relu, mg::dense<40>, mg::tanh_layer, mg::dense<19>, mg::leaky_relu<>, mg::dense<2>>;
    check_fused_sgd<padded, float, 1>(1);
    check_fused_sgd<padded, float, 33>(1);
    check_fused_sgd<padded, double, 9>(1);
    using wide = mg::sequential<mg::input<784>, mg::dense<128>, mg::relu, mg::dense<10>>;
    check_fused_sgd<wide, float, 64>(1);
    check_fused_sgd<wide, float, 64>(2);  // the weight gradient split between threads
}

template <class T, std::size_t Batch>
void check_learning() {
    auto p = random_parameters<net, T>();
    const auto x = random_tensor<T, mg::batch_of<Batch, mg::shape<3>>>();
    const auto y = random_tensor<T, mg::batch_of<Batch, mg::shape<2>>>();
    mg::sgd<T> optimizer{T(0.05)};
    const T first = mg::train_step(p, x, y, mg::mse{}, optimizer);
    T last = first;
    for (int i = 0; i < 300; ++i) last = mg::train_step(p, x, y, mg::mse{}, optimizer);
    BOOST_TEST(last < first / 2);
}

BOOST_AUTO_TEST_CASE(runtime_learns_on_a_sample_and_on_a_minibatch) {
    check_learning<double, 1>();
    check_learning<float, 1>();
    check_learning<double, 16>();
    check_learning<float, 16>();
}

BOOST_AUTO_TEST_CASE(runtime_no_heap_allocation_in_a_step) {
    auto p = random_parameters<net, float>();
    const auto x = random_tensor<float, mg::shape<3>>();
    const auto y = random_tensor<float, mg::shape<2>>();
    const auto xb = random_tensor<float, mg::shape<32, 3>>();
    const auto yb = random_tensor<float, mg::shape<32, 2>>();
    auto pd = p.cast<double>();
    const mg::tensor<double, mg::shape<32, 3>> xd(xb);
    const mg::tensor<double, mg::shape<32, 2>> yd(yb);
    mg::sgd<float> optimizer{0.01f};
    mg::sgd<double> optimizer_d{0.01};

    const std::size_t before = allocations;
    float total = mg::train_step(p, x, y, mg::squared_error{}, optimizer);
    total += mg::train_step(p, xb, yb, mg::softmax_cross_entropy{}, optimizer);
    total += net::forward(p, xb)[0];
    const double total_d = mg::train_step(pd, xd, yd, mg::mse{}, optimizer_d);
    const std::size_t during = allocations - before;

    BOOST_TEST(during == 0u);
    BOOST_TEST(total == total);  // use the results
    BOOST_TEST(total_d == total_d);
    // The counter does see allocations (so the 0 above means something).
    // (Through a volatile pointer: clang 14 elides a `delete new int(1)` pair, counter and all.)
    const std::size_t probe = allocations;
    int* volatile probe_object = new int(1);
    delete probe_object;
    BOOST_TEST(allocations == probe + 1);
}

// A 784-256-128-10 network with Adam: parameters, optimizer state and workspace on the heap,
// made once; a batch-64 step then allocates nothing and fits a thread with an 8 MiB stack
// (the default main-thread limit), which the by-value step of a small network would not.
BOOST_AUTO_TEST_CASE(runtime_large_model_trains_off_the_stack) {
    using large = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>>;
    auto p = std::make_unique<large::parameters<float>>();
    auto adam = std::make_unique<mg::adam<large, float>>(mg::adam_options<float>{.learning_rate = 1e-3f});
    auto memory = std::make_unique<mg::training_memory<large, float, 64>>();
    mg::random_generator g(1);
    mg::initialize(*p, mg::he_uniform{}, g);
    for (std::size_t i = 0; i < memory->data.inputs.size; ++i) memory->data.inputs[i] = g.uniform<float>();
    for (std::size_t r = 0; r < 64; ++r) memory->data.targets(r, r % 10) = 1;

    std::size_t during = 1;
    float first = 0, last = 0;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, std::size_t{8} << 20);
    struct job {
        std::function<void()> body;
        static void* run(void* self) {
            static_cast<job*>(self)->body();
            return nullptr;
        }
    } work{[&] {
        const std::size_t before = allocations;
        first = mg::train_step(*p, memory->data.inputs, memory->data.targets, mg::softmax_cross_entropy{}, *adam, memory->step);
        for (int i = 0; i < 4; ++i)
            last = mg::train_step(*p, memory->data.inputs, memory->data.targets, mg::softmax_cross_entropy{}, *adam, memory->step);
        during = allocations - before;
    }};
    pthread_t thread;
    BOOST_REQUIRE(pthread_create(&thread, &attributes, &job::run, &work) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attributes);
    BOOST_TEST(during == 0u);
    BOOST_TEST(last < first);
    // What would have been on the stack: parameters, two moments and gradients alone exceed 3 MiB.
    BOOST_TEST(sizeof(large::parameters<float>) * 4 > std::size_t{3} << 20);
}

BOOST_AUTO_TEST_SUITE_END()
