// `int` in a layer list.
#include "metagrad/metagrad.hpp"

#ifdef METAGRAD_COMPILE_FAIL
using network = metagrad::sequential<metagrad::dense<4, 3>, int, metagrad::dense<1>>;
#else
using network = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu, metagrad::dense<1>>;
#endif

int main() {
    network::parameters<double> p;
    const metagrad::vector<double, 4> x{1, 2, 3, 4};
    return network::forward(p, x)[0] > 0;
}
