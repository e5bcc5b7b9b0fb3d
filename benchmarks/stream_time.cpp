// W6 (issue 14): one sample at a time through a recurrent model, as a real-time audio plug-in runs
// it: a GRU or an LSTM of 8, 16, 32 and 64 units over one input, then a dense layer to one
// output; and a stack of three causal convolutions (1 -> 8 -> 8 -> 1 channels, kernel 3,
// dilations 1, 2, 4, tanh between). metagrad's `stream` against the same model written by hand with Eigen's fixed-size
// matrices (benchmarks/stream_eigen.hpp), in the same binary and run. Each iteration streams a
// block of 480 samples (10 ms at 48 kHz); every output is summed into a value the benchmark
// keeps, so no step can be left out. Reported per sample (time per iteration / 480).
//   build/bench/benchmarks/stream_time      (bash benchmarks/run.sh runs it)
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "metagrad/metagrad.hpp"
#include "stream_eigen.hpp"

namespace mg = metagrad;

namespace {
constexpr std::size_t block = 480;

template <template <std::size_t, class...> class Layer, std::size_t H>
using model = mg::sequential<mg::input<block, 1>, Layer<H>, mg::per_step<mg::dense<1>>>;

std::vector<float> test_signal() {
    std::vector<float> x(block);
    for (std::size_t n = 0; n < block; ++n) x[n] = 0.5f * static_cast<float>(std::sin(0.05 * static_cast<double>(n)) + std::sin(0.31 * static_cast<double>(n)));
    return x;
}

// Times `block_of_samples()` (one 480-sample block) and reports it per sample and as a real-time
// factor at 48 kHz; `kept` sums every output, so no step can be left out.
template <class Block>
void time_blocks(benchmark::State& state, Block block_of_samples) {
    float kept = 0;
    for (auto _ : state) {
        kept += block_of_samples();
        benchmark::DoNotOptimize(kept);
    }
    state.counters["ns_per_sample"] =
        benchmark::Counter(static_cast<double>(block), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.counters["x_real_time_48k"] =
        benchmark::Counter(static_cast<double>(block) / 48000.0, benchmark::Counter::kIsIterationInvariantRate);
}

// A stream of `Net` over the test signal, a block at a time.
template <class Net>
void time_stream(benchmark::State& state, const typename Net::template parameters<float>& p) {
    auto s = std::make_unique<mg::stream<Net, float>>(p);
    const std::vector<float> x = test_signal();
    std::vector<float> y(block);
    time_blocks(state, [&] {
        s->process(x.data(), y.data(), block);
        float sum = 0;
        for (const float v : y) sum += v;
        return sum;
    });
}

// A hand-written peer (`step(float) -> float`, `reset()`) over the test signal, after checking
// that it computes what the stream of `Net` computes.
template <class Net, class Peer>
void time_peer(benchmark::State& state, const typename Net::template parameters<float>& p, Peer& peer) {
    const std::vector<float> x = test_signal();
    auto s = std::make_unique<mg::stream<Net, float>>(p);
    std::vector<float> y(block);
    s->process(x.data(), y.data(), block);
    for (std::size_t n = 0; n < block; ++n)
        if (std::abs(peer.step(x[n]) - y[n]) > 1e-4f) {
            std::cerr << "W6: the Eigen peer and metagrad disagree at sample " << n << "\n";
            std::exit(1);
        }
    peer.reset();
    time_blocks(state, [&] {
        float sum = 0;
        for (std::size_t n = 0; n < block; ++n) sum += peer.step(x[n]);
        return sum;
    });
}

template <class Net>
typename Net::template parameters<float> parameters_of() {
    typename Net::template parameters<float> p;
    mg::random_generator g(7);
    mg::initialize(p, mg::glorot_uniform{}, g);
    mg::for_each_tensor([&](auto& w) {
        for (auto& v : w) v += g.uniform<float>(-0.05f, 0.05f);  // biases too, so that no term is zero
    }, p);
    return p;
}

template <template <std::size_t, class...> class Layer, std::size_t H>
void w6_metagrad(benchmark::State& state) {
    using net = model<Layer, H>;
    time_stream<net>(state, parameters_of<net>());
}

template <template <std::size_t, class...> class Layer, std::size_t H>
void w6_eigen(benchmark::State& state) {
    using net = model<Layer, H>;
    const auto p = parameters_of<net>();
    auto peer = std::make_unique<stream_peers::eigen_recurrent<static_cast<int>(Layer<H>::gates), static_cast<int>(H)>>();
    peer->load(p.template layer<1>(), p.template layer<2>());
    time_peer<net>(state, p, *peer);
}

using conv_stack = mg::sequential<mg::input<block, 1>, mg::causal_conv1d<8, mg::kernel<3>>, mg::tanh_layer,
                                  mg::causal_conv1d<8, mg::kernel<3>, mg::dilation<2>>, mg::tanh_layer,
                                  mg::causal_conv1d<1, mg::kernel<3>, mg::dilation<4>>>;

void w6_conv_metagrad(benchmark::State& state) { time_stream<conv_stack>(state, parameters_of<conv_stack>()); }

void w6_conv_eigen(benchmark::State& state) {
    const auto p = parameters_of<conv_stack>();
    auto peer = std::make_unique<stream_peers::eigen_conv_stack>();
    peer->first.load(p.layer<1>());
    peer->second.load(p.layer<3>());
    peer->third.load(p.layer<5>());
    time_peer<conv_stack>(state, p, *peer);
}
}  // namespace

BENCHMARK(w6_conv_metagrad)->Name("w6_conv3_metagrad");
BENCHMARK(w6_conv_eigen)->Name("w6_conv3_eigen");
BENCHMARK(w6_metagrad<mg::gru, 8>)->Name("w6_gru8_metagrad");
BENCHMARK(w6_eigen<mg::gru, 8>)->Name("w6_gru8_eigen");
BENCHMARK(w6_metagrad<mg::gru, 16>)->Name("w6_gru16_metagrad");
BENCHMARK(w6_eigen<mg::gru, 16>)->Name("w6_gru16_eigen");
BENCHMARK(w6_metagrad<mg::gru, 32>)->Name("w6_gru32_metagrad");
BENCHMARK(w6_eigen<mg::gru, 32>)->Name("w6_gru32_eigen");
BENCHMARK(w6_metagrad<mg::gru, 64>)->Name("w6_gru64_metagrad");
BENCHMARK(w6_eigen<mg::gru, 64>)->Name("w6_gru64_eigen");
BENCHMARK(w6_metagrad<mg::lstm, 8>)->Name("w6_lstm8_metagrad");
BENCHMARK(w6_eigen<mg::lstm, 8>)->Name("w6_lstm8_eigen");
BENCHMARK(w6_metagrad<mg::lstm, 16>)->Name("w6_lstm16_metagrad");
BENCHMARK(w6_eigen<mg::lstm, 16>)->Name("w6_lstm16_eigen");
BENCHMARK(w6_metagrad<mg::lstm, 32>)->Name("w6_lstm32_metagrad");
BENCHMARK(w6_eigen<mg::lstm, 32>)->Name("w6_lstm32_eigen");
BENCHMARK(w6_metagrad<mg::lstm, 64>)->Name("w6_lstm64_metagrad");
BENCHMARK(w6_eigen<mg::lstm, 64>)->Name("w6_lstm64_eigen");

BENCHMARK_MAIN();
