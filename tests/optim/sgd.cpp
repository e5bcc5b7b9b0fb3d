// Tests of include/metagrad/optim/sgd.hpp: updates against hand-computed values.
#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using net = mg::sequential<mg::dense<2, 1>>;

constexpr net::parameters<double> stepped() {
    net::parameters<double> p, g;
    p.layer<0>().weight = mg::matrix<double, 1, 2>{{{1.0, 2.0}}};
    p.layer<0>().bias = mg::vector<double, 1>{0.5};
    g.layer<0>().weight = mg::matrix<double, 1, 2>{{{0.5, -1.0}}};
    g.layer<0>().bias = mg::vector<double, 1>{2.0};
    mg::sgd<double>{0.1}.step(p, g);
    return p;
}
// w - 0.1 g: [1 - 0.05, 2 + 0.1], b: 0.5 - 0.2
static_assert(stepped().layer<0>().weight == mg::matrix<double, 1, 2>{{{0.95, 2.1}}});
static_assert(stepped().layer<0>().bias[0] == 0.5 - 0.2);

BOOST_AUTO_TEST_SUITE(sgd)

BOOST_AUTO_TEST_CASE(runtime_step_matches_hand_computation) {
    net::parameters<float> p, g;
    p.layer<0>().weight = mg::matrix<float, 1, 2>{{{1.0f, -1.0f}}};
    g.layer<0>().weight = mg::matrix<float, 1, 2>{{{4.0f, 2.0f}}};
    g.layer<0>().bias = mg::vector<float, 1>{-8.0f};
    const mg::sgd optimizer{0.25f};
    optimizer.step(p, g);
    BOOST_TEST(p.layer<0>().weight(0, 0) == 0.0f);
    BOOST_TEST(p.layer<0>().weight(0, 1) == -1.5f);
    BOOST_TEST(p.layer<0>().bias[0] == 2.0f);
}

BOOST_AUTO_TEST_SUITE_END()
