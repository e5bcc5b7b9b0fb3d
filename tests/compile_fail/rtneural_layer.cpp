// RTNeural's JSON files hold dense, recurrent, causal convolution and activation layers: loading
// one into a network with a centred convolution is refused at compile time, naming the layer.
#include <nlohmann/json.hpp>

#include "metagrad/io/rtneural_json.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

#ifdef METAGRAD_COMPILE_FAIL
using network = mg::sequential<mg::input<16, 1>, mg::conv1d<4, mg::kernel<3>, mg::padding<1>>, mg::per_step<mg::dense<1>>>;
#else
using network = mg::sequential<mg::input<16, 1>, mg::causal_conv1d<4, mg::kernel<3>>, mg::per_step<mg::dense<1>>>;
#endif

int main(int argc, char** argv) {
    network::parameters<float> p;
    if (argc > 1) mg::load_rtneural_json(argv[1], p);
    return 0;
}
