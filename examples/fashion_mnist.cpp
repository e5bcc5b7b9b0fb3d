// Trains a 784-256-128-10 ReLU network on Fashion-MNIST and reports its test accuracy.
// The options (epochs, seed, checkpoint and resume, data directory, threads) are listed at the top
// of examples/fashion_demo.hpp, which both Fashion-MNIST demos share.
#include "fashion_demo.hpp"

// [network]
using network = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>>;
constexpr std::size_t batch_size = 64;
// [network]

int main(int argc, char** argv) {
    return fashion_demo::main_of<network, batch_size>({"fashion_mnist", "Fashion-MNIST, 784-256-128-10 MLP, Adam", 15}, argc, argv);
}
