// Tests of include/metagrad/core/network.hpp: shape inference, composition of 1, 2 and 8 layers,
// generated gradients, batches, slices, parameter bookkeeping and the non-failing predicates.
#include <string>

#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

using homework = mg::sequential<mg::dense<4, 3>, mg::relu, mg::dense<3, 2>, mg::relu, mg::dense<2, 1>>;
static_assert(std::is_same_v<homework::input_shape, mg::shape<4>>);
static_assert(std::is_same_v<homework::shape_at<1>, mg::shape<3>>);
static_assert(std::is_same_v<homework::shape_at<3>, mg::shape<2>>);
static_assert(std::is_same_v<homework::output_shape, mg::shape<1>>);
static_assert(homework::depth == 5 && homework::parameter_count == 26 && homework::valid);
static_assert(homework::parameters<double>::count == 26);
static_assert(std::is_same_v<std::remove_cvref_t<decltype(std::declval<homework::parameters<float>&>().layer<2>())>,
                             mg::dense_parameters<float, 3, 2>>);
static_assert(std::is_same_v<std::remove_cvref_t<decltype(std::declval<homework::parameters<float>&>().layer<1>())>,
                             mg::no_parameters>);
// Activations of a batch carry the batch extent.
using batch_activations = homework::activations_for<float, mg::shape<16, 4>>;
static_assert(std::is_same_v<std::remove_cvref_t<decltype(std::declval<batch_activations&>().get<2>())>,
                             mg::matrix<float, 16, 3>>);
// Sizes written once: dense<Out> takes its input from the layer before.
using inferred = mg::sequential<mg::input<5>, mg::dense<8>, mg::tanh_layer, mg::dense<2>, mg::softmax>;
static_assert(std::is_same_v<inferred::output_shape, mg::shape<2>>);
static_assert(inferred::parameter_count == 5 * 8 + 8 + 8 * 2 + 2);
// Slices are networks too.
static_assert(std::is_same_v<homework::slice<2, 4>, mg::network<mg::shape<3>, mg::dense<3, 2>, mg::relu>>);
// Non-failing predicates.
static_assert(mg::layer<mg::relu> && mg::layer<mg::dense<3>> && !mg::layer<int> && !mg::layer<mg::shape<3>>);
static_assert(mg::layers_connect<mg::output_of_layer<0, mg::shape<3>>, mg::input_of_layer<1, mg::shape<3>>>);
static_assert(!mg::layers_connect<mg::output_of_layer<0, mg::shape<3>>, mg::input_of_layer<1, mg::shape<2>>>);
static_assert(mg::sequential_composable<mg::dense<4, 3>, mg::relu, mg::dense<3, 1>>);
static_assert(!mg::sequential_composable<mg::dense<4, 3>, mg::relu, mg::dense<2, 1>>);  // 3 into 2
static_assert(!mg::sequential_composable<mg::dense<4, 3>, int, mg::dense<1>>);           // not a layer
static_assert(!mg::sequential_composable<mg::relu, mg::dense<1>>);                       // no input shape
static_assert(!mg::composable<mg::shape<2, 3>, mg::dense<4>>);                           // dense takes vectors
static_assert(mg::composable<mg::shape<6>, mg::dense<4>, mg::softmax>);

// Networks of 1, 2 and 8 layers.
using one = mg::sequential<mg::dense<3, 2>>;
using two = mg::sequential<mg::dense<3, 4>, mg::sigmoid>;
using eight = mg::sequential<mg::dense<6, 8>, mg::tanh_layer, mg::dense<8>, mg::sigmoid, mg::dense<5>,
                             mg::leaky_relu<>, mg::dense<4>, mg::softmax>;
static_assert(eight::depth == 8 && std::is_same_v<eight::output_shape, mg::shape<4>>);

template <class Net>
constexpr double compile_time_network_check() {
    typename Net::template parameters<double> p;
    double seed = 0.1;
    const auto next = [&seed] {
        seed = seed * 1.9 + 0.23;
        seed -= static_cast<int>(seed);
        return seed - 0.5;
    };
    mg::for_each_tensor([&](auto& w) { for (auto& v : w) v = next(); }, p);
    mg::tensor<double, typename Net::input_shape> x;
    for (auto& v : x) v = next();
    mg::tensor<double, typename Net::output_shape> y;
    for (auto& v : y) v = next();
    return mg::gradcheck(p, x, y, mg::squared_error{});
}
static_assert(compile_time_network_check<one>() < 1e-8);
static_assert(compile_time_network_check<two>() < 1e-8);

BOOST_AUTO_TEST_SUITE(network)

template <class Net, class T, std::size_t Batch>
void check_random_network() {
    for (int trial = 0; trial < 5; ++trial) {
        const auto p = random_parameters<Net, T>();
        const auto x = random_tensor<T, mg::batch_of<Batch, typename Net::input_shape>>();
        const auto y = random_tensor<T, mg::batch_of<Batch, typename Net::output_shape>>();
        BOOST_TEST(mg::gradcheck(p, x, y, mg::mse{}) < tolerance<T>);
    }
}

BOOST_AUTO_TEST_CASE(runtime_gradcheck_one_two_eight_layers) {
    check_random_network<one, double, 1>();
    check_random_network<one, float, 4>();
    check_random_network<two, double, 3>();
    check_random_network<two, float, 1>();
    check_random_network<eight, double, 2>();
    check_random_network<eight, float, 5>();
}

BOOST_AUTO_TEST_CASE(runtime_batch_gradient_is_mean_of_sample_gradients) {
    const auto p = random_parameters<eight, double>();
    const auto xb = random_tensor<double, mg::shape<4, 6>>();
    const auto yb = random_tensor<double, mg::shape<4, 4>>();
    const auto batch = mg::value_and_gradient(p, xb, yb, mg::squared_error{});
    eight::parameters<double> mean;
    double mean_loss = 0;
    for (std::size_t r = 0; r < 4; ++r) {
        mg::vector<double, 6> x;
        mg::vector<double, 4> y;
        for (std::size_t i = 0; i < 6; ++i) x[i] = xb(r, i);
        for (std::size_t i = 0; i < 4; ++i) y[i] = yb(r, i);
        const auto sample = mg::value_and_gradient(p, x, y, mg::squared_error{});
        mean_loss += sample.loss / 4;
        mg::for_each_tensor([](auto& m, const auto& g) { m = m + g / 4.0; }, mean, sample.gradient);
    }
    BOOST_TEST(batch.loss == mean_loss, boost::test_tools::tolerance(1e-13));
    BOOST_TEST(mg::max_scaled_error(batch.gradient, mean) < 1e-13);
}

BOOST_AUTO_TEST_CASE(runtime_slices_reproduce_the_middle_of_a_forward_pass) {
    const auto p = random_parameters<homework, double>();
    const auto x = random_tensor<double, mg::shape<4>>();
    const auto trace = homework::forward_trace(p, x);
    const auto middle = homework::slice<2, 4>::forward(homework::slice_parameters<2, 4>(p), trace.get<2>());
    BOOST_TEST((middle == trace.get<4>()));
    const auto tail = homework::slice<1, 5>::forward(homework::slice_parameters<1, 5>(p), trace.get<1>());
    BOOST_TEST((tail == trace.output()));
}

// A dense layer followed by a ReLU writes both outputs from its kernel (the activation in the
// product's epilogue); an activation whose value is not written for vectors (tanh) runs on its
// own. The fused trace holds exactly what the layers give one at a time.
static_assert(mg::detail::applies_next_activation<mg::dense<50>, mg::relu>);
static_assert(!mg::detail::applies_next_activation<mg::dense<50>, mg::tanh_layer>);
static_assert(!mg::detail::applies_next_activation<mg::relu, mg::relu>);

// ReLUs after and before dense layers, and a tanh that fuses with neither.
using fused_net = mg::sequential<mg::input<37>, mg::dense<50>, mg::relu, mg::dense<70>, mg::tanh_layer, mg::dense<3>, mg::relu>;

template <class T, class X>
void check_fused_trace() {
    using net = fused_net;
    const auto p = random_parameters<net, T>();
    const auto x = random_tensor<T, X>();
    const auto trace = net::forward_trace(p, x);
    const auto z1 = mg::dense<50>::forward(p.template layer<1>(), trace.template get<1>());
    const auto z3 = mg::dense<3>::forward(p.template layer<5>(), trace.template get<5>());
    BOOST_TEST((trace.template get<2>() == z1));
    BOOST_TEST((trace.template get<3>() == mg::relu::forward(mg::no_parameters{}, z1)));
    BOOST_TEST((trace.template get<6>() == z3));
    BOOST_TEST((trace.template get<7>() == mg::relu::forward(mg::no_parameters{}, z3)));
}

BOOST_AUTO_TEST_CASE(runtime_dense_layers_apply_the_relu_after_them_as_they_store) {
    check_fused_trace<float, mg::shape<37>>();
    check_fused_trace<float, mg::shape<9, 37>>();
    check_fused_trace<double, mg::shape<4, 37>>();
}

// Backward, a dense layer after a ReLU takes the gradient through it in its input-gradient
// kernel; after tanh (whose derivative is not written for vectors) the activation runs on its
// own. Every activation gradient is what the layers give one at a time, bit for bit.
static_assert(mg::detail::passes_back_through<mg::dense<50>, mg::relu>);
static_assert(!mg::detail::passes_back_through<mg::dense<50>, mg::tanh_layer>);
static_assert(!mg::detail::passes_back_through<mg::relu, mg::relu>);
// Classes derived from either, which may override a pass, keep their own passes.
struct derived_dense : mg::dense<50> {};
struct derived_relu : mg::relu {};
static_assert(!mg::detail::passes_back_through<derived_dense, mg::relu>);
static_assert(!mg::detail::passes_back_through<mg::dense<50>, derived_relu>);

template <class T, class X>
void check_fused_backward() {
    using net = fused_net;
    const auto p = random_parameters<net, T>();
    const auto x = random_tensor<T, X>();
    const auto trace = net::forward_trace(p, x);
    const auto dl_dout = random_tensor<T, typename std::remove_cvref_t<decltype(trace.output())>::shape_type>();
    const auto g = net::backward(p, trace, dl_dout);
    // Layer by layer, from the output: relu (6), dense (5), tanh (4), dense (3), relu (2), dense (1).
    mg::no_parameters none;
    const auto d6 = mg::relu::backward(none, trace.template get<6>(), trace.template get<7>(), dl_dout, none);
    auto dp5 = p.template layer<5>();
    const auto d5 = mg::dense<3>::backward(p.template layer<5>(), trace.template get<5>(), trace.template get<6>(), d6, dp5);
    const auto d4 = mg::tanh_layer::backward(none, trace.template get<4>(), trace.template get<5>(), d5, none);
    auto dp3 = p.template layer<3>();
    const auto d3 = mg::dense<70>::backward(p.template layer<3>(), trace.template get<3>(), trace.template get<4>(), d4, dp3);
    const auto d2 = mg::relu::backward(none, trace.template get<2>(), trace.template get<3>(), d3, none);
    auto dp1 = p.template layer<1>();
    const auto d1 = mg::dense<50>::backward(p.template layer<1>(), trace.template get<1>(), trace.template get<2>(), d2, dp1);
    BOOST_TEST((g.activations.template get<6>() == d6));
    BOOST_TEST((g.activations.template get<5>() == d5));
    BOOST_TEST((g.activations.template get<4>() == d4));
    BOOST_TEST((g.activations.template get<3>() == d3));
    BOOST_TEST((g.activations.template get<2>() == d2));  // through the ReLU, in dense 3's kernel
    BOOST_TEST((g.activations.template get<1>() == d1));
    BOOST_TEST((g.parameters.template layer<1>() == dp1));
    BOOST_TEST((g.parameters.template layer<3>() == dp3));
}

BOOST_AUTO_TEST_CASE(runtime_dense_layers_take_the_gradient_through_the_relu_before_them) {
    check_fused_backward<float, mg::shape<37>>();
    check_fused_backward<float, mg::shape<9, 37>>();
    check_fused_backward<double, mg::shape<4, 37>>();
}

BOOST_AUTO_TEST_CASE(runtime_parameters_compare_and_cast) {
    auto p = random_parameters<homework, double>();
    const auto q = p;
    BOOST_TEST((p == q));
    p.layer<2>().bias[1] += 1;
    BOOST_TEST(!(p == q));
    const auto f = q.cast<float>();
    BOOST_TEST(f.layer<4>().weight[1] == static_cast<float>(q.layer<4>().weight[1]));
}

BOOST_AUTO_TEST_SUITE_END()

// The summary is computed from the type alone.
namespace summary_tests {
using summary = mg::network_summary<homework>;
static_assert(summary::parameters == 26);
static_assert(summary::layers[0].name == "dense" && summary::layers[1].name == "relu");
static_assert(summary::layers[0].parameters == 15 && summary::layers[2].parameters == 8 && summary::layers[4].parameters == 3);
static_assert(summary::layers[2].output_rank == 1 && summary::layers[2].output_extents[0] == 2);
// dense<4, 3>: 12 multiplies, 12 adds (9 between products, 3 with the bias) -> (2 * 4 + 1) * 3.
static_assert(summary::layers[0].flops == 27 && summary::flops_per_sample == 27 + 3 + 14 + 2 + 5);
static_assert(summary::activation_scalars == 4 + 3 + 3 + 2 + 2 + 1);
using mnist = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>>;
static_assert(mg::network_summary<mnist>::parameters == 235146 && mg::network_summary<mnist>::layers[0].flops == 0);
}  // namespace summary_tests

BOOST_AUTO_TEST_CASE(the_summary_prints_as_a_table) {
    const std::string table = mg::summary_table<homework, double, mg::adam<homework, double>>();
    BOOST_TEST(table.find("0      dense       (3)                         15              27\n") != std::string::npos);
    BOOST_TEST(table.find("total                                          26              51\n") != std::string::npos);
    BOOST_TEST(table.find("parameters 208 B, activations 120 B per sample, optimizer state 416 B") != std::string::npos);
}
