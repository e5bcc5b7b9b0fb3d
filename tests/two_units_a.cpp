// Two translation units that include all of metagrad link into one program (no ODR violations
// from header-only definitions). This one calls into the other.
#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

double homework_output_from_unit_b();

double homework_output_here() {
    using net = metagrad::sequential<metagrad::dense<4, 3>, metagrad::relu, metagrad::dense<3, 2>, metagrad::relu,
                                     metagrad::dense<2, 1>>;
    net::parameters<double> p;
    p.layer<4>().bias[0] = 0.25;
    return net::forward(p, metagrad::vector<double, 4>{1, 2, 3, 4})[0] + metagrad::math::exp(0.0);
}

BOOST_AUTO_TEST_CASE(runtime_two_units_link_and_agree) {
    BOOST_TEST(homework_output_here() == 1.25);
    BOOST_TEST(homework_output_from_unit_b() == 1.25);
}
