// A residual block whose body changes the shape while the projection (the identity) keeps it:
// body(x) + x cannot be added. The block is named with the shape it was given.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

#ifdef METAGRAD_COMPILE_FAIL
using block = mg::residual<mg::chain<mg::dense<8>, mg::relu, mg::dense<4>>>;
#else
using block = mg::residual<mg::chain<mg::dense<8>, mg::relu, mg::dense<4>>, mg::dense<4>>;  // a projection to 4
#endif

using network = mg::sequential<mg::input<6>, block, mg::dense<2>>;

int main() { return network::valid ? 0 : 1; }
