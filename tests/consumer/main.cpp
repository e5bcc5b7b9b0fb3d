// A consumer's program: one network, one training step; exits 0 when the loss went down.
#include <metagrad/metagrad.hpp>

int main() {
    using net = metagrad::sequential<metagrad::dense<2, 4>, metagrad::relu, metagrad::dense<1>>;
    net::parameters<float> p;
    p.layer<0>().weight = metagrad::matrix<float, 4, 2>::filled(0.5f);
    p.layer<2>().weight = metagrad::matrix<float, 1, 4>::filled(0.5f);
    const metagrad::vector<float, 2> x{1, 2};
    const metagrad::vector<float, 1> y{0};
    metagrad::sgd<float> optimizer{0.01f};
    const float before = metagrad::train_step(p, x, y, metagrad::squared_error{}, optimizer);
    const float after = metagrad::train_step(p, x, y, metagrad::squared_error{}, optimizer);
    return after < before ? 0 : 1;
}
