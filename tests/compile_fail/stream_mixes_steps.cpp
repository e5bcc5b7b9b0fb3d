// A stream runs one time step at a time: a centred convolution over time reads later steps, so a
// network with one cannot stream (a causal convolution can).
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

#ifdef METAGRAD_COMPILE_FAIL
using network = mg::sequential<mg::input<16, 1>, mg::conv1d<4, mg::kernel<3>, mg::padding<1>>, mg::per_step<mg::dense<1>>>;
#else
using network = mg::sequential<mg::input<16, 1>, mg::causal_conv1d<4, mg::kernel<3>>, mg::per_step<mg::dense<1>>>;
#endif

int main() {
    const network::parameters<float> p;
    mg::stream<network, float> s(p);
    return s.step(mg::stream<network, float>::input_type{0.5f})[0] > 0;
}
