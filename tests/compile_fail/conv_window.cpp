// A 5x5 kernel without padding on 4x4 images: the window does not fit, and the error names the
// convolution, its position and the shape it was given.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

#ifdef METAGRAD_COMPILE_FAIL
using network = mg::sequential<mg::input<4, 4, 3>, mg::conv2d<8, mg::kernel<5>>, mg::relu, mg::flatten, mg::dense<2>>;
#else
using network = mg::sequential<mg::input<4, 4, 3>, mg::conv2d<8, mg::kernel<5>, mg::padding<1>>, mg::relu, mg::flatten, mg::dense<2>>;
#endif

int main() { return network::valid ? 0 : 1; }
