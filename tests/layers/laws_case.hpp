// A layer's test case for the laws (laws.hpp): the layer, a sample shape, the element type and
// the output shape it must give.
#pragma once

#include <tuple>

#include "metagrad/metagrad.hpp"

template <class Layer, class SampleShape, class T, class ExpectedOutput>
struct layer_case {
    using layer = Layer;
    using sample_shape = SampleShape;
    using value_type = T;
    using expected_output = ExpectedOutput;
    using net = metagrad::network<SampleShape, Layer>;
};
