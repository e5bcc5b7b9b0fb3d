// Trains a 2-4-1 network on XOR entirely while compiling, and bakes the trained weights into
// the program: the training loop below runs in the compiler's constant evaluator, the
// static_asserts check what it learned, and main only prints constants. It builds with g++ and
// clang under their default constexpr limits (docs/compile-time.md says how to raise them for
// longer runs).
#include <cstdio>

#include "metagrad/constexpr.hpp"

namespace mg = metagrad;

// [network]
using xor_network = mg::sequential<mg::dense<2, 4>, mg::tanh_layer, mg::dense<1>, mg::sigmoid>;

constexpr mg::matrix<double, 4, 2> inputs{{{0, 0}, {0, 1}, {1, 0}, {1, 1}}};
constexpr mg::matrix<double, 4, 1> targets{{{0}, {1}, {1}, {0}}};

// Seeded Glorot initialization and full-batch Adam, all constexpr.
constexpr int adam_steps = 60;  // about 8,800 of clang's 1,048,576 default constexpr steps each
constexpr auto trained() {
    xor_network::parameters<double> p;
    mg::random_generator g(1);
    mg::initialize(p, mg::glorot_uniform{}, g);
    mg::adam<xor_network, double> adam({.learning_rate = 0.1});
    for (int step = 0; step < adam_steps; ++step) mg::train_step(p, inputs, targets, mg::squared_error{}, adam);
    return p;
}

// The weights exist only as constants in the binary.
constexpr auto weights = trained();
constexpr auto predictions = xor_network::forward(weights, inputs);
static_assert(predictions(0, 0) < 0.1 && predictions(1, 0) > 0.9 && predictions(2, 0) > 0.9 && predictions(3, 0) < 0.1,
              "the network trained at compile time computes XOR");
// [network]

int main() {
    std::printf("XOR, trained by the compiler (%d Adam steps):\n", adam_steps);
    for (std::size_t i = 0; i < 4; ++i)
        std::printf("  xor(%g, %g) = %.4f\n", inputs(i, 0), inputs(i, 1), predictions(i, 0));
    std::printf("first-layer weights: %.4f %.4f ...\n", weights.layer<0>().weight(0, 0), weights.layer<0>().weight(0, 1));
}
