// A dropout layer that would drop every element: the probability must be below 1.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

#ifdef METAGRAD_COMPILE_FAIL
using network = mg::sequential<mg::input<4>, mg::dense<8>, mg::dropout<std::ratio<1, 1>>, mg::dense<1>>;
#else
using network = mg::sequential<mg::input<4>, mg::dense<8>, mg::dropout<std::ratio<99, 100>>, mg::dense<1>>;
#endif

int main() { return network::valid ? 0 : 1; }
