// A sequential whose first layer does not say what it takes.
#include "metagrad/metagrad.hpp"

#ifdef METAGRAD_COMPILE_FAIL
using network = metagrad::sequential<metagrad::relu, metagrad::dense<3>>;
#else
using network = metagrad::sequential<metagrad::input<4>, metagrad::relu, metagrad::dense<3>>;
#endif

int main() {
    network::parameters<double> p;
    const metagrad::vector<double, 4> x{1, 2, 3, 4};
    return network::forward(p, x)[0] > 0;
}
