// libtorch baselines of the convolution benchmarks (conv_time.cpp): the same convolutions,
// forward and backward (weights, bias and input gradients) at batch 64, as a libtorch C++ user
// writes them: a Conv2d module, NCHW float32 tensors made once, torch::set_num_threads.
#include <torch/torch.h>

#include <benchmark/benchmark.h>

#include "conv_shapes.hpp"

namespace {
void conv_libtorch(benchmark::State& state, int h, int w, int in, int out) {
    torch::set_num_threads(static_cast<int>(state.range(0)));
    torch::manual_seed(3);
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, 3).padding(1));
    const int batch = static_cast<int>(conv_batch);
    auto x = (torch::rand({batch, in, h, w}) * 2 - 1).requires_grad_(true);
    const auto dl_dy = torch::rand({batch, out, h, w}) * 2 - 1;
    for (auto _ : state) {
        conv->zero_grad();
        x.mutable_grad() = torch::Tensor();
        auto y = conv->forward(x);
        y.backward(dl_dy);
        benchmark::DoNotOptimize(x.grad().data_ptr<float>());
    }
    torch::set_num_threads(1);
    state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(static_cast<std::size_t>(h), static_cast<std::size_t>(w),
                                                              static_cast<std::size_t>(in), static_cast<std::size_t>(out)),
                                                   benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
void c1_libtorch(benchmark::State& state) { conv_libtorch(state, 14, 14, 32, 64); }
void c2_libtorch(benchmark::State& state) { conv_libtorch(state, 28, 28, 1, 32); }
}  // namespace

BENCHMARK(c1_libtorch)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(c2_libtorch)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
