// A layer's test case for the laws (laws.hpp): the layer, a sample shape, the element type and
// the output shape it must give.
#pragma once

#include <tuple>

#include "metagrad/metagrad.hpp"

// Layers that, in training, drop some outputs' gradients by design: random_shift's outputs that
// moved in from outside the image read no input, so their gradients reach none (as in PyTorch's
// RandomCrop). The NaN law in training skips them; their own tests check where each gradient goes.
template <class Layer>
inline constexpr bool drops_gradients_in_training = false;
template <std::size_t Pixels>
inline constexpr bool drops_gradients_in_training<metagrad::random_shift<Pixels>> = true;

template <class Layer, class SampleShape, class T, class ExpectedOutput>
struct layer_case {
    using layer = Layer;
    using sample_shape = SampleShape;
    using value_type = T;
    using expected_output = ExpectedOutput;
    using net = metagrad::network<SampleShape, Layer>;
};
