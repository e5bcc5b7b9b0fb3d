// What the data-parallel tests train: a small network with every kind of layer whose result could
// depend on how a step is cut (a convolution; batch norm, with statistics over the block and
// running statistics as state; dropout, with random numbers keyed by the block's place), and
// synthetic images it can learn. Shared by tests/dist/data_parallel.cpp (ranks as threads) and
// tests/dist/mpi_ranks.cpp (ranks as processes), which must train the same thing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ratio>

#include "metagrad/metagrad.hpp"

namespace dist_test {
namespace mg = metagrad;

using image_network = mg::sequential<mg::input<6, 6, 1>, mg::conv2d<3, mg::kernel<3>, mg::padding<1>>, mg::batch_norm<>, mg::relu,
                                     mg::max_pool2d<mg::kernel<2>>, mg::flatten, mg::dense<8>, mg::relu, mg::dropout<std::ratio<1, 4>>,
                                     mg::dense<3>>;
constexpr std::size_t block = 8;

/// `n` 6x6 images in 3 classes, each class brighter on every third pixel: the same for a seed.
inline mg::dataset<float, mg::shape<6, 6, 1>> synthetic_images(std::size_t n) {
    mg::dataset<float, mg::shape<6, 6, 1>> data;
    data.classes = 3;
    mg::random_generator g(5);
    for (std::size_t i = 0; i < n; ++i) {
        const auto label = static_cast<std::uint32_t>(g.below(3));
        data.labels.push_back(label);
        for (std::size_t k = 0; k < 36; ++k) data.features.push_back(g.uniform<float>(0, 1) + (k % 3 == label ? 0.5f : 0.0f));
    }
    return data;
}
}  // namespace dist_test
