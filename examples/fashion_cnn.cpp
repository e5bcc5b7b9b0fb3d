// Trains a small convolutional network on Fashion-MNIST and reports its test accuracy: images
// mirrored at random in training, two blocks of 3x3 convolution, batch norm, ReLU and 2x2 max
// pooling, then a dense layer of 256 with dropout (1/4), for 14 epochs. The options (epochs,
// seed, checkpoint and resume, data directory, threads) are listed
// at the top of examples/fashion_demo.hpp, which both Fashion-MNIST demos share.
#include "fashion_demo.hpp"

// [network]
// Images channels last: 28 x 28 x 1 in, 14 x 14 x 32 after the first block, 7 x 7 x 64 after the
// second. In training, random_flip mirrors each image with probability 1/2 (clothes look the same
// mirrored). The convolutions have no bias: the batch norm after each shifts its outputs anyway.
using network = mg::sequential<mg::input<28, 28, 1>, mg::random_flip,
                               mg::conv2d<32, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>, mg::relu,
                               mg::max_pool2d<mg::kernel<2>>,
                               mg::conv2d<64, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>, mg::relu,
                               mg::max_pool2d<mg::kernel<2>>,
                               mg::flatten, mg::dense<256>, mg::relu, mg::dropout<std::ratio<1, 4>>, mg::dense<10>>;
constexpr std::size_t batch_size = 64;
// [network]

int main(int argc, char** argv) {
    return fashion_demo::main_of<network, batch_size>({"fashion_cnn", "Fashion-MNIST, CNN (conv 32, conv 64, dense 256), Adam", 14}, argc,
                                                  argv);
}
