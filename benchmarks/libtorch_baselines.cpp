// libtorch baselines of issue #4 (built into run_time when CMake finds Torch): the same workloads
// as run_time.cpp, written as a libtorch C++ user would, in the same binary and run. libtorch gets
// its best plain set-up: tensors made once, no autograd for inference (NoGradGuard), float32,
// torch::set_num_threads for the thread count, and the BLAS core type
// given by OPENBLAS_CORETYPE (benchmarks/run.sh sets it: Debian's OpenBLAS mistakes this CPU for
// an SSE3 one).
#include <torch/torch.h>

#include <benchmark/benchmark.h>

namespace {

torch::nn::Sequential mlp(bool softmax) {
    torch::manual_seed(1);
    torch::nn::Sequential net(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 128), torch::nn::ReLU(),
                              torch::nn::Linear(128, 10));
    if (softmax) net->push_back(torch::nn::Softmax(1));
    return net;
}

void w1_libtorch(benchmark::State& state) {
    torch::set_num_threads(1);
    torch::manual_seed(1);
    torch::nn::Sequential net(torch::nn::Linear(4, 3), torch::nn::ReLU(), torch::nn::Linear(3, 2), torch::nn::ReLU(),
                              torch::nn::Linear(2, 1));
    torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.001));
    const auto x = torch::tensor({0.5f, -0.2f, 0.1f, 0.9f}).reshape({1, 4});
    const auto y = torch::tensor({0.3f}).reshape({1, 1});
    for (auto _ : state) {
        sgd.zero_grad();
        auto loss = 0.5 * (net->forward(x) - y).pow(2).sum();
        loss.backward();
        sgd.step();
        benchmark::DoNotOptimize(loss.data_ptr<float>());
    }
}

void w2_libtorch(benchmark::State& state) {
    torch::set_num_threads(1);
    torch::NoGradGuard no_grad;
    torch::manual_seed(1);
    torch::nn::Sequential net(torch::nn::Linear(16, 32), torch::nn::Tanh(), torch::nn::Linear(32, 32), torch::nn::Tanh(),
                              torch::nn::Linear(32, 1));
    const auto x = torch::rand({1, 16});
    for (auto _ : state) {
        auto y = net->forward(x);
        benchmark::DoNotOptimize(y.data_ptr<float>());
    }
}

void w3_libtorch(benchmark::State& state) {
    torch::set_num_threads(1);
    torch::NoGradGuard no_grad;
    auto net = mlp(true);
    const auto x = torch::rand({1, 784});
    for (auto _ : state) {
        auto y = net->forward(x);
        benchmark::DoNotOptimize(y.data_ptr<float>());
    }
}

void w4_libtorch(benchmark::State& state) {
    torch::set_num_threads(static_cast<int>(state.range(0)));
    auto net = mlp(false);
    torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.001));
    const auto x = torch::rand({64, 784});
    const auto y = torch::arange(64) % 10;
    for (auto _ : state) {
        sgd.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
        loss.backward();
        sgd.step();
        benchmark::DoNotOptimize(loss.data_ptr<float>());
    }
    torch::set_num_threads(1);
    const double flops = 2.0 * 64 * (2 * (784.0 * 256 + 256.0 * 128 + 128.0 * 10) + 256.0 * 128 + 128.0 * 10);
    state.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void s1_libtorch(benchmark::State& state) {
    torch::set_num_threads(1);
    torch::manual_seed(1);
    torch::nn::Sequential net(torch::nn::Linear(8, 16), torch::nn::ReLU(), torch::nn::Linear(16, 16), torch::nn::ReLU(),
                              torch::nn::Linear(16, 1));
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
    const auto x = torch::rand({32, 8});
    const auto y = torch::rand({32, 1});
    for (auto _ : state) {
        adam.zero_grad();
        auto loss = torch::mse_loss(net->forward(x), y);
        loss.backward();
        adam.step();
        benchmark::DoNotOptimize(loss.data_ptr<float>());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 32));
}

}  // namespace

BENCHMARK(w1_libtorch);
BENCHMARK(w2_libtorch);
BENCHMARK(w3_libtorch);
BENCHMARK(w4_libtorch)->ArgName("threads")->Arg(1)->Arg(2);
BENCHMARK(s1_libtorch);
