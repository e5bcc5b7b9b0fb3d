// A convolution without a kernel, and its twin with one: options are checked where the layer is named.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

#ifdef METAGRAD_COMPILE_FAIL
using network = mg::sequential<mg::input<8, 8, 2>, mg::conv2d<4, mg::stride<2>>, mg::relu>;
#else
using network = mg::sequential<mg::input<8, 8, 2>, mg::conv2d<4, mg::kernel<3>, mg::stride<2>>, mg::relu>;
#endif

int main() { return network::valid ? 0 : 1; }
