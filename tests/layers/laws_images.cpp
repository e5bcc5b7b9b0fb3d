// The laws every layer obeys (laws.hpp), applied to convolution, a residual block of convolutions, pooling, flatten, random_flip, random_shift,
// the smooth activations and log_softmax; and the same laws in static_asserts.
#include <ratio>
#include <tuple>

#include "laws_case.hpp"

namespace mg = metagrad;

using layer_cases = std::tuple<
    // Convolutions: padding, strides and dilations that differ by axis, groups, a pointwise
    // kernel (no patches copied), depthwise without bias, one dimension.
    layer_case<mg::conv2d<2, mg::kernel<3>, mg::padding<1>>, mg::shape<4, 4, 3>, double, mg::shape<4, 4, 2>>,
    layer_case<mg::conv2d<3, mg::kernel<2, 3>, mg::stride<2, 1>, mg::dilation<1, 2>>, mg::shape<4, 6, 2>, float, mg::shape<2, 2, 3>>,
    layer_case<mg::conv2d<4, mg::kernel<3>, mg::groups<2>, mg::padding<1>, mg::stride<2>>, mg::shape<5, 5, 2>, double, mg::shape<3, 3, 4>>,
    layer_case<mg::conv2d<3, mg::kernel<1>>, mg::shape<2, 3, 4>, float, mg::shape<2, 3, 3>>,
    layer_case<mg::conv2d<3, mg::kernel<3>, mg::groups<3>, mg::without_bias>, mg::shape<3, 3, 3>, double, mg::shape<1, 1, 3>>,
    layer_case<mg::conv1d<3, mg::kernel<3>, mg::padding<2>, mg::dilation<2>>, mg::shape<5, 2>, double, mg::shape<5, 3>>,
    // A residual block of convolutions with a strided 1x1 projection (ResNet's downsampling block).
    layer_case<mg::residual<mg::chain<mg::conv2d<3, mg::kernel<3>, mg::padding<1>, mg::stride<2>, mg::without_bias>, mg::batch_norm<>,
                                      mg::relu, mg::conv2d<3, mg::kernel<3>, mg::padding<1>>>,
                            mg::conv2d<3, mg::kernel<1>, mg::stride<2>>>,
               mg::shape<4, 4, 2>, double, mg::shape<2, 2, 3>>,
    // Pooling (windows that cover every input, so that NaN anywhere reaches an output), flatten.
    // Max pooling in double: a float finite difference crosses from one maximum to another.
    layer_case<mg::max_pool2d<mg::kernel<2>>, mg::shape<4, 4, 2>, double, mg::shape<2, 2, 2>>,
    layer_case<mg::max_pool2d<mg::kernel<3>, mg::stride<2>, mg::padding<1>>, mg::shape<5, 5, 1>, double, mg::shape<3, 3, 1>>,
    layer_case<mg::avg_pool2d<mg::kernel<2>, mg::stride<1>>, mg::shape<3, 3, 2>, double, mg::shape<2, 2, 2>>,
    layer_case<mg::max_pool1d<mg::kernel<2>>, mg::shape<6, 3>, double, mg::shape<3, 3>>,
    layer_case<mg::avg_pool1d<mg::kernel<3>, mg::padding<1>, mg::stride<2>>, mg::shape<5, 2>, double, mg::shape<3, 2>>,
    layer_case<mg::global_avg_pool, mg::shape<3, 3, 2>, double, mg::shape<2>>,
    layer_case<mg::flatten, mg::shape<2, 3, 2>, float, mg::shape<12>>,
    layer_case<mg::random_flip, mg::shape<3, 4, 2>, double, mg::shape<3, 4, 2>>,
    layer_case<mg::random_shift<1>, mg::shape<3, 4, 2>, double, mg::shape<3, 4, 2>>,
    // The smooth activations and log_softmax.
    layer_case<mg::silu, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::elu<>, mg::shape<2, 3>, float, mg::shape<2, 3>>,
    layer_case<mg::elu<std::ratio<1, 2>>, mg::shape<5>, double, mg::shape<5>>,
    layer_case<mg::softplus, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::gelu, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::gelu, mg::shape<2, 3>, float, mg::shape<2, 3>>,
    layer_case<mg::gelu_tanh, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::log_softmax, mg::shape<5>, double, mg::shape<5>>,
    layer_case<mg::log_softmax, mg::shape<2, 4>, float, mg::shape<2, 4>>>;

#include "laws.hpp"

static_assert(compile_time_gradcheck<mg::conv2d<2, mg::kernel<2>, mg::padding<1>, mg::stride<2>>, mg::shape<3, 3, 2>, mg::shape<2, 3, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::conv2d<2, mg::kernel<2>, mg::groups<2>, mg::without_bias>, mg::shape<3, 2, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::conv1d<2, mg::kernel<3>, mg::dilation<2>>, mg::shape<5, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::residual<mg::chain<mg::conv2d<2, mg::kernel<3>, mg::padding<1>>, mg::relu>>, mg::shape<2, 2, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::max_pool2d<mg::kernel<2>>, mg::shape<2, 4, 2>, mg::shape<2, 2, 4, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::avg_pool2d<mg::kernel<3>, mg::padding<1>, mg::stride<2>>, mg::shape<3, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::global_avg_pool, mg::shape<2, 2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::flatten, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::random_flip, mg::shape<2, 3, 2>, mg::shape<4, 2, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::random_shift<1>, mg::shape<3, 3, 2>, mg::shape<4, 3, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::silu, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::elu<>, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::softplus, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::gelu, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::gelu_tanh, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::log_softmax, mg::shape<4>, mg::shape<2, 4>>() < 1e-8);

