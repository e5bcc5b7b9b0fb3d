// Tests of layers made of layers (core/chain.hpp, layers/residual.hpp), for what the laws every
// layer obeys (laws.cpp, where they are listed too) cannot say: a chain computes what its layers
// computed side by side in the network; names are paths, as PyTorch names nested modules, and
// checkpoints round-trip nested parameters and state; nested layers draw random numbers of their
// own; a residual network trains and the predictor runs it.
#include <cmath>
#include <cstddef>
#include <ratio>
#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

#include "io/files.hpp"
#include "metagrad/metagrad.hpp"
#include "support.hpp"

namespace mg = metagrad;
using namespace test_support;

BOOST_AUTO_TEST_SUITE(composition)

using flat = mg::sequential<mg::input<6>, mg::dense<5>, mg::tanh_layer, mg::dense<4>, mg::relu, mg::dense<3>>;
using nested = mg::sequential<mg::input<6>, mg::chain<mg::dense<5>, mg::tanh_layer, mg::chain<mg::dense<4>, mg::relu>>, mg::dense<3>>;

BOOST_AUTO_TEST_CASE(a_chain_computes_what_its_layers_compute_side_by_side) {
    static_assert(flat::parameter_count == nested::parameter_count);
    static_assert(std::is_same_v<nested::output_shape, mg::shape<3>>);
    const auto p = random_parameters<flat, double>();
    nested::parameters<double> q;
    q.layer<1>().at<0>() = p.layer<1>();
    q.layer<1>().at<2>().at<0>() = p.layer<3>();
    q.layer<2>() = p.layer<5>();
    const auto x = random_tensor<double, mg::shape<7, 6>>();
    const auto w = random_tensor<double, mg::shape<7, 3>>();
    const auto gf = flat::backward(p, flat::forward_trace(p, x), w);
    const auto gn = nested::backward(q, nested::forward_trace(q, x), w);
    // The same operations in the same order, so the same values to the last bit.
    BOOST_TEST((flat::forward(p, x) == nested::forward(q, x)));
    BOOST_TEST((gf.activations.input() == gn.activations.input()));
    BOOST_TEST((gf.parameters.layer<1>().weight == gn.parameters.layer<1>().at<0>().weight));
    BOOST_TEST((gf.parameters.layer<3>().bias == gn.parameters.layer<1>().at<2>().at<0>().bias));
    BOOST_TEST((gf.parameters.layer<5>().weight == gn.parameters.layer<2>().weight));
}

using block = mg::residual<mg::chain<mg::dense<8>, mg::batch_norm<>, mg::relu, mg::dropout<std::ratio<1, 10>>, mg::dense<8>>>;
using resnet = mg::sequential<mg::input<5>, mg::dense<8>, block, block, mg::residual<mg::chain<mg::dense<3>, mg::tanh_layer>, mg::dense<3>>>;

BOOST_AUTO_TEST_CASE(names_are_paths_as_pytorch_names_nested_modules) {
    resnet::parameters<float> p;
    std::set<std::string> parameters, state;
    mg::for_each_named_tensor([&](std::string_view path, const auto&) { parameters.insert(std::string(path)); }, p);
    mg::for_each_named_state_tensor([&](std::string_view path, const auto&) { state.insert(std::string(path)); }, p);
    const std::set<std::string> expected_parameters{
        "1.weight",          "1.bias",          "2.body.0.weight", "2.body.0.bias", "2.body.1.weight", "2.body.1.bias",
        "2.body.4.weight",   "2.body.4.bias",   "3.body.0.weight", "3.body.0.bias", "3.body.1.weight", "3.body.1.bias",
        "3.body.4.weight",   "3.body.4.bias",   "4.body.0.weight", "4.body.0.bias", "4.projection.weight",
        "4.projection.bias"};
    const std::set<std::string> expected_state{"2.body.1.running_mean", "2.body.1.running_var", "3.body.1.running_mean",
                                               "3.body.1.running_var"};
    BOOST_TEST(parameters == expected_parameters, boost::test_tools::per_element());
    BOOST_TEST(state == expected_state, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(nested_parameters_and_state_round_trip_through_files) {
    auto p = random_parameters<resnet, float>();
    randomize_state(p);
    const std::string path = test_files::path("resnet.safetensors");
    mg::save_parameters(path, p);
    const auto file = mg::safetensors_file::read(path);
    BOOST_TEST(file.contains("3.body.4.weight"));
    BOOST_TEST(file.contains("2.body.1.running_var"));
    resnet::parameters<float> q;
    mg::load_parameters(path, q);
    BOOST_TEST((q == p));
}

BOOST_AUTO_TEST_CASE(nested_layers_draw_numbers_of_their_own) {
    // The same dropout at the top level, inside a chain, and twice inside one: four masks apart.
    using drop = mg::dropout<>;
    using net = mg::network<mg::shape<500>, drop, mg::chain<drop, drop>, mg::chain<drop>>;
    const net::parameters<float> p;
    const auto trace = net::forward_trace(p, mg::tensor<float, mg::shape<2, 500>>::filled(1.0f), {3, 4});
    const auto& top = trace.cache<0>().mask;
    const auto& first_inside = boost::hana::at_c<0>(trace.cache<1>().caches).mask;
    const auto& second_inside = boost::hana::at_c<1>(trace.cache<1>().caches).mask;
    const auto& other_chain = boost::hana::at_c<0>(trace.cache<2>().caches).mask;
    BOOST_TEST(!(top == first_inside));
    BOOST_TEST(!(first_inside == second_inside));
    BOOST_TEST(!(first_inside == other_chain));
}

BOOST_AUTO_TEST_CASE(a_residual_network_trains_and_predicts) {
    resnet::parameters<float> p;
    mg::random_generator g(4);
    mg::initialize(p, mg::he_normal{}, g);
    mg::adam<resnet, float> adam(mg::adam_options<float>{.learning_rate = 0.01f});
    mg::workspace<resnet, float, mg::shape<16, 5>> ws;
    // A smooth target of the inputs: three fixed projections through tanh.
    mg::tensor<float, mg::shape<16, 5>> x;
    mg::tensor<float, mg::shape<16, 3>> y;
    mg::random_generator data(9);
    for (auto& v : x) v = data.uniform<float>(-1, 1);
    for (std::size_t r = 0; r < 16; ++r)
        for (std::size_t c = 0; c < 3; ++c) y[r * 3 + c] = std::tanh(x[r * 5 + c] - 0.5f * x[r * 5 + c + 2]);
    const float first = mg::train_step(p, x, y, mg::mse{}, adam, ws);
    float last = first;
    for (int step = 0; step < 200; ++step) last = mg::train_step(p, x, y, mg::mse{}, adam, ws);
    BOOST_TEST(last < first / 4);
    // The running statistics moved, and the predictor runs the network as inference does.
    BOOST_TEST(p.state<2>().body.at<1>().running_mean[0] != 0.0f);
    mg::predictor<resnet, float, mg::shape<16, 5>> predict(p);
    const auto want = resnet::forward(p, x);
    const auto& got = predict(x);
    for (std::size_t i = 0; i < want.size; ++i) BOOST_TEST(got[i] == want[i], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(parallel_branches_sum_or_sit_side_by_side) {
    using side_by_side = mg::network<mg::shape<3>, mg::parallel<mg::merge::concatenate, mg::identity, mg::dense<2>, mg::identity>>;
    static_assert(std::is_same_v<side_by_side::output_shape, mg::shape<8>>);
    auto p = random_parameters<side_by_side, double>();
    const auto x = random_tensor<double, mg::shape<2, 3>>();
    const auto y = side_by_side::forward(p, x);
    const auto projected = mg::dense<2>::forward(p.layer<0>().at<1>(), x);
    for (std::size_t r = 0; r < 2; ++r) {
        for (std::size_t j = 0; j < 3; ++j) {
            BOOST_TEST(y[r * 8 + j] == x[r * 3 + j]);
            BOOST_TEST(y[r * 8 + 5 + j] == x[r * 3 + j]);
        }
        for (std::size_t j = 0; j < 2; ++j) BOOST_TEST(y[r * 8 + 3 + j] == projected[r * 2 + j]);
    }
    using summed = mg::network<mg::shape<3>, mg::parallel<mg::merge::sum, mg::identity, mg::identity, mg::tanh_layer>>;
    const summed::parameters<double> none;
    const auto v = random_tensor<double, mg::shape<3>>();
    const auto s = summed::forward(none, v);
    for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(s[j] == 2 * v[j] + std::tanh(v[j]), boost::test_tools::tolerance(1e-15));
    // Branches are named by position.
    using two_towers = mg::sequential<mg::input<4>, mg::parallel<mg::merge::sum, mg::dense<3>, mg::chain<mg::relu, mg::dense<3>>>>;
    std::set<std::string> names;
    mg::for_each_named_tensor([&](std::string_view path, const auto&) { names.insert(std::string(path)); }, two_towers::parameters<float>{});
    const std::set<std::string> expected{"1.0.weight", "1.0.bias", "1.1.1.weight", "1.1.1.bias"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
}

// The example of docs/layers.md.
namespace docs_example {
// [residual]
using block = mg::residual<mg::chain<mg::dense<8>, mg::batch_norm<>, mg::relu, mg::dense<8>>>;
using net = mg::sequential<mg::input<5>, mg::dense<8>, block, block, mg::dense<3>>;
// [residual]
}  // namespace docs_example

BOOST_AUTO_TEST_CASE(the_docs_example_names_what_the_docs_say) {
    using docs_example::net;
    net::parameters<float> p;
    std::set<std::string> names;
    mg::for_each_named_tensor([&](std::string_view path, const auto&) { names.insert(std::string(path)); }, p);
    mg::for_each_named_state_tensor([&](std::string_view path, const auto&) { names.insert(std::string(path)); }, p);
    BOOST_TEST(names.count("3.body.1.weight") == 1u);
    BOOST_TEST(names.count("3.body.1.running_mean") == 1u);
    static_assert(std::is_same_v<decltype(p.layer<3>().body.at<1>().weight), mg::vector<float, 8>>);
}

// Summaries count a block's parameters and operations through its layers: two dense layers of
// 8 x 8 + 8 and a batch norm of 8 + 8; (2 x 8 + 1) x 8 per dense layer, 2 x 8 for the batch norm,
// 8 for the ReLU, 8 for the sum.
using block_summary = mg::network_summary<docs_example::net>;
static_assert(block_summary::layers[2].parameters == 160);
static_assert(block_summary::layers[2].flops == 2 * (17 * 8) + 16 + 8 + 8);
static_assert(block_summary::layers[2].name == "residual");

BOOST_AUTO_TEST_SUITE_END()
