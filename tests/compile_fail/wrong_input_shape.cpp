// A 5-vector fed to a network that takes 4-vectors.
#include "metagrad/metagrad.hpp"

using network = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu>;

int main() {
    network::parameters<double> p;
#ifdef METAGRAD_COMPILE_FAIL
    const metagrad::vector<double, 5> x{1, 2, 3, 4, 5};
#else
    const metagrad::vector<double, 4> x{1, 2, 3, 4};
#endif
    const auto y = network::forward(p, x);
    return y == y ? 0 : 1;
}
