// Run-time benchmarks of issue #4, each workload against baselines in the same binary:
//   W1  the homework network (4-3-2-1 ReLU, squared error), one sample: forward, backward, SGD step
//   W2  16-32-32-1 tanh MLP, one-sample inference (Net::forward, and a predictor)
//   W3  784-256-128-10 ReLU MLP with softmax, one-sample inference (the same two)
//   W4  the same MLP, softmax cross-entropy, batch 64: forward, backward, SGD step (1 and 2 threads)
//   W5  one epoch of W4 over Fashion-MNIST's training images (1 and 2 threads, and pairs of the two)
//   S1  8-16-16-1 ReLU MLP, MSE, Adam, batch 32: training samples per second
// Baselines: straightforward hand-written loops with fixed sizes, Eigen (fixed-size matrices for
// small networks, dynamic for large), and libtorch (libtorch_baselines.cpp, where CMake finds
// it); PyTorch runs from benchmarks/pytorch_mlp.py. The machine's FMA peak and L2 read bandwidth
// are measured first and reported as counters, so each result reads as a fraction of its bound.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>

#include <Eigen/Dense>
#include <benchmark/benchmark.h>

#include "machine_peaks.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {

// ---- bounds of this machine -----------------------------------------------------------------
const double fma_peak = peaks::fma_flops(0.5);
const double fma_peak_two = peaks::fma_flops_threads(2, 0.5);  // W4 and W5 on 2 threads
const double l2_bandwidth = peaks::read_bandwidth(1 << 20, 0.5);
const double two_thread_scaling = peaks::typical_two_thread_scaling(0.5);  // context for W4 and W5 on 2 threads

void report(benchmark::State& state, double flops_per_iteration, double bytes_per_iteration = 0) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::kIs1000);
    state.counters["peak_GFLOP/s"] = fma_peak / 1e9;
    state.counters["peak2_GFLOP/s"] = fma_peak_two / 1e9;
    state.counters["fma_2v1"] = two_thread_scaling;
    if (bytes_per_iteration > 0) {
        state.counters["GB/s"] = benchmark::Counter(bytes_per_iteration, benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
        state.counters["L2_GB/s"] = l2_bandwidth / 1e9;
    }
}

template <class P>
void fill(P& p, std::uint64_t seed) {
    mg::random_generator g(seed);
    mg::for_each_tensor([&](auto& w) {
        for (auto& v : w) v = g.uniform<float>(-0.5f, 0.5f);
    }, p);
}

// The larger networks start as PyTorch's nn.Linear does (weights and biases uniform in
// +-1/sqrt(fan_in)), as libtorch's and PyTorch's do here: at +-0.5, 784 inputs saturate the
// softmax, and the denormal gradients that follow make a step slower and its time depend on the
// data (earlier runs of this file did that).
template <class P>
void fill_like_pytorch(P& p, std::uint64_t seed) {
    mg::random_generator g(seed);
    float bound = 1;
    mg::for_each_tensor([&](auto& w) {
        using S = typename std::remove_cvref_t<decltype(w)>::shape_type;
        if constexpr (S::rank == 2) bound = 1.0f / std::sqrt(static_cast<float>(S::last));  // a weight: its fan-in
        for (auto& v : w) v = g.uniform<float>(-bound, bound);                              // its bias follows it
    }, p);
}

// ---- W1: homework network, one sample, forward + backward + SGD -------------------------------
using homework = mg::sequential<mg::dense<4, 3>, mg::relu, mg::dense<2>, mg::relu, mg::dense<1>>;
constexpr double w1_flops = 2.0 * (4 * 3 + 3 * 2 + 2 * 1) * 3;  // forward, weight and input gradients

void w1_metagrad(benchmark::State& state) {
    homework::parameters<float> p;
    fill(p, 1);
    mg::workspace<homework, float, mg::shape<4>> ws;
    mg::sgd<float> sgd{0.001f};
    const mg::vector<float, 4> x{0.5f, -0.2f, 0.1f, 0.9f};
    const mg::vector<float, 1> y{0.3f};
    for (auto _ : state) {
        float loss = mg::train_step(p, x, y, mg::squared_error{}, sgd, ws);
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    report(state, w1_flops);
}

struct w1_hand_net {
    float w1[3][4], b1[3], w2[2][3], b2[2], w3[1][2], b3[1];
};
void w1_hand(benchmark::State& state) {
    w1_hand_net n{};
    mg::random_generator g(1);
    for (auto& r : n.w1) for (auto& v : r) v = g.uniform<float>(-0.5f, 0.5f);
    for (auto& r : n.w2) for (auto& v : r) v = g.uniform<float>(-0.5f, 0.5f);
    for (auto& r : n.w3) for (auto& v : r) v = g.uniform<float>(-0.5f, 0.5f);
    const float x[4] = {0.5f, -0.2f, 0.1f, 0.9f}, y = 0.3f, lr = 0.001f;
    for (auto _ : state) {
        float z1[3], h1[3], z2[2], h2[2];
        for (int i = 0; i < 3; ++i) {
            z1[i] = n.b1[i];
            for (int j = 0; j < 4; ++j) z1[i] += n.w1[i][j] * x[j];
            h1[i] = z1[i] > 0 ? z1[i] : 0;
        }
        for (int i = 0; i < 2; ++i) {
            z2[i] = n.b2[i];
            for (int j = 0; j < 3; ++j) z2[i] += n.w2[i][j] * h1[j];
            h2[i] = z2[i] > 0 ? z2[i] : 0;
        }
        float out = n.b3[0];
        for (int j = 0; j < 2; ++j) out += n.w3[0][j] * h2[j];
        const float delta = out - y;
        float d2[2], d1[3];
        for (int j = 0; j < 2; ++j) d2[j] = z2[j] > 0 ? n.w3[0][j] * delta : 0;
        for (int j = 0; j < 3; ++j) {
            float s = 0;
            for (int i = 0; i < 2; ++i) s += n.w2[i][j] * d2[i];
            d1[j] = z1[j] > 0 ? s : 0;
        }
        for (int j = 0; j < 2; ++j) n.w3[0][j] -= lr * delta * h2[j];
        n.b3[0] -= lr * delta;
        for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 3; ++j) n.w2[i][j] -= lr * d2[i] * h1[j];
            n.b2[i] -= lr * d2[i];
        }
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 4; ++j) n.w1[i][j] -= lr * d1[i] * x[j];
            n.b1[i] -= lr * d1[i];
        }
        float loss = 0.5f * delta * delta;
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    report(state, w1_flops);
}

void w1_eigen(benchmark::State& state) {
    Eigen::Matrix<float, 3, 4> w1 = Eigen::Matrix<float, 3, 4>::Random() * 0.5f;
    Eigen::Matrix<float, 2, 3> w2 = Eigen::Matrix<float, 2, 3>::Random() * 0.5f;
    Eigen::Matrix<float, 1, 2> w3 = Eigen::Matrix<float, 1, 2>::Random() * 0.5f;
    Eigen::Vector3f b1 = Eigen::Vector3f::Zero();
    Eigen::Vector2f b2 = Eigen::Vector2f::Zero();
    Eigen::Matrix<float, 1, 1> b3 = Eigen::Matrix<float, 1, 1>::Zero();
    const Eigen::Vector4f x(0.5f, -0.2f, 0.1f, 0.9f);
    const float y = 0.3f, lr = 0.001f;
    for (auto _ : state) {
        const Eigen::Vector3f z1 = w1 * x + b1;
        const Eigen::Vector3f h1 = z1.cwiseMax(0.0f);
        const Eigen::Vector2f z2 = w2 * h1 + b2;
        const Eigen::Vector2f h2 = z2.cwiseMax(0.0f);
        const float out = (w3 * h2)(0) + b3(0);
        const float delta = out - y;
        const Eigen::Vector2f d2 = (w3.transpose() * delta).cwiseProduct((z2.array() > 0).cast<float>().matrix());
        const Eigen::Vector3f d1 = (w2.transpose() * d2).cwiseProduct((z1.array() > 0).cast<float>().matrix());
        w3 -= lr * delta * h2.transpose();
        b3(0) -= lr * delta;
        w2 -= lr * d2 * h1.transpose();
        b2 -= lr * d2;
        w1 -= lr * d1 * x.transpose();
        b1 -= lr * d1;
        float loss = 0.5f * delta * delta;
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    report(state, w1_flops);
}

// ---- W2: 16-32-32-1 tanh, one-sample inference -----------------------------------------------
using w2_net = mg::sequential<mg::dense<16, 32>, mg::tanh_layer, mg::dense<32>, mg::tanh_layer, mg::dense<1>>;
constexpr double w2_flops = 2.0 * (16 * 32 + 32 * 32 + 32);

void w2_metagrad(benchmark::State& state) {
    w2_net::parameters<float> p;
    fill(p, 2);
    mg::vector<float, 16> x;
    for (std::size_t i = 0; i < 16; ++i) x[i] = 0.05f * static_cast<float>(i) - 0.4f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(x);
        const auto y = w2_net::forward(p, x);
        benchmark::DoNotOptimize(y);
    }
    report(state, w2_flops);
}

// The same network through a predictor: weights packed input-major once, activations owned.
void w2_predictor(benchmark::State& state) {
    w2_net::parameters<float> p;
    fill(p, 2);
    mg::predictor<w2_net, float> predict(p);
    mg::vector<float, 16> x;
    for (std::size_t i = 0; i < 16; ++i) x[i] = 0.05f * static_cast<float>(i) - 0.4f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(x);
        const auto& y = predict(x);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    report(state, w2_flops);
}

void w2_hand(benchmark::State& state) {
    float w1[32][16], b1[32] = {}, w2[32][32], b2[32] = {}, w3[32], b3 = 0, x[16];
    mg::random_generator g(2);
    for (auto& r : w1) for (auto& v : r) v = g.uniform<float>(-0.5f, 0.5f);
    for (auto& r : w2) for (auto& v : r) v = g.uniform<float>(-0.5f, 0.5f);
    for (auto& v : w3) v = g.uniform<float>(-0.5f, 0.5f);
    for (int i = 0; i < 16; ++i) x[i] = 0.05f * static_cast<float>(i) - 0.4f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(x);
        float h1[32], h2[32];
        for (int i = 0; i < 32; ++i) {
            float s = b1[i];
            for (int j = 0; j < 16; ++j) s += w1[i][j] * x[j];
            h1[i] = std::tanh(s);
        }
        for (int i = 0; i < 32; ++i) {
            float s = b2[i];
            for (int j = 0; j < 32; ++j) s += w2[i][j] * h1[j];
            h2[i] = std::tanh(s);
        }
        float out = b3;
        for (int j = 0; j < 32; ++j) out += w3[j] * h2[j];
        benchmark::DoNotOptimize(out);
    }
    report(state, w2_flops);
}

void w2_eigen(benchmark::State& state) {
    const Eigen::Matrix<float, 32, 16> w1 = Eigen::Matrix<float, 32, 16>::Random() * 0.5f;
    const Eigen::Matrix<float, 32, 32> w2 = Eigen::Matrix<float, 32, 32>::Random() * 0.5f;
    const Eigen::Matrix<float, 1, 32> w3 = Eigen::Matrix<float, 1, 32>::Random() * 0.5f;
    const Eigen::Matrix<float, 32, 1> b1 = Eigen::Matrix<float, 32, 1>::Zero(), b2 = b1;
    Eigen::Matrix<float, 16, 1> x;
    for (int i = 0; i < 16; ++i) x(i) = 0.05f * static_cast<float>(i) - 0.4f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(x.data());
        const Eigen::Matrix<float, 32, 1> h1 = (w1 * x + b1).array().tanh();
        const Eigen::Matrix<float, 32, 1> h2 = (w2 * h1 + b2).array().tanh();
        float out = (w3 * h2)(0);
        benchmark::DoNotOptimize(out);
    }
    report(state, w2_flops);
}

// ---- W3: 784-256-128-10 with softmax, one-sample inference --------------------------------------
using mlp = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>>;
using mlp_softmax = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>, mg::softmax>;
constexpr double mlp_weights = 784.0 * 256 + 256.0 * 128 + 128.0 * 10;

void w3_metagrad(benchmark::State& state) {
    auto p = std::make_unique<mlp_softmax::parameters<float>>();
    fill_like_pytorch(*p, 3);
    auto x = std::make_unique<mg::vector<float, 784>>();
    for (std::size_t i = 0; i < 784; ++i) (*x)[i] = static_cast<float>(i % 255) / 255.0f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(x->data.data());
        const auto y = mlp_softmax::forward(*p, *x);
        benchmark::DoNotOptimize(y);
    }
    report(state, 2 * mlp_weights, 4 * mlp_weights);
}

void w3_predictor(benchmark::State& state) {
    auto p = std::make_unique<mlp_softmax::parameters<float>>();
    fill_like_pytorch(*p, 3);
    auto predict = std::make_unique<mg::predictor<mlp_softmax, float>>(*p);
    auto x = std::make_unique<mg::vector<float, 784>>();
    for (std::size_t i = 0; i < 784; ++i) (*x)[i] = static_cast<float>(i % 255) / 255.0f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(x->data.data());
        const auto& y = (*predict)(*x);
        benchmark::DoNotOptimize(y);
        benchmark::ClobberMemory();
    }
    report(state, 2 * mlp_weights, 4 * mlp_weights);
}

void w3_eigen(benchmark::State& state) {
    const Eigen::MatrixXf w1 = Eigen::MatrixXf::Random(256, 784) * 0.5f, w2 = Eigen::MatrixXf::Random(128, 256) * 0.5f,
                          w3 = Eigen::MatrixXf::Random(10, 128) * 0.5f;
    const Eigen::VectorXf b1 = Eigen::VectorXf::Zero(256), b2 = Eigen::VectorXf::Zero(128), b3 = Eigen::VectorXf::Zero(10);
    Eigen::VectorXf x(784), h1(256), h2(128), z(10);
    for (int i = 0; i < 784; ++i) x(i) = static_cast<float>(i % 255) / 255.0f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(x.data());
        h1.noalias() = w1 * x;
        h1 = (h1 + b1).cwiseMax(0.0f);
        h2.noalias() = w2 * h1;
        h2 = (h2 + b2).cwiseMax(0.0f);
        z.noalias() = w3 * h2;
        z += b3;
        z = (z.array() - z.maxCoeff()).exp();
        z /= z.sum();
        benchmark::DoNotOptimize(z.data());
    }
    report(state, 2 * mlp_weights, 4 * mlp_weights);
}

// ---- W4: the MLP, softmax cross-entropy, batch 64, one training step ---------------------------
constexpr std::size_t w4_batch = 64;
// Forward 2 B W flops, weight gradients 2 B W, input gradients of layers 2 and 3; the first
// layer's input gradient is not needed for training, and no framework here computes it.
constexpr double w4_flops = 2.0 * w4_batch * (2 * mlp_weights + 256.0 * 128 + 128.0 * 10);

void w4_metagrad(benchmark::State& state) {
    mg::set_thread_count(static_cast<unsigned>(state.range(0)));
    auto p = std::make_unique<mlp::parameters<float>>();
    fill_like_pytorch(*p, 4);
    auto memory = std::make_unique<mg::training_memory<mlp, float, w4_batch>>();
    // The batch lies in the step's own input tensor, where train_epoch's load_batch puts it.
    auto& inputs = memory->step.trace.input();
    mg::random_generator g(5);
    for (auto& v : inputs) v = g.uniform<float>();
    for (std::size_t r = 0; r < w4_batch; ++r) memory->data.targets(r, r % 10) = 1;
    mg::sgd<float> sgd{0.001f};
    for (auto _ : state) {
        float loss = mg::train_step(*p, inputs, memory->data.targets, mg::softmax_cross_entropy{}, sgd, memory->step);
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    mg::set_thread_count(1);
    report(state, w4_flops);
}

void w4_eigen(benchmark::State& state) {
    // Column-major Eigen, samples as columns: Z = W X + b.
    Eigen::MatrixXf w1 = Eigen::MatrixXf::Random(256, 784) * 0.05f, w2 = Eigen::MatrixXf::Random(128, 256) * 0.05f,
                    w3 = Eigen::MatrixXf::Random(10, 128) * 0.05f;
    Eigen::VectorXf b1 = Eigen::VectorXf::Zero(256), b2 = Eigen::VectorXf::Zero(128), b3 = Eigen::VectorXf::Zero(10);
    const int n = static_cast<int>(w4_batch);
    Eigen::MatrixXf x = (Eigen::MatrixXf::Random(784, n).array() + 1.0f) / 2.0f, t = Eigen::MatrixXf::Zero(10, n);
    for (int r = 0; r < n; ++r) t(r % 10, r) = 1;
    Eigen::MatrixXf z1(256, n), h1(256, n), z2(128, n), h2(128, n), z3(10, n), d3(10, n), d2(128, n), d1(256, n);
    Eigen::MatrixXf g1(256, 784), g2(128, 256), g3(10, 128);
    const float lr = 0.001f;
    for (auto _ : state) {
        z1.noalias() = w1 * x;
        z1.colwise() += b1;
        h1 = z1.cwiseMax(0.0f);
        z2.noalias() = w2 * h1;
        z2.colwise() += b2;
        h2 = z2.cwiseMax(0.0f);
        z3.noalias() = w3 * h2;
        z3.colwise() += b3;
        float loss = 0;
        for (int c = 0; c < n; ++c) {
            const float top = z3.col(c).maxCoeff();
            const Eigen::VectorXf e = (z3.col(c).array() - top).exp();
            const float total = e.sum();
            loss += std::log(total) + top - z3.col(c).dot(t.col(c));
            d3.col(c) = (e / total - t.col(c)) / static_cast<float>(n);
        }
        g3.noalias() = d3 * h2.transpose();
        d2.noalias() = w3.transpose() * d3;
        d2 = d2.cwiseProduct((z2.array() > 0).cast<float>().matrix());
        g2.noalias() = d2 * h1.transpose();
        d1.noalias() = w2.transpose() * d2;
        d1 = d1.cwiseProduct((z1.array() > 0).cast<float>().matrix());
        g1.noalias() = d1 * x.transpose();
        w3 -= lr * g3;
        b3 -= lr * d3.rowwise().sum();
        w2 -= lr * g2;
        b2 -= lr * d2.rowwise().sum();
        w1 -= lr * g1;
        b1 -= lr * d1.rowwise().sum();
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    report(state, w4_flops);
}

// ---- S1: 8-16-16-1 ReLU, MSE, Adam, batch 32 ---------------------------------------------------
using s1_net = mg::sequential<mg::dense<8, 16>, mg::relu, mg::dense<16>, mg::relu, mg::dense<1>>;
constexpr std::size_t s1_batch = 32;

void s1_metagrad(benchmark::State& state) {
    s1_net::parameters<float> p;
    fill(p, 6);
    mg::adam<s1_net, float> adam({.learning_rate = 1e-3f});
    mg::workspace<s1_net, float, mg::shape<s1_batch, 8>> ws;
    mg::tensor<float, mg::shape<s1_batch, 8>> x;
    mg::tensor<float, mg::shape<s1_batch, 1>> y;
    mg::random_generator g(7);
    for (auto& v : x) v = g.uniform<float>(-1, 1);
    for (auto& v : y) v = g.uniform<float>(-1, 1);
    for (auto _ : state) {
        float loss = mg::train_step(p, x, y, mg::mse{}, adam, ws);
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * s1_batch));
}

void s1_hand(benchmark::State& state) {
    constexpr int B = static_cast<int>(s1_batch);
    struct params {
        float w1[16][8], b1[16], w2[16][16], b2[16], w3[16], b3;
    };
    params p{}, m{}, v{}, grad{};
    mg::random_generator g(6);
    for (auto& r : p.w1) for (auto& e : r) e = g.uniform<float>(-0.5f, 0.5f);
    for (auto& r : p.w2) for (auto& e : r) e = g.uniform<float>(-0.5f, 0.5f);
    for (auto& e : p.w3) e = g.uniform<float>(-0.5f, 0.5f);
    float x[B][8], y[B];
    mg::random_generator d(7);
    for (auto& r : x) for (auto& e : r) e = d.uniform<float>(-1, 1);
    for (auto& e : y) e = d.uniform<float>(-1, 1);
    constexpr int count = static_cast<int>(sizeof(params) / sizeof(float));
    int step = 0;
    for (auto _ : state) {
        grad = params{};
        float loss = 0;
        for (int s = 0; s < B; ++s) {
            float z1[16], h1[16], z2[16], h2[16];
            for (int i = 0; i < 16; ++i) {
                z1[i] = p.b1[i];
                for (int j = 0; j < 8; ++j) z1[i] += p.w1[i][j] * x[s][j];
                h1[i] = z1[i] > 0 ? z1[i] : 0;
            }
            for (int i = 0; i < 16; ++i) {
                z2[i] = p.b2[i];
                for (int j = 0; j < 16; ++j) z2[i] += p.w2[i][j] * h1[j];
                h2[i] = z2[i] > 0 ? z2[i] : 0;
            }
            float out = p.b3;
            for (int j = 0; j < 16; ++j) out += p.w3[j] * h2[j];
            const float diff = out - y[s];
            loss += diff * diff / B;
            const float delta = 2 * diff / B;
            float d2[16], d1[16];
            for (int j = 0; j < 16; ++j) {
                grad.w3[j] += delta * h2[j];
                d2[j] = z2[j] > 0 ? p.w3[j] * delta : 0;
            }
            grad.b3 += delta;
            for (int j = 0; j < 16; ++j) {
                float sum = 0;
                for (int i = 0; i < 16; ++i) sum += p.w2[i][j] * d2[i];
                d1[j] = z1[j] > 0 ? sum : 0;
            }
            for (int i = 0; i < 16; ++i) {
                for (int j = 0; j < 16; ++j) grad.w2[i][j] += d2[i] * h1[j];
                grad.b2[i] += d2[i];
                for (int j = 0; j < 8; ++j) grad.w1[i][j] += d1[i] * x[s][j];
                grad.b1[i] += d1[i];
            }
        }
        ++step;
        const float c1 = 1 - std::pow(0.9f, static_cast<float>(step)), c2 = std::sqrt(1 - std::pow(0.999f, static_cast<float>(step)));
        float* pw = &p.w1[0][0];
        float* mw = &m.w1[0][0];
        float* vw = &v.w1[0][0];
        const float* gw = &grad.w1[0][0];
        for (int i = 0; i < count; ++i) {
            mw[i] = 0.9f * mw[i] + 0.1f * gw[i];
            vw[i] = 0.999f * vw[i] + 0.001f * gw[i] * gw[i];
            pw[i] -= (1e-3f / c1) * mw[i] / (std::sqrt(vw[i]) / c2 + 1e-8f);
        }
        benchmark::DoNotOptimize(loss);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * s1_batch));
}

// ---- W5: one epoch of W4 over Fashion-MNIST's 60,000 training images, 1 and 2 threads --------
// Shuffled batches of 64, the last partial one dropped (937 steps), plain SGD, through the
// library's own loop (train_epoch): batch loading and metrics are part of the time, as they are
// in the PyTorch script's epoch (benchmarks/pytorch_mlp.py).
const char* const fashion_mnist = "/usr/share/datasets/fashion-mnist";

const mg::dataset<float, mg::shape<784>>& w5_images() {
    static const auto train = [] {
        const std::string dir = fashion_mnist;
        auto d = mg::load_idx<float, mg::shape<784>>(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", 10);
        mg::scale_to_unit(d, 0.0f, 255.0f);
        return d;
    }();
    return train;
}

// One W5 trainer: the network, its memory and its place in the data.
struct w5_trainer {
    std::unique_ptr<mlp::parameters<float>> p = std::make_unique<mlp::parameters<float>>();
    std::unique_ptr<mg::training_memory<mlp, float, w4_batch>> memory = std::make_unique<mg::training_memory<mlp, float, w4_batch>>();
    mg::sgd<float> sgd{0.001f};
    mg::training_position position{.shuffle = mg::random_generator(7)};

    w5_trainer() { fill_like_pytorch(*p, 6); }
    mg::metrics epoch() {
        return mg::train_epoch(*p, sgd, mg::constant_rate{0.001}, w5_images(), mg::softmax_cross_entropy{}, position, *memory,
                               [](std::size_t, std::size_t, const mg::metrics&) {});
    }
};

double w5_samples() { return static_cast<double>(w5_images().size() / w4_batch * w4_batch); }

void w5_metagrad(benchmark::State& state) {
    w5_images();
    mg::set_thread_count(static_cast<unsigned>(state.range(0)));
    w5_trainer trainer;
    for (auto _ : state) {
        const mg::metrics m = trainer.epoch();
        benchmark::DoNotOptimize(m);
    }
    mg::set_thread_count(1);
    state.counters["samples/s"] = benchmark::Counter(w5_samples(), benchmark::Counter::kIsIterationInvariantRate);
}

// W5's two-thread scaling from pairs of epochs taken in turn, one on each thread count (which
// goes first alternates): the host's speed drifts over the tens of seconds that all repetitions
// of one thread count take, and the ratio of two medians taken at different times carries that
// drift. Each repetition reports its pair's ratio; the summary gives their median and range.
void w5_pairs(benchmark::State& state) {
    w5_images();
    w5_trainer trainer;
    static unsigned pair = 0;
    for (auto _ : state) {
        double seconds[2] = {};
        for (unsigned turn = 0; turn < 2; ++turn) {
            const unsigned threads = (turn + pair) % 2 == 0 ? 1 : 2;
            mg::set_thread_count(threads);
            const auto start = std::chrono::steady_clock::now();
            const mg::metrics m = trainer.epoch();
            seconds[threads - 1] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            benchmark::DoNotOptimize(m);
        }
        ++pair;
        state.counters["epoch_1t_s"] = seconds[0];
        state.counters["epoch_2t_s"] = seconds[1];
        state.counters["2t_vs_1t"] = seconds[0] / seconds[1];
    }
    mg::set_thread_count(1);
}

}  // namespace

BENCHMARK(w1_metagrad);
BENCHMARK(w1_hand);
BENCHMARK(w1_eigen);
BENCHMARK(w2_metagrad);
BENCHMARK(w2_predictor);
BENCHMARK(w2_hand);
BENCHMARK(w2_eigen);
BENCHMARK(w3_metagrad);
BENCHMARK(w3_predictor);
BENCHMARK(w3_eigen);
BENCHMARK(w4_metagrad)->ArgName("threads")->Arg(1)->Arg(2);
BENCHMARK(w4_eigen);
BENCHMARK(s1_metagrad);
BENCHMARK(s1_hand);
BENCHMARK(w5_metagrad)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(w5_pairs)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
