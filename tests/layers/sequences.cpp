// Tests of the sequence layers and streaming for what the laws every layer obeys
// (laws_sequences.cpp) cannot say: GRU and LSTM equal PyTorch's (tests/fixtures/make_fixtures.py:
// outputs over 1,000 steps in float32, gradients through time in float64); a stateful layer run
// chunk by chunk equals the whole sequence run at once; a stream, one step at a time and voice by
// voice, equals the network on the whole sequence and allocates nothing after construction. The same
// for causal_conv1d: a dilated stack against PyTorch's, stateful chunks, a stream.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"
#include "fixture_checks.hpp"
#include "support.hpp"

#include "allocation_counter.hpp"

namespace mg = metagrad;
using namespace test_support;

namespace {
// PyTorch's GRU(3, 8, batch_first=True) and LSTM(3, 8, ...), then Linear(8, 1) at every step, over
// 1,000 steps: module 0 and module 1, so the state dict's names.
constexpr std::size_t steps = 1000;
using torch_gru = mg::network<mg::shape<steps, 3>, mg::gru<8>, mg::per_step<mg::dense<1>>>;
using torch_lstm = mg::network<mg::shape<steps, 3>, mg::lstm<8>, mg::per_step<mg::dense<1>>>;

template <class Net>
void check_against_pytorch(const std::string& name) {
    auto p = std::make_unique<typename Net::template parameters<float>>();
    mg::load_parameters(METAGRAD_FIXTURES "/torch_" + name + ".safetensors", *p);
    const auto io = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_recurrent_io.safetensors");
    const auto x = fixture<float, mg::shape<2, steps, 3>>(io, name + ".x");
    const auto want = fixture<float, mg::shape<2, steps, 1>>(io, name + ".y");
    const auto y = Net::forward(*p, x);
    check_close(y, want, 1e-5f, name + " over 1,000 steps");

    // The same one step at a time: a stream of one voice, then of both sequences as two voices.
    auto one = std::make_unique<mg::stream<Net, float>>(*p);
    mg::tensor<float, mg::shape<steps, 1>> streamed;
    for (std::size_t t = 0; t < steps; ++t) {
        typename mg::stream<Net, float>::input_type xt;
        std::copy_n(&x[t * 3], 3, xt.data.begin());
        streamed[t] = one->step(xt)[0];
    }
    mg::tensor<float, mg::shape<steps, 1>> first, whole;
    std::copy_n(want.data.begin(), steps, first.data.begin());
    std::copy_n(y.data.begin(), steps, whole.data.begin());
    check_close(streamed, first, 1e-5f, name + " streamed");
    check_identical(streamed, whole, name + " streamed against the whole sequence");

    auto two = std::make_unique<mg::stream<Net, float, 2>>(*p);
    mg::tensor<float, mg::shape<steps, 2, 3>> interleaved;  // step by step, each step voice by voice
    for (std::size_t t = 0; t < steps; ++t)
        for (std::size_t v = 0; v < 2; ++v) std::copy_n(&x[(v * steps + t) * 3], 3, &interleaved[(t * 2 + v) * 3]);
    mg::tensor<float, mg::shape<steps, 2>> out, expected, whole_two;
    two->process(interleaved.data.data(), out.data.data(), steps);
    for (std::size_t t = 0; t < steps; ++t)
        for (std::size_t v = 0; v < 2; ++v) expected[t * 2 + v] = want[v * steps + t], whole_two[t * 2 + v] = y[v * steps + t];
    check_close(out, expected, 1e-5f, name + " streamed as two voices");
    check_identical(out, whole_two, name + " streamed as two voices against the whole sequences");

    // reset() starts again: the first steps once more.
    two->reset();
    mg::tensor<float, mg::shape<4, 2>> again;
    two->process(interleaved.data.data(), again.data.data(), 4);
    for (std::size_t i = 0; i < 8; ++i) BOOST_TEST(again[i] == out[i]);
}

template <class Net>
void check_gradients_against_pytorch(const std::string& name) {
    typename Net::template parameters<double> p;
    const auto file = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_recurrent_gradients.safetensors");
    auto& w = p.template layer<0>();
    file.copy_to(name + ".weight_ih_l0", w.weight_ih_l0);
    file.copy_to(name + ".weight_hh_l0", w.weight_hh_l0);
    file.copy_to(name + ".bias_ih_l0", w.bias_ih_l0);
    file.copy_to(name + ".bias_hh_l0", w.bias_hh_l0);
    using X = mg::shape<2, 5, 2>;
    using Y = mg::shape<2, 5, 3>;
    const auto x = fixture<double, X>(file, name + ".x");
    const auto trace = Net::forward_trace(p, x);
    check_close(trace.output(), fixture<double, Y>(file, name + ".y"), 1e-12, name + " output");
    const auto g = Net::backward(p, trace, fixture<double, Y>(file, name + ".g"));
    check_close(g.activations.input(), fixture<double, X>(file, name + ".dx"), 1e-12, name + " dl/dx");
    const auto& d = g.parameters.template layer<0>();
    check_close(d.weight_ih_l0, fixture<double, typename decltype(d.weight_ih_l0)::shape_type>(file, name + ".dweight_ih_l0"), 1e-12,
                name + " dl/dweight_ih");
    check_close(d.weight_hh_l0, fixture<double, typename decltype(d.weight_hh_l0)::shape_type>(file, name + ".dweight_hh_l0"), 1e-12,
                name + " dl/dweight_hh");
    check_close(d.bias_ih_l0, fixture<double, typename decltype(d.bias_ih_l0)::shape_type>(file, name + ".dbias_ih_l0"), 1e-12,
                name + " dl/dbias_ih");
    check_close(d.bias_hh_l0, fixture<double, typename decltype(d.bias_hh_l0)::shape_type>(file, name + ".dbias_hh_l0"), 1e-12,
                name + " dl/dbias_hh");
}

// A stateful network over chunks of `Chunk` steps, in one workspace, against the same layers
// without `stateful` over all 12 steps at once: bit for bit, twice (after a reset the chunks
// start from zeros again). The passes take each step's sums alike however many steps they run.
template <class Whole, class Chunked, std::size_t Chunk>
void check_chunks_equal_the_whole(const std::string& name) {
    const auto p = random_parameters<Whole, double>();
    typename Chunked::template parameters<double> q;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((q.template layer<I>() = p.template layer<I>()), ...);
    }(std::make_index_sequence<Whole::depth>{});
    constexpr std::size_t out = Whole::output_shape::last;
    const auto x = random_tensor<double, mg::shape<3, 12, 2>>();
    const auto y = Whole::forward(p, x);
    mg::workspace<Chunked, double, mg::shape<3, Chunk, 2>> ws;
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t chunk = 0; chunk < 12 / Chunk; ++chunk) {
            mg::tensor<double, mg::shape<3, Chunk, 2>> part;
            for (std::size_t b = 0; b < 3; ++b) std::copy_n(&x[(b * 12 + chunk * Chunk) * 2], Chunk * 2, &part[b * Chunk * 2]);
            Chunked::forward_trace_into(q, part, ws.trace);
            std::size_t differ = 0;
            for (std::size_t b = 0; b < 3; ++b)
                for (std::size_t i = 0; i < Chunk * out; ++i)
                    differ += !(ws.trace.output()[b * Chunk * out + i] == y[(b * 12 + chunk * Chunk) * out + i]);
            BOOST_TEST(differ == 0u, name << ", chunks of " << Chunk << ", chunk " << chunk << ", pass " << pass << ": " << differ
                                          << " values differ from the whole sequence's");
        }
        mg::reset_carried_state(ws);
    }
}

template <template <std::size_t, class...> class Layer>
void check_recurrent_chunks_equal_the_whole(const std::string& name) {
    check_chunks_equal_the_whole<mg::network<mg::shape<12, 2>, Layer<3>, mg::per_step<mg::dense<2>>>,
                                 mg::network<mg::shape<4, 2>, Layer<3, mg::stateful>, mg::per_step<mg::dense<2>>>, 4>(name);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(sequence_layers)

BOOST_AUTO_TEST_CASE(a_pytorch_gru_loads_and_gives_pytorchs_outputs_over_1000_steps) { check_against_pytorch<torch_gru>("gru"); }
BOOST_AUTO_TEST_CASE(a_pytorch_lstm_loads_and_gives_pytorchs_outputs_over_1000_steps) { check_against_pytorch<torch_lstm>("lstm"); }

BOOST_AUTO_TEST_CASE(gradients_through_time_equal_pytorchs) {
    check_gradients_against_pytorch<mg::network<mg::shape<5, 2>, mg::gru<3>>>("gru");
    check_gradients_against_pytorch<mg::network<mg::shape<5, 2>, mg::lstm<3>>>("lstm");
}

BOOST_AUTO_TEST_CASE(a_stateful_layer_over_chunks_equals_the_whole_sequence) {
    check_recurrent_chunks_equal_the_whole<mg::gru>("gru");
    check_recurrent_chunks_equal_the_whole<mg::lstm>("lstm");
}

// The gates' functions at run time in float (recurrent.hpp): tanh within 6 ulp of the correctly
// rounded value, the logistic function (0.5 + 0.5 tanh(x / 2)) within 2e-7 of the true value,
// on a sweep of the whole range that matters (beyond +-30 both have long reached their limits);
// the widths a gate may have: whole vectors, a narrower vector, and a padded remainder.
template <std::size_t N>
void check_gates() {
    double worst_sigmoid = 0, worst_tanh_ulps = 0;
    for (float start = -30.0f; start < 30.0f; start += 0.000737f * N) {
        // The inputs computed once: written twice, one of the two expressions may be contracted
        // to a multiply-add and the other not, and near 0 their last bits are many ulp of tanh.
        float x_of[N], s[N], t[N];
        for (std::size_t i = 0; i < N; ++i) s[i] = t[i] = x_of[i] = start + 0.000737f * static_cast<float>(i);
        mg::detail::sigmoid_in_place<N>(s);
        mg::detail::tanh_in_place<N>(t);
        for (std::size_t i = 0; i < N; ++i) {
            const double x = x_of[i];
            worst_sigmoid = std::max(worst_sigmoid, std::abs(s[i] - 1 / (1 + std::exp(-x))));
            const float exact = static_cast<float>(std::tanh(x));
            const double ulp = std::nextafter(std::abs(exact), 2.0f) - std::abs(exact);
            worst_tanh_ulps = std::max(worst_tanh_ulps, std::abs(t[i] - std::tanh(x)) / ulp);
        }
    }
    BOOST_TEST(worst_sigmoid < 2e-7, "N = " << N << ": logistic off by " << worst_sigmoid);
    BOOST_TEST(worst_tanh_ulps <= 6.5, "N = " << N << ": tanh off by " << worst_tanh_ulps << " ulp");
}

BOOST_AUTO_TEST_CASE(the_gates_functions_are_within_their_stated_error) {
    check_gates<3>();
    check_gates<8>();
    check_gates<16>();
    check_gates<24>();
    check_gates<70>();
}

BOOST_AUTO_TEST_CASE(training_steps_are_the_same_on_one_and_two_threads) {
    using net = mg::network<mg::shape<20, 3>, mg::gru<24>, mg::per_step<mg::dense<8>>, mg::tanh_layer, mg::lstm<16, mg::last_step>,
                            mg::dense<2>>;
    using batch = mg::shape<64, 20, 3>;
    const auto start = random_parameters<net, float>();
    const auto x = random_tensor<float, batch>();
    const auto y = random_tensor<float, mg::shape<64, 2>>();
    const auto train = [&](std::size_t threads) {
        mg::set_thread_count(static_cast<unsigned>(threads), mg::thread_sharing::always);
        auto p = std::make_unique<net::parameters<float>>(start);
        auto ws = std::make_unique<mg::workspace<net, float, batch>>();
        mg::adam<net, float> optimizer;
        for (int step = 0; step < 3; ++step) mg::train_step(*p, x, y, mg::mse{}, optimizer, *ws);
        mg::set_thread_count(1);
        return p;
    };
    const auto one = train(1), two = train(2);
    BOOST_TEST((*one == *two));
}

BOOST_AUTO_TEST_CASE(the_last_step_is_the_last_of_every_step) {
    using every = mg::network<mg::shape<6, 3>, mg::lstm<4>>;
    using last = mg::network<mg::shape<6, 3>, mg::lstm<4, mg::last_step>>;
    const auto p = random_parameters<every, double>();
    last::parameters<double> q;
    q.layer<0>() = p.layer<0>();
    const auto x = random_tensor<double, mg::shape<2, 6, 3>>();
    const auto all = every::forward(p, x);
    const auto y = last::forward(q, x);
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t j = 0; j < 4; ++j) BOOST_TEST(y[b * 4 + j] == all[(b * 6 + 5) * 4 + j]);
}

BOOST_AUTO_TEST_CASE(a_stream_allocates_nothing_after_construction) {
    using net = mg::network<mg::shape<16, 1>, mg::gru<16>, mg::per_step<mg::dense<8>>, mg::tanh_layer, mg::per_step<mg::dense<1>>>;
    const auto p = random_parameters<net, float>();
    auto s = std::make_unique<mg::stream<net, float, 4>>(p);
    mg::tensor<float, mg::shape<64, 4>> in = random_tensor<float, mg::shape<64, 4>>(), out;
    const std::size_t before = allocations;
    for (std::size_t t = 0; t < 64; ++t) {
        mg::stream<net, float, 4>::input_type x;
        std::copy_n(&in[t * 4], 4, x.data.begin());
        out[t * 4] = s->step(x)[0];
    }
    s->process(in.data.data(), out.data.data(), 64);
    s->reset();
    s->load(p);
    BOOST_TEST(allocations == before);
    // The counter does see allocations (so the equality above means something).
    auto probe = std::make_unique<int>(1);
    BOOST_TEST(allocations == before + 1);
}

// PyTorch's causal convolution stack (tests/fixtures/make_fixtures.py, causal_conv_reference):
// kernel 3, dilations 1, 2 and 4, channels 1 -> 8 -> 8 -> 1 with tanh between, over 1,000 steps.
template <std::size_t Steps>
using causal_stack = mg::network<mg::shape<Steps, 1>, mg::causal_conv1d<8, mg::kernel<3>, mg::dilation<1>>, mg::tanh_layer,
                                 mg::causal_conv1d<8, mg::kernel<3>, mg::dilation<2>>, mg::tanh_layer,
                                 mg::causal_conv1d<1, mg::dilation<4>, mg::kernel<3>>>;

BOOST_AUTO_TEST_CASE(a_pytorch_causal_convolution_stack_gives_pytorchs_outputs_over_1000_steps) {
    using net = causal_stack<steps>;
    auto p = std::make_unique<net::parameters<float>>();
    mg::load_parameters(METAGRAD_FIXTURES "/torch_causal_conv.safetensors", *p);
    const auto io = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_causal_conv_io.safetensors");
    const auto x = fixture<float, mg::shape<2, steps, 1>>(io, "x");
    const auto want = fixture<float, mg::shape<2, steps, 1>>(io, "y");
    check_close(net::forward(*p, x), want, 1e-5f, "causal convolutions over 1,000 steps");

    // One step at a time, the two sequences as two voices: the past inputs in each layer's ring.
    auto s = std::make_unique<mg::stream<net, float, 2>>(*p);
    mg::tensor<float, mg::shape<steps, 2>> interleaved, out, expected;
    for (std::size_t t = 0; t < steps; ++t)
        for (std::size_t v = 0; v < 2; ++v) interleaved[t * 2 + v] = x[v * steps + t], expected[t * 2 + v] = want[v * steps + t];
    s->process(interleaved.data.data(), out.data.data(), steps);
    check_close(out, expected, 1e-5f, "causal convolutions streamed as two voices");
}

// A stateful causal convolution stack over chunks of `Chunk` steps (shorter than a layer's
// history, as long, longer).
template <std::size_t Chunk>
void check_causal_chunks_equal_the_whole() {
    check_chunks_equal_the_whole<mg::network<mg::shape<12, 2>, mg::causal_conv1d<3, mg::kernel<3>, mg::dilation<2>>, mg::tanh_layer,
                                             mg::causal_conv1d<2, mg::kernel<2>, mg::dilation<3>>>,
                                 mg::network<mg::shape<Chunk, 2>, mg::causal_conv1d<3, mg::kernel<3>, mg::dilation<2>, mg::stateful>,
                                             mg::tanh_layer, mg::causal_conv1d<2, mg::stateful, mg::kernel<2>, mg::dilation<3>>>,
                                 Chunk>("causal convolutions");
}

BOOST_AUTO_TEST_CASE(a_stateful_causal_convolution_over_chunks_equals_the_whole_sequence) {
    check_causal_chunks_equal_the_whole<1>();
    check_causal_chunks_equal_the_whole<2>();
    check_causal_chunks_equal_the_whole<3>();
    check_causal_chunks_equal_the_whole<4>();
    check_causal_chunks_equal_the_whole<6>();
}

// In a stateful chunk the gradient stops at the chunk's start: the carried inputs are constants.
// So the second chunk's gradients equal those of the whole sequence's second half when the first
// half's inputs are held fixed, which finite differences on the second chunk's input check.
BOOST_AUTO_TEST_CASE(a_stateful_causal_convolutions_gradient_stops_at_the_chunks_start) {
    using layer = mg::causal_conv1d<3, mg::kernel<3>, mg::dilation<2>, mg::stateful>;
    using chunked = mg::network<mg::shape<3, 2>, layer>;
    const auto p = random_parameters<chunked, double>();
    const auto first = random_tensor<double, mg::shape<2, 3, 2>>(), second = random_tensor<double, mg::shape<2, 3, 2>>();
    const auto w = random_tensor<double, mg::shape<2, 3, 3>>();
    mg::workspace<chunked, double, mg::shape<2, 3, 2>> ws;
    chunked::forward_trace_into(p, first, ws.trace);
    const auto carried = ws.trace;  // the state after the first chunk
    chunked::forward_trace_into(p, second, ws.trace);
    const auto g = chunked::backward(p, ws.trace, w);
    // <y(second), w> with the first chunk's inputs carried, as a function of the second's input and the weights.
    const auto value = [&](const auto& q, const auto& x) {
        auto trace = carried;
        chunked::forward_trace_into(q, x, trace);
        return mg::dot(trace.output(), w);
    };
    const double h = 1e-6;
    for (std::size_t i = 0; i < second.size; ++i) {
        auto up = second, down = second;
        up[i] += h, down[i] -= h;
        BOOST_TEST(std::abs((value(p, up) - value(p, down)) / (2 * h) - g.activations.input()[i]) < 1e-8, "dl/dx " << i);
    }
    for (std::size_t i = 0; i < p.layer<0>().weight.size; ++i) {
        auto up = p, down = p;
        up.layer<0>().weight[i] += h, down.layer<0>().weight[i] -= h;
        BOOST_TEST(std::abs((value(up, second) - value(down, second)) / (2 * h) - g.parameters.layer<0>().weight[i]) < 1e-8,
                   "dl/dweight " << i);
    }
}

// A stack of every sequence layer, streamed as three voices, against the whole sequences: bit for
// bit, in float and in double, with sizes that are no multiple of a vector (per_step's dense of
// 17 takes the broadcast form, its dense of 2 the short chains; the tanh layer's 3 x 41 x 5
// values end in a part of a vector on every target, where a scalar tail once rounded otherwise).
template <class T>
void check_a_stream_equals_the_whole_sequence() {
    constexpr std::size_t length = 41;
    using net = mg::network<mg::shape<length, 2>, mg::gru<5>, mg::tanh_layer, mg::per_step<mg::dense<17>>, mg::lstm<6>,
                            mg::causal_conv1d<7, mg::kernel<3>, mg::dilation<2>>, mg::relu, mg::per_step<mg::dense<2>>>;
    const auto p = random_parameters<net, T>();
    const auto x = random_tensor<T, mg::shape<3, length, 2>>();
    const auto y = net::forward(p, x);
    auto s = std::make_unique<mg::stream<net, T, 3>>(p);
    mg::tensor<T, mg::shape<length, 3, 2>> in;
    mg::tensor<T, mg::shape<length, 3, 2>> out, expected;
    for (std::size_t t = 0; t < length; ++t)
        for (std::size_t v = 0; v < 3; ++v)
            for (std::size_t i = 0; i < 2; ++i) in[(t * 3 + v) * 2 + i] = x[(v * length + t) * 2 + i], expected[(t * 3 + v) * 2 + i] = y[(v * length + t) * 2 + i];
    s->process(in.data.data(), out.data.data(), length);
    check_identical(out, expected, "every sequence layer streamed");
}

BOOST_AUTO_TEST_CASE(a_stream_of_every_sequence_layer_equals_the_whole_sequences_bit_for_bit) {
    check_a_stream_equals_the_whole_sequence<float>();
    check_a_stream_equals_the_whole_sequence<double>();
}

BOOST_AUTO_TEST_CASE(a_causal_convolution_stream_equals_the_whole_sequence_and_allocates_nothing) {
    constexpr std::size_t length = 64;
    using net = causal_stack<length>;
    const auto p = random_parameters<net, float>();
    const auto x = random_tensor<float, mg::shape<3, length, 1>>();
    const auto y = net::forward(p, x);
    auto one = std::make_unique<mg::stream<net, float>>(p);
    auto three = std::make_unique<mg::stream<net, float, 3>>(p);
    mg::tensor<float, mg::shape<length, 1>> streamed, first;
    mg::tensor<float, mg::shape<length, 3>> interleaved, out, expected;
    for (std::size_t t = 0; t < length; ++t)
        for (std::size_t v = 0; v < 3; ++v) interleaved[t * 3 + v] = x[v * length + t], expected[t * 3 + v] = y[v * length + t];
    std::copy_n(y.data.begin(), length, first.data.begin());
    // Twice: after the resets, the second pass starts again from zeros.
    for (int pass = 0; pass < 2; ++pass) {
        const std::size_t before = allocations;
        for (std::size_t t = 0; t < length; ++t) {
            mg::stream<net, float>::input_type xt;
            xt[0] = x[t];
            streamed[t] = one->step(xt)[0];
        }
        three->process(interleaved.data.data(), out.data.data(), length);
        one->reset();
        three->reset();
        BOOST_TEST(allocations == before);
        check_identical(streamed, first, "one voice streamed");
        check_identical(out, expected, "three voices streamed");
    }
}

BOOST_AUTO_TEST_SUITE_END()
