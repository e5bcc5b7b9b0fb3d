// A ResNet-18-shaped network for 32x32 RGB images (He et al., 2016, as adapted to CIFAR: a 3x3
// stem without pooling), with its training step: what benchmarks/compile_resnet.sh compiles to
// measure how compile time holds up on a deep network type. Run, it takes one step and says so.
#include <chrono>
#include <cstdio>
#include <memory>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

template <std::size_t C, std::size_t Stride = 1>
using conv3 = mg::conv2d<C, mg::kernel<3>, mg::padding<1>, mg::stride<Stride>, mg::without_bias>;
template <std::size_t C>
using basic_block = mg::residual<mg::chain<conv3<C>, mg::batch_norm<>, mg::relu, conv3<C>, mg::batch_norm<>>>;
// Halves the image and widens the channels; its shortcut is a strided 1x1 convolution and batch norm.
template <std::size_t C>
using downsampling_block = mg::residual<mg::chain<conv3<C, 2>, mg::batch_norm<>, mg::relu, conv3<C>, mg::batch_norm<>>,
                                        mg::chain<mg::conv2d<C, mg::kernel<1>, mg::stride<2>, mg::without_bias>, mg::batch_norm<>>>;
using network = mg::sequential<mg::input<32, 32, 3>, conv3<64>, mg::batch_norm<>, mg::relu,
                               basic_block<64>, mg::relu, basic_block<64>, mg::relu,
                               downsampling_block<128>, mg::relu, basic_block<128>, mg::relu,
                               downsampling_block<256>, mg::relu, basic_block<256>, mg::relu,
                               downsampling_block<512>, mg::relu, basic_block<512>, mg::relu,
                               mg::global_avg_pool, mg::dense<10>>;
// PyTorch counts 11,173,962 parameters in this network (batch norms' weights and biases included).
static_assert(network::parameter_count == 11173962);
constexpr std::size_t batch_size = 32;

int main() {
    using X = mg::batch_of<batch_size, network::input_shape>;
    auto p = std::make_unique<network::parameters<float>>();
    mg::random_generator generator(1);
    mg::initialize(*p, mg::he_uniform{}, generator);
    auto optimizer = std::make_unique<mg::adam<network, float>>(mg::adam_options<float>{});
    auto x = std::make_unique<mg::tensor<float, X>>();
    for (std::size_t i = 0; i < X::size; ++i) (*x)[i] = static_cast<float>(i % 17) / 17.0f;
    auto y = std::make_unique<mg::tensor<float, mg::batch_of<batch_size, network::output_shape>>>();
    for (std::size_t i = 0; i < batch_size; ++i) (*y)[i * 10 + i % 10] = 1;
    auto ws = std::make_unique<mg::workspace<network, float, X>>();
    const auto start = std::chrono::steady_clock::now();
    const float loss = mg::train_step(*p, *x, *y, mg::softmax_cross_entropy{}, *optimizer, *ws);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("ResNet-18 (%zu parameters): one training step at batch %zu, loss %.4f, %.2f s\n", network::parameter_count,
                batch_size, static_cast<double>(loss), took.count());
    return loss > 0 && loss < 100 ? 0 : 1;
}
