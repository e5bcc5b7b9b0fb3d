// The homework network (shared/seeds/homework3-backprop.md) against values derived by hand, and
// against an independent implementation of backpropagation written with plain arrays and loops.
#include <array>

#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

using homework = mg::sequential<mg::dense<4, 3>, mg::relu, mg::dense<3, 2>, mg::relu, mg::dense<2, 1>>;

namespace {
constexpr homework::parameters<double> example_parameters() {
    homework::parameters<double> p;
    p.layer<0>().weight = mg::matrix<double, 3, 4>{{{0.2, -0.1, 0.4, 0.3}, {-0.5, 0.3, 0.1, -0.2}, {0.1, 0.2, -0.3, 0.4}}};
    p.layer<2>().weight = mg::matrix<double, 2, 3>{{{0.6, -0.4, 0.5}, {-0.7, 0.2, 0.3}}};
    p.layer<4>().weight = mg::matrix<double, 1, 2>{{{0.8, -0.6}}};
    return p;
}
constexpr mg::vector<double, 4> x{1.0, -2.0, 0.5, 3.0};
constexpr mg::vector<double, 1> y{0.5};

// Backpropagation by hand for this architecture (no biases used: they are zero here, but their
// gradients are dl/dz), the way the homework sets it up.
struct by_hand {
    std::array<std::array<double, 4>, 3> dW1{};
    std::array<std::array<double, 3>, 2> dW2{};
    std::array<double, 2> dW3{};
    std::array<double, 3> db1{}, dh1{};
    std::array<double, 2> db2{}, dh2{};
    double db3{}, loss{};
};
by_hand backprop_by_hand(const homework::parameters<double>& p, const mg::vector<double, 4>& in, double target) {
    const auto& W1 = p.layer<0>().weight;
    const auto& W2 = p.layer<2>().weight;
    const auto& W3 = p.layer<4>().weight;
    std::array<double, 3> z1{}, h1{};
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 4; ++j) z1[i] += W1(i, j) * in[j];
        z1[i] += p.layer<0>().bias[i];
        h1[i] = z1[i] > 0 ? z1[i] : 0;
    }
    std::array<double, 2> z2{}, h2{};
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 3; ++j) z2[i] += W2(i, j) * h1[j];
        z2[i] += p.layer<2>().bias[i];
        h2[i] = z2[i] > 0 ? z2[i] : 0;
    }
    const double h3 = W3(0, 0) * h2[0] + W3(0, 1) * h2[1] + p.layer<4>().bias[0];
    by_hand g;
    const double delta = h3 - target;
    g.loss = 0.5 * delta * delta;
    g.db3 = delta;
    for (int i = 0; i < 2; ++i) {
        g.dW3[i] = delta * h2[i];
        g.dh2[i] = delta * W3(0, i);
        g.db2[i] = g.dh2[i] * (z2[i] > 0 ? 1 : 0);  // dl/dz2_i
        for (int j = 0; j < 3; ++j) g.dW2[i][j] = g.db2[i] * h1[j];
    }
    for (int j = 0; j < 3; ++j) {
        for (int i = 0; i < 2; ++i) g.dh1[j] += g.db2[i] * W2(i, j);
        g.db1[j] = g.dh1[j] * (z1[j] > 0 ? 1 : 0);
        for (int k = 0; k < 4; ++k) g.dW1[j][k] = g.db1[j] * in[k];
    }
    return g;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(homework_network)

// Values worked out on paper: z1 = [1.5, -1.65, 0.75], h1 = [1.5, 0, 0.75], z2 = [1.275, -0.825],
// h2 = [1.275, 0], h3 = 1.02, delta = 0.52.
BOOST_AUTO_TEST_CASE(runtime_values_derived_by_hand) {
    const auto p = example_parameters();
    const auto trace = homework::forward_trace(p, x);
    const auto g = homework::backward(p, trace, mg::squared_error::gradient(trace.output(), y));
    const auto close = boost::test_tools::tolerance(1e-12);
    BOOST_TEST(trace.output()[0] == 1.02, close);
    BOOST_TEST(g.parameters.layer<4>().weight(0, 0) == 0.663, close);  // delta h2_1
    BOOST_TEST(g.parameters.layer<4>().weight(0, 1) == 0.0);           // h2_2 = 0
    BOOST_TEST(g.activations.get<4>()[0] == 0.416, close);            // W3_11 delta
    BOOST_TEST(g.activations.get<4>()[1] == -0.312, close);
    BOOST_TEST(g.parameters.layer<2>().weight(0, 0) == 0.624, close);  // 0.416 * 1.5
    BOOST_TEST(g.parameters.layer<2>().weight(0, 2) == 0.312, close);
    BOOST_TEST(g.parameters.layer<2>().weight(1, 0) == 0.0);           // relu'(z2_2) = 0
    BOOST_TEST(g.activations.get<2>()[0] == 0.2496, close);           // 0.416 * 0.6
    BOOST_TEST(g.activations.get<2>()[1] == -0.1664, close);
    BOOST_TEST(g.activations.get<2>()[2] == 0.208, close);
    BOOST_TEST(g.parameters.layer<0>().weight(0, 3) == 0.7488, close);  // 0.2496 * 3
    BOOST_TEST(g.parameters.layer<0>().weight(1, 3) == 0.0);            // relu'(z1_2) = 0
    BOOST_TEST(g.parameters.layer<0>().weight(2, 1) == -0.416, close);  // 0.208 * -2
}

BOOST_AUTO_TEST_CASE(runtime_against_independent_backprop) {
    for (int trial = 0; trial < 20; ++trial) {
        const auto p = test_support::random_parameters<homework, double>();
        const auto in = test_support::random_tensor<double, mg::shape<4>>();
        const double target = test_support::random_value<double>();
        const auto hand = backprop_by_hand(p, in, target);
        const auto lib = mg::value_and_gradient(p, in, mg::vector<double, 1>{target}, mg::squared_error{});
        const auto close = boost::test_tools::tolerance(1e-13);
        BOOST_TEST(lib.loss == hand.loss, close);
        for (int i = 0; i < 3; ++i) {
            BOOST_TEST(lib.gradient.layer<0>().bias[i] == hand.db1[i], close);
            for (int j = 0; j < 4; ++j) BOOST_TEST(lib.gradient.layer<0>().weight(i, j) == hand.dW1[i][j], close);
        }
        for (int i = 0; i < 2; ++i) {
            BOOST_TEST(lib.gradient.layer<2>().bias[i] == hand.db2[i], close);
            for (int j = 0; j < 3; ++j) BOOST_TEST(lib.gradient.layer<2>().weight(i, j) == hand.dW2[i][j], close);
            BOOST_TEST(lib.gradient.layer<4>().weight(0, i) == hand.dW3[i], close);
        }
        BOOST_TEST(lib.gradient.layer<4>().bias[0] == hand.db3, close);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// The bar of the issue: the homework network's gradcheck holds at compile time.
static_assert(mg::gradcheck(example_parameters(), x, y, mg::squared_error{}) < 1e-6);
