// The laws every layer obeys, stated once and applied to every layer type (include/metagrad/layers/):
// generated gradients equal finite differences (parameters and input, float and double, several
// shapes); the backward pass is the transpose of the forward linearization (dot-product test);
// a batch is its samples side by side; output shapes follow the layer's shape algebra; and all of
// it is constant-evaluable.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

template <class Layer, class SampleShape, class T, class ExpectedOutput>
struct layer_case {
    using layer = Layer;
    using sample_shape = SampleShape;
    using value_type = T;
    using expected_output = ExpectedOutput;
    using net = mg::network<SampleShape, Layer>;
};

// Adding a layer to this list is its test plan.
using layer_cases = boost::mpl::list<
    layer_case<mg::dense<4, 3>, mg::shape<4>, double, mg::shape<3>>,
    layer_case<mg::dense<4, 3>, mg::shape<4>, float, mg::shape<3>>,
    layer_case<mg::dense<7>, mg::shape<5>, double, mg::shape<7>>,
    layer_case<mg::dense<1>, mg::shape<9>, float, mg::shape<1>>,
    layer_case<mg::identity, mg::shape<2, 3>, double, mg::shape<2, 3>>,
    layer_case<mg::input<6>, mg::shape<6>, float, mg::shape<6>>,
    layer_case<mg::relu, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::relu, mg::shape<3, 4>, float, mg::shape<3, 4>>,
    layer_case<mg::leaky_relu<>, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::leaky_relu<std::ratio<1, 5>>, mg::shape<5>, float, mg::shape<5>>,
    layer_case<mg::sigmoid, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::sigmoid, mg::shape<4>, float, mg::shape<4>>,
    layer_case<mg::tanh_layer, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::tanh_layer, mg::shape<2, 5>, float, mg::shape<2, 5>>,
    layer_case<mg::softmax, mg::shape<5>, double, mg::shape<5>>,
    layer_case<mg::softmax, mg::shape<3>, float, mg::shape<3>>>;

constexpr std::size_t batch = 3;

BOOST_AUTO_TEST_SUITE(layer_laws)

BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_shape_traits, C, layer_cases) {
    static_assert(mg::layer<typename C::layer>);
    static_assert(std::is_same_v<typename C::net::output_shape, typename C::expected_output>);
    static_assert(std::is_same_v<typename C::layer::template output_shape<mg::batch_of<batch, typename C::sample_shape>>,
                                 mg::batch_of<batch, typename C::expected_output>>);
    BOOST_TEST(C::net::valid);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_gradients_match_finite_differences, C, layer_cases) {
    using T = typename C::value_type;
    using net = typename C::net;
    for (int trial = 0; trial < 5; ++trial) {
        const auto p = random_parameters<net, T>();
        // Inputs away from 0 so that no finite difference straddles a ReLU kink.
        const auto x = random_tensor<T, typename C::sample_shape>(T(0.05));
        const auto w = random_tensor<T, typename net::output_shape>();
        BOOST_TEST(mg::gradcheck(p, x, w, probe_loss{}) < tolerance<T>);
        const auto xb = random_tensor<T, mg::batch_of<batch, typename C::sample_shape>>(T(0.05));
        const auto wb = random_tensor<T, mg::batch_of<batch, typename net::output_shape>>();
        BOOST_TEST(mg::gradcheck(p, xb, wb, probe_loss{}) < tolerance<T>);
    }
}

// <J v, w> = <v, J^T w>: J v by a central difference along a random direction v, J^T w by the
// backward pass. Computed in double (the float cases' shapes and layers, run in double) so that
// the finite difference is precise.
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_dot_product_test, C, layer_cases) {
    using net = typename C::net;
    using S = typename C::sample_shape;
    const auto p = random_parameters<net, double>();
    const auto x = random_tensor<double, S>(0.05);
    const auto v = random_tensor<double, S>();
    const auto w = random_tensor<double, typename net::output_shape>();
    const double h = 1e-6;
    const mg::tensor<double, S> x_up = x + h * v, x_down = x - h * v;
    const double jv_w = mg::dot((net::forward(p, x_up) - net::forward(p, x_down)) / (2 * h), w);
    const auto g = net::backward(p, net::forward_trace(p, x), w);
    const double v_jtw = mg::dot(v, g.activations.input());
    BOOST_TEST(jv_w == v_jtw, boost::test_tools::tolerance(1e-8));
}

// A batch is its samples side by side: outputs row by row, input gradients row by row, and the
// parameter gradients summed over rows.
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_batch_is_samples_side_by_side, C, layer_cases) {
    using T = double;
    using net = typename C::net;
    using S = typename C::sample_shape;
    using O = typename net::output_shape;
    const auto p = random_parameters<net, T>();
    const auto xb = random_tensor<T, mg::batch_of<batch, S>>(0.05);
    const auto wb = random_tensor<T, mg::batch_of<batch, O>>();
    const auto gb = net::backward(p, net::forward_trace(p, xb), wb);
    const auto yb = net::forward(p, xb);
    typename net::template parameters<T> summed;
    for (std::size_t r = 0; r < batch; ++r) {
        mg::tensor<T, S> x;
        mg::tensor<T, O> w;
        for (std::size_t i = 0; i < S::size; ++i) x[i] = xb[r * S::size + i];
        for (std::size_t i = 0; i < O::size; ++i) w[i] = wb[r * O::size + i];
        const auto y = net::forward(p, x);
        const auto g = net::backward(p, net::forward_trace(p, x), w);
        for (std::size_t i = 0; i < O::size; ++i) BOOST_TEST(y[i] == yb[r * O::size + i], boost::test_tools::tolerance(1e-14));
        for (std::size_t i = 0; i < S::size; ++i)
            BOOST_TEST(g.activations.input()[i] == gb.activations.input()[r * S::size + i], boost::test_tools::tolerance(1e-14));
        mg::for_each_tensor([](auto& total, const auto& part) { total = total + part; }, summed, g.parameters);
    }
    BOOST_TEST(mg::max_scaled_error(summed, gb.parameters) < 1e-13);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Constant evaluation: the same laws as static_asserts, on fixed small inputs ----------------
namespace {
template <class Layer, class S, class X = S>  // X: S, or a batch of S
constexpr double compile_time_gradcheck() {
    using net = mg::network<S, Layer>;
    typename net::template parameters<double> p;
    double seed = 0.3;
    const auto next = [&seed] {
        seed = seed * 1.7 + 0.31;
        seed -= static_cast<int>(seed);
        return seed - 0.5;  // in [-0.5, 0.5)
    };
    mg::for_each_tensor([&](auto& w) { for (auto& v : w) v = next(); }, p);
    mg::tensor<double, X> x;
    for (auto& v : x) v = next() + (next() > 0 ? 0.1 : -0.1);
    mg::tensor<double, typename Layer::template output_shape<X>> w;
    for (auto& v : w) v = next();
    return mg::gradcheck(p, x, w, probe_loss{});
}
}  // namespace

static_assert(compile_time_gradcheck<mg::dense<3, 2>, mg::shape<3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::dense<2>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);  // a batch of 2
static_assert(compile_time_gradcheck<mg::relu, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::leaky_relu<>, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::sigmoid, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::tanh_layer, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::softmax, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::identity, mg::shape<4>>() < 1e-8);
