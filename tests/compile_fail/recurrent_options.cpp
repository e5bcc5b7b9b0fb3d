// A recurrent layer's options are `last_step` and `stateful`: anything else (here a dilation,
// which belongs to causal_conv1d) is refused where the layer is written, once.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

#ifdef METAGRAD_COMPILE_FAIL
using network = mg::sequential<mg::input<16, 1>, mg::gru<8, mg::dilation<2>>, mg::per_step<mg::dense<1>>>;
#else
using network = mg::sequential<mg::input<16, 1>, mg::gru<8, mg::stateful>, mg::per_step<mg::dense<1>>>;
#endif

int main() {
    const network::parameters<float> p;
    return network::forward(p, mg::tensor<float, mg::shape<16, 1>>{})[0] > 0;
}
