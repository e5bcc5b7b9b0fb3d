// dense<4> takes vectors, but the input layer gives 2x3 samples.
#include "metagrad/metagrad.hpp"

#ifdef METAGRAD_COMPILE_FAIL
using network = metagrad::sequential<metagrad::input<2, 3>, metagrad::dense<4>>;
#else
using network = metagrad::sequential<metagrad::input<6>, metagrad::dense<4>>;
#endif

int main() {
    network::parameters<double> p;
    const metagrad::tensor<double, network::input_shape> x{};
    return network::forward(p, x)[0] > 0;
}
