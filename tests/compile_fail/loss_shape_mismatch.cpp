// A target of shape<2> for a network whose output has shape<1>.
#include "metagrad/metagrad.hpp"

using network = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu, metagrad::dense<1>>;

int main() {
    network::parameters<double> p;
    const metagrad::vector<double, 4> x{1, 2, 3, 4};
#ifdef METAGRAD_COMPILE_FAIL
    const metagrad::vector<double, 2> y{1, 0};
#else
    const metagrad::vector<double, 1> y{1};
#endif
    metagrad::sgd<double> optimizer{0.1};
    return metagrad::train_step(p, x, y, metagrad::squared_error{}, optimizer) > 0;
}
