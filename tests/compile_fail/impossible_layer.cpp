// Misuse: a layer configuration that cannot work (a dense layer with no outputs).
#include "metagrad/constexpr.hpp"

#ifdef METAGRAD_COMPILE_FAIL
using network = metagrad::sequential<metagrad::dense<4, 0>, metagrad::relu>;
#else
using network = metagrad::sequential<metagrad::dense<4, 2>, metagrad::relu>;
#endif

int main() {
    network::parameters<double> p;
    return network::forward(p, metagrad::vector<double, 4>{1, 2, 3, 4})[0] > 0;
}
