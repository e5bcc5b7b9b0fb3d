// A first metagrad program: a network type, a forward pass, a training loop on a batch, and a
// gradient check that runs at compile time. Used by docs/getting-started.md.
#include <cstdio>

#include "metagrad/constexpr.hpp"
#include "metagrad/infer/predictor.hpp"

namespace mg = metagrad;

// [network]
// A network is a type. Each size is written once: dense<2, 8> fixes the input (2 features),
// later layers take their input size from the previous layer's output.
using xor_network = mg::sequential<mg::dense<2, 8>, mg::tanh_layer, mg::dense<1>>;
static_assert(std::is_same_v<xor_network::output_shape, mg::shape<1>>);
static_assert(xor_network::parameter_count == 2 * 8 + 8 + 8 * 1 + 1);
// [network]

// [data]
// A batch of 4 samples: shape<4, 2> in, shape<4, 1> out. The batch size is part of the type.
constexpr mg::matrix<float, 4, 2> inputs{{{0, 0}, {0, 1}, {1, 0}, {1, 1}}};
constexpr mg::matrix<float, 4, 1> targets{{{0}, {1}, {1}, {0}}};
// [data]

// [init]
// Parameters are a plain value (no heap); fill them however you like. Here: fixed small values.
constexpr xor_network::parameters<float> initial_parameters() {
    xor_network::parameters<float> p;
    auto& w1 = p.layer<0>().weight;  // 8 x 2
    for (std::size_t i = 0; i < w1.size; ++i) w1[i] = 0.9f * static_cast<float>((i * 7) % 11) / 11.0f - 0.45f + (i % 2 ? 0.3f : -0.3f);
    auto& w2 = p.layer<2>().weight;  // 1 x 8
    for (std::size_t i = 0; i < w2.size; ++i) w2[i] = i % 2 ? 0.5f : -0.5f;
    return p;
}
// [init]

// [gradcheck]
// The generated backward pass, checked against finite differences while compiling (in double,
// where finite differences are precise enough to tell a wrong gradient from rounding).
static_assert(mg::gradcheck(initial_parameters().cast<double>(), mg::matrix<double, 4, 2>(inputs),
                            mg::matrix<double, 4, 1>(targets), mg::squared_error{}) < 1e-7);
// [gradcheck]

int main() {
    // [train]
    auto p = initial_parameters();
    mg::sgd<float> optimizer{0.5f};
    for (int step = 0; step <= 2000; ++step) {
        const float loss = mg::train_step(p, inputs, targets, mg::squared_error{}, optimizer);
        if (step % 500 == 0) std::printf("step %4d  loss %.5f\n", step, static_cast<double>(loss));
    }
    const auto predictions = xor_network::forward(p, inputs);  // shape<4, 1>
    for (std::size_t i = 0; i < 4; ++i)
        std::printf("xor(%g, %g) = %.3f\n", static_cast<double>(inputs(i, 0)), static_cast<double>(inputs(i, 1)),
                    static_cast<double>(predictions(i, 0)));
    // [train]

    // [predict]
    // One sample at a time, as a deployed model runs: the weights packed once for the run-time
    // kernels, the activations kept in the predictor (not for two threads at once).
    mg::predictor<xor_network, float> predict(p);
    const mg::vector<float, 2> sample{1, 0};
    std::printf("predictor: xor(1, 0) = %.3f\n", static_cast<double>(predict(sample)[0]));
    // [predict]
}
