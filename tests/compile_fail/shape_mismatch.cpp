// A dense<2, 1> after layers that give shape<3>: the output of layer 1 must match layer 2's input.
#include "metagrad/metagrad.hpp"

#ifdef METAGRAD_COMPILE_FAIL
using network = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu, metagrad::dense<2, 1>>;
#else
using network = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu, metagrad::dense<3, 1>>;
#endif

int main() {
    network::parameters<double> p;
    const metagrad::vector<double, 4> x{1, 2, 3, 4};
    return network::forward(p, x)[0] > 0;
}
