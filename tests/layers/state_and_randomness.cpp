// Tests of the layers that use the contract's mode, random numbers, state and cache (dropout and
// batch norm), for what the laws every layer obeys (laws.cpp) cannot say: dropout's share and
// scale, its masks keyed by seed, step and layer, the same in constant evaluation and at run time;
// batch norm against PyTorch (tests/fixtures/make_fixtures.py) in training and inference, channels
// last; state committed by a step only, and carried into the predictor; random_shift's moves.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <ratio>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"
#include "support.hpp"

namespace mg = metagrad;
using namespace test_support;

namespace {
template <class T, class S>
std::size_t zeros(const mg::tensor<T, S>& t) {
    std::size_t n = 0;
    for (const T v : t) n += v == T{};
    return n;
}
template <class T, class S>
constexpr mg::tensor<T, S> ones() {
    return mg::tensor<T, S>::filled(T{1});
}
}  // namespace

BOOST_AUTO_TEST_SUITE(dropout_layer)

using fifth = mg::network<mg::shape<1000>, mg::dropout<std::ratio<1, 5>>>;

BOOST_AUTO_TEST_CASE(drops_the_stated_share_and_scales_the_rest) {
    const fifth::parameters<float> p;
    const auto x = ones<float, mg::shape<8, 1000>>();
    const auto y = fifth::forward_trace(p, x, {7, 3}).output();
    // 8000 draws of probability 1/5: 1600 expected, standard deviation 35.8; four of them allowed.
    const std::size_t dropped = zeros(y);
    BOOST_TEST(dropped > 1600 - 143);
    BOOST_TEST(dropped < 1600 + 143);
    for (const float v : y) BOOST_TEST((v == 0.0f || v == 1.25f));
    // In inference it is the identity.
    BOOST_TEST((fifth::forward(p, x) == x));
}

BOOST_AUTO_TEST_CASE(masks_are_keyed_by_seed_step_and_layer) {
    const fifth::parameters<float> p;
    const auto x = ones<float, mg::shape<4, 1000>>();
    const auto at = [&](mg::random_key key) { return fifth::forward_trace(p, x, key).output(); };
    BOOST_TEST((at({1, 2}) == at({1, 2})));
    BOOST_TEST(!(at({1, 2}) == at({1, 3})));
    BOOST_TEST(!(at({1, 2}) == at({2, 2})));
    // Two dropout layers in one network draw apart.
    using twice = mg::network<mg::shape<1000>, mg::dropout<std::ratio<1, 5>>, mg::dropout<std::ratio<1, 5>>>;
    const twice::parameters<float> q;
    const auto trace = twice::forward_trace(q, x, {1, 2});
    BOOST_TEST((trace.get<1>() == at({1, 2})));  // the first layer draws what a lone one draws
    const auto& first = trace.cache<0>().mask;
    const auto& second = trace.cache<1>().mask;
    BOOST_TEST(!(first == second));
}

// The mask is a function of (seed, step, layer, element) alone: the same in constant evaluation.
constexpr auto small_mask() {
    using net = mg::network<mg::shape<16>, mg::dropout<>>;
    return net::forward_trace(net::parameters<double>{}, ones<double, mg::shape<2, 16>>(), {5, 8}).output();
}
static_assert(small_mask()[0] == 0 || small_mask()[0] == 2);

// ctx.uniform<T>(i) is the top bits of ctx.random_bits(i), scaled into [0, 1): 24 for float, 53
// for double.
constexpr mg::pass_context<1, mg::training_mode> uniform_context{{5, 8}, 2};
static_assert(uniform_context.uniform<float>(7) == static_cast<float>(uniform_context.random_bits(7) >> 40) * 0x1.0p-24f);
static_assert(uniform_context.uniform<double>(7) == static_cast<double>(uniform_context.random_bits(7) >> 11) * 0x1.0p-53);
static_assert(uniform_context.uniform<double>(7) >= 0 && uniform_context.uniform<double>(7) < 1);
static_assert(uniform_context.random_bits(7) != uniform_context.inside(0).random_bits(7));

BOOST_AUTO_TEST_CASE(the_mask_in_constant_evaluation_is_the_run_time_mask) {
    constexpr auto at_compile_time = small_mask();
    const auto at_run_time = small_mask();
    BOOST_TEST((at_compile_time == at_run_time));
    BOOST_TEST(zeros(at_run_time) > 0u);
    BOOST_TEST(zeros(at_run_time) < 32u);
}

BOOST_AUTO_TEST_CASE(workspace_steps_draw_a_new_mask_each_step) {
    using net = mg::sequential<mg::input<20>, mg::dropout<>, mg::dense<3>>;
    net::parameters<double> p;
    mg::random_generator g(1);
    mg::initialize(p, mg::glorot_uniform{}, g);
    mg::workspace<net, double, mg::shape<4, 20>> ws;
    const auto x = random_tensor<double, mg::shape<4, 20>>();
    const auto y = random_tensor<double, mg::shape<4, 3>>();
    mg::sgd<double> step{0.0};  // no change to the weights: only the masks differ
    mg::train_step(p, x, y, mg::squared_error{}, step, ws);
    const auto first = ws.trace.get<2>();  // after input<20> (layer 0) and dropout (layer 1)
    BOOST_TEST(ws.key.step == 1u);
    mg::train_step(p, x, y, mg::squared_error{}, step, ws);
    BOOST_TEST(!(ws.trace.get<2>() == first));
    ws.key.step = 0;
    mg::train_step(p, x, y, mg::squared_error{}, step, ws);
    BOOST_TEST((ws.trace.get<2>() == first));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(batch_norm_layer)

namespace {
template <class S>
mg::tensor<double, S> fixture(const mg::safetensors_file& file, const std::string& name) {
    mg::tensor<double, S> t;
    file.copy_to(name, t);
    return t;
}
template <class S>
void check_close(const mg::tensor<double, S>& got, const mg::tensor<double, S>& want, const std::string& what) {
    for (std::size_t i = 0; i < S::size; ++i)
        BOOST_TEST(std::abs(got[i] - want[i]) <= 1e-12 * std::max(1.0, std::abs(want[i])), what << "[" << i << "]: " << got[i] << " against " << want[i]);
}

// PyTorch's BatchNorm1d/2d from the same weights and statistics: a training pass (output, running
// statistics after it, gradients of <y, g>), then an inference pass.
template <class Net, class X>
void check_against_pytorch(const std::string& name) {
    constexpr std::size_t C = Net::input_shape::last;
    const auto file = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_batch_norm.safetensors");
    typename Net::template parameters<double> p;
    p.template layer<0>().weight = fixture<mg::shape<C>>(file, name + ".weight");
    p.template layer<0>().bias = fixture<mg::shape<C>>(file, name + ".bias");
    p.template state<0>().running_mean = fixture<mg::shape<C>>(file, name + ".running_mean");
    p.template state<0>().running_var = fixture<mg::shape<C>>(file, name + ".running_var");

    const auto x = fixture<X>(file, name + ".x");
    const auto trace = Net::forward_trace(p, x);
    check_close(trace.output(), fixture<X>(file, name + ".train_y"), name + " training output");
    check_close(trace.template state<0>().running_mean, fixture<mg::shape<C>>(file, name + ".train_running_mean"), name + " running mean");
    check_close(trace.template state<0>().running_var, fixture<mg::shape<C>>(file, name + ".train_running_var"), name + " running variance");
    // The pass itself leaves the parameters' state alone: a step commits it.
    check_close(p.template state<0>().running_mean, fixture<mg::shape<C>>(file, name + ".running_mean"), name + " state before the commit");

    const auto g = Net::backward(p, trace, fixture<X>(file, name + ".g"));
    check_close(g.activations.input(), fixture<X>(file, name + ".dx"), name + " dl/dx");
    check_close(g.parameters.template layer<0>().weight, fixture<mg::shape<C>>(file, name + ".dweight"), name + " dl/dweight");
    check_close(g.parameters.template layer<0>().bias, fixture<mg::shape<C>>(file, name + ".dbias"), name + " dl/dbias");

    p.states = trace.states;
    check_close(Net::forward(p, fixture<X>(file, name + ".x_eval")), fixture<X>(file, name + ".eval_y"), name + " inference output");
}
}  // namespace

BOOST_AUTO_TEST_CASE(matches_pytorch_on_vectors) {
    check_against_pytorch<mg::network<mg::shape<4>, mg::batch_norm<>>, mg::shape<6, 4>>("bn1d");
}

BOOST_AUTO_TEST_CASE(matches_pytorch_on_images_channels_last) {
    // BatchNorm2d(3, momentum=0.25, eps=1e-3) on (2, 3, 2, 2), given here as (2, 2, 2, 3).
    check_against_pytorch<mg::network<mg::shape<2, 2, 3>, mg::batch_norm<std::ratio<1, 4>, std::ratio<1, 1000>>>, mg::shape<2, 2, 2, 3>>("bn2d");
}

using small = mg::sequential<mg::input<5>, mg::dense<4>, mg::batch_norm<>, mg::relu, mg::dense<2>>;

BOOST_AUTO_TEST_CASE(starts_at_one_and_zero_whatever_the_initializer) {
    small::parameters<float> p;
    mg::random_generator g(3);
    mg::initialize(p, mg::he_normal{}, g);
    BOOST_TEST((p.layer<2>().weight == mg::vector<float, 4>::filled(1.0f)));
    BOOST_TEST((p.layer<2>().bias == mg::vector<float, 4>{}));
    BOOST_TEST((p.state<2>().running_var == mg::vector<float, 4>::filled(1.0f)));
    BOOST_TEST(p.layer<1>().weight[0] != 0.0f);  // the dense layers drew as before
}

BOOST_AUTO_TEST_CASE(only_a_step_commits_the_state) {
    small::parameters<double> p;
    mg::random_generator g(3);
    mg::initialize(p, mg::he_normal{}, g);
    const auto x = random_tensor<double, mg::shape<6, 5>>();
    const auto y = random_tensor<double, mg::shape<6, 2>>();
    const auto before = p;
    // A gradient alone changes nothing, and says what the state would become.
    const auto result = mg::value_and_gradient(p, x, y, mg::squared_error{});
    BOOST_TEST((p == before));
    BOOST_TEST(!(boost::hana::at_c<2>(result.state) == before.state<2>()));
    // A step commits it: the value-returning step and the workspace step alike.
    mg::sgd<double> sgd{0.1};
    auto q = p;
    mg::train_step(q, x, y, mg::squared_error{}, sgd);
    BOOST_TEST((q.state<2>() == boost::hana::at_c<2>(result.state)));
    mg::workspace<small, double, mg::shape<6, 5>> ws;
    auto r = p;
    mg::adam<small, double> adam;
    mg::train_step(r, x, y, mg::squared_error{}, adam, ws);
    BOOST_TEST((r.state<2>() == boost::hana::at_c<2>(result.state)));
    // A workspace gradient does not commit either.
    auto s = p;
    (void)mg::value_and_gradient(s, x, y, mg::squared_error{}, ws);
    BOOST_TEST((s == p));
}

BOOST_AUTO_TEST_CASE(the_predictor_runs_on_the_running_statistics) {
    using net = mg::sequential<mg::input<7>, mg::dense<6>, mg::batch_norm<>, mg::relu, mg::dropout<>, mg::dense<3>>;
    net::parameters<float> p;
    mg::random_generator g(5);
    mg::initialize(p, mg::he_normal{}, g);
    randomize_state(p);
    mg::predictor<net, float, mg::shape<4, 7>> predict(p);
    const auto x = random_tensor<float, mg::shape<4, 7>>();
    const auto want = net::forward(p, x);  // inference: running statistics, no dropout
    const auto& got = predict(x);
    for (std::size_t i = 0; i < want.size; ++i) BOOST_TEST(got[i] == want[i], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_SUITE_END()

// random_shift: each sample moved by its own (dy, dx) in [-1, 1], zeros where it moved in; the
// backward pass moves the gradient back; the identity in inference.
BOOST_AUTO_TEST_SUITE(random_shift_layer)

using shifted = mg::network<mg::shape<5, 6, 2>, mg::random_shift<1>>;
using batch = mg::shape<64, 5, 6, 2>;

// Sample b of `x` moved by (dy, dx), zeros outside: what the layer's documentation says.
mg::tensor<double, mg::shape<5, 6, 2>> moved(const mg::tensor<double, batch>& x, std::size_t b, int dy, int dx) {
    mg::tensor<double, mg::shape<5, 6, 2>> out;
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 6; ++j)
            for (int c = 0; c < 2; ++c) {
                const int si = i + dy, sj = j + dx;
                const bool inside = si >= 0 && si < 5 && sj >= 0 && sj < 6;
                out[static_cast<std::size_t>((i * 6 + j) * 2 + c)] =
                    inside ? x[b * 60 + static_cast<std::size_t>((si * 6 + sj) * 2 + c)] : 0.0;
            }
    return out;
}

BOOST_AUTO_TEST_CASE(moves_each_sample_by_its_own_shift_and_back) {
    const shifted::parameters<double> p;
    mg::tensor<double, batch> x;
    for (std::size_t i = 0; i < batch::size; ++i) x[i] = 1.0 + static_cast<double>(i);  // every value apart, none zero
    const auto trace = shifted::forward_trace(p, x, {3, 4});
    const auto& y = trace.output();
    const auto& cache = trace.cache<0>();
    bool seen[3][3] = {};
    for (std::size_t b = 0; b < 64; ++b) {
        const int dy = cache.dy[b], dx = cache.dx[b];
        BOOST_REQUIRE((dy >= -1 && dy <= 1 && dx >= -1 && dx <= 1));
        seen[dy + 1][dx + 1] = true;
        const auto want = moved(x, b, dy, dx);
        for (std::size_t i = 0; i < 60; ++i) BOOST_TEST(y[b * 60 + i] == want[i], "sample " << b << " value " << i);
    }
    // 64 samples over 9 shifts: each shift is missed with probability (8/9)^64 < 1e-3.
    for (const auto& row : seen)
        for (const bool s : row) BOOST_TEST(s);
    // The backward pass is the forward pass's transpose: <y, g> = <x, dl/dx> for any g, and each
    // input's gradient is the gradient of the output it went to.
    const auto g = random_tensor<double, batch>();
    const auto grads = shifted::backward<mg::training_mode>(p, trace, g);
    const auto& dx = grads.activations.input();
    double yg = 0, xdx = 0;
    for (std::size_t i = 0; i < batch::size; ++i) yg += y[i] * g[i], xdx += x[i] * dx[i];
    BOOST_TEST(std::abs(yg - xdx) <= 1e-9 * std::abs(yg));
    for (std::size_t b = 0; b < 64; ++b) {
        mg::tensor<double, batch> gb{};
        for (std::size_t i = 0; i < 60; ++i) gb[b * 60 + i] = g[b * 60 + i];
        const auto back = moved(gb, b, -cache.dy[b], -cache.dx[b]);
        for (std::size_t i = 0; i < 60; ++i) BOOST_TEST(dx[b * 60 + i] == back[i], "sample " << b << " gradient " << i);
    }
}

BOOST_AUTO_TEST_CASE(shifts_are_keyed_by_seed_and_step_and_off_in_inference) {
    const shifted::parameters<double> p;
    const auto x = random_tensor<double, batch>();
    const auto at = [&](mg::random_key key) { return shifted::forward_trace(p, x, key).output(); };
    BOOST_TEST((at({1, 2}) == at({1, 2})));
    BOOST_TEST(!(at({1, 2}) == at({1, 3})));
    BOOST_TEST(!(at({1, 2}) == at({2, 2})));
    BOOST_TEST((shifted::forward(p, x) == x));
}

BOOST_AUTO_TEST_SUITE_END()
