// A type that is not a loss passed as the loss of a training step.
#include "metagrad/metagrad.hpp"

using network = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu, metagrad::dense<1>>;

int main() {
    network::parameters<double> p;
    const metagrad::vector<double, 4> x{1, 2, 3, 4};
    const metagrad::vector<double, 1> y{1};
    metagrad::sgd<double> optimizer{0.1};
#ifdef METAGRAD_COMPILE_FAIL
    return metagrad::train_step(p, x, y, metagrad::relu{}, optimizer) > 0;
#else
    return metagrad::train_step(p, x, y, metagrad::mse{}, optimizer) > 0;
#endif
}
