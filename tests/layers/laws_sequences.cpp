// The laws every layer obeys (laws.hpp), applied to the sequence layers: GRU and LSTM (every step
// or the last, stateful or not), per_step and causal_conv1d; and the same laws in static_asserts,
// on a tiny GRU, LSTM and causal convolution of a few time steps.
#include <tuple>

#include "laws_case.hpp"

namespace mg = metagrad;

using layer_cases = std::tuple<
    layer_case<mg::gru<3>, mg::shape<4, 2>, double, mg::shape<4, 3>>,
    layer_case<mg::gru<5, mg::last_step>, mg::shape<3, 4>, float, mg::shape<5>>,
    layer_case<mg::lstm<3>, mg::shape<4, 2>, double, mg::shape<4, 3>>,
    layer_case<mg::lstm<4, mg::last_step>, mg::shape<3, 3>, float, mg::shape<4>>,
    // A stateful layer in a fresh trace starts from zeros: the laws hold for it as they are.
    layer_case<mg::lstm<2, mg::stateful>, mg::shape<3, 2>, double, mg::shape<3, 2>>,
    layer_case<mg::per_step<mg::dense<3>>, mg::shape<4, 2>, double, mg::shape<4, 3>>,
    layer_case<mg::causal_conv1d<3, mg::kernel<3>, mg::dilation<2>>, mg::shape<6, 2>, double, mg::shape<6, 3>>,
    layer_case<mg::causal_conv1d<4, mg::stateful, mg::kernel<2>, mg::without_bias>, mg::shape<5, 3>, float, mg::shape<5, 4>>,
    // A receptive field longer than the sequence: most taps fall before the start.
    layer_case<mg::causal_conv1d<2, mg::dilation<3>, mg::kernel<3>, mg::stateful>, mg::shape<4, 2>, double, mg::shape<4, 2>>,
    layer_case<mg::chain<mg::gru<4>, mg::per_step<mg::dense<2>>, mg::tanh_layer>, mg::shape<5, 3>, double, mg::shape<5, 2>>>;

#include "laws.hpp"

static_assert(compile_time_gradcheck<mg::gru<2>, mg::shape<3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::gru<2, mg::last_step>, mg::shape<3, 2>, mg::shape<2, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::lstm<2>, mg::shape<3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::lstm<2, mg::last_step>, mg::shape<3, 2>, mg::shape<2, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::per_step<mg::dense<2>>, mg::shape<3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::causal_conv1d<2, mg::kernel<3>, mg::dilation<2>>, mg::shape<5, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::causal_conv1d<2, mg::kernel<2>, mg::stateful>, mg::shape<3, 2>, mg::shape<2, 3, 2>>() < 1e-8);
