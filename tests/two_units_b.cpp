// The second translation unit of the two-unit link test.
#include "metagrad/metagrad.hpp"

double homework_output_from_unit_b() {
    using net = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu, metagrad::dense<3, 2>, metagrad::relu,
                                     metagrad::dense<2, 1>>;
    net::parameters<double> p;
    p.layer<4>().bias[0] = 0.25;
    return net::forward(p, metagrad::vector<double, 4>{1, 2, 3, 4})[0] + metagrad::math::exp(0.0);
}
