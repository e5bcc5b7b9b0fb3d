// Convolution benchmarks of issue #13: forward and backward (weights, bias and input gradients) of
// the CNN demo's convolutions (examples/fashion_cnn.cpp) at batch 64, in metagrad and, in the same
// binary and run, libtorch (conv_baselines.cpp, where CMake finds Torch) and oneDNN's convolution
// primitives (where CMake finds DNNL) as reference rows. Run by benchmarks/run.sh.
//   C1: 32 -> 64 channels, 3x3, padding 1, on 14 x 14 (the demo's second convolution)
//   C2: 1 -> 32 channels, 3x3, padding 1, on 28 x 28 (the first; its input gradient is not needed
//       in training, but is computed here as libtorch computes it for an input that asks for it)
#include <cstddef>
#include <memory>

#include <benchmark/benchmark.h>

#include "metagrad/metagrad.hpp"
#include "conv_shapes.hpp"

namespace mg = metagrad;

namespace {
template <std::size_t H, std::size_t W, std::size_t In, std::size_t Out>
using conv_net = mg::network<mg::shape<H, W, In>, mg::conv2d<Out, mg::kernel<3>, mg::padding<1>>>;

template <std::size_t H, std::size_t W, std::size_t In, std::size_t Out>
void conv_metagrad(benchmark::State& state) {
    using net = conv_net<H, W, In, Out>;
    using X = mg::shape<conv_batch, H, W, In>;
    using Y = mg::shape<conv_batch, H, W, Out>;
    mg::set_thread_count(static_cast<unsigned>(state.range(0)));
    auto p = std::make_unique<typename net::template parameters<float>>();
    mg::random_generator g(3);
    mg::initialize(*p, mg::he_uniform{}, g);
    auto ws = std::make_unique<mg::workspace<net, float, X>>();
    auto dl_dy = std::make_unique<mg::tensor<float, Y>>();
    for (auto& v : ws->trace.input()) v = g.uniform<float>(-1, 1);
    for (auto& v : *dl_dy) v = g.uniform<float>(-1, 1);
    for (auto _ : state) {
        net::forward_trace_into(*p, ws->trace.input(), ws->trace);
        net::backward_into(*p, ws->trace, *dl_dy, ws->gradient);
        benchmark::DoNotOptimize(ws->gradient.activations.input()[0]);
        benchmark::ClobberMemory();
    }
    mg::set_thread_count(1);
    state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(H, W, In, Out), benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
}
}  // namespace

BENCHMARK(conv_metagrad<14, 14, 32, 64>)->Name("c1_metagrad")->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(conv_metagrad<28, 28, 1, 32>)->Name("c2_metagrad")->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
