// Tests of include/metagrad/io/rtneural_json.hpp: RTNeural's JSON model files (written by
// tests/fixtures/make_rtneural_fixtures.py as its Keras exporter writes them, from PyTorch
// models) give PyTorch's outputs; files that do not fit the network, or are malformed, are
// refused with an io_error naming the place and both sides, leaving the parameters as they were.
#include "metagrad/io/rtneural_json.hpp"  // first: the header compiles on its own

#include <cmath>
#include <cstddef>
#include <fstream>
#include <string>

#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using test_files::expect_error;
using json = nlohmann::json;

namespace {
std::string fixture(const std::string& name) { return std::string(METAGRAD_FIXTURES) + "/" + name; }

json read_json(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);
}

/// Row-major values of a JSON array of arrays into a tensor.
template <class S, class T = float>
mg::tensor<T, S> tensor_of(const json& rows) {
    mg::tensor<T, S> t;
    std::size_t i = 0;
    for (const auto& row : rows)
        for (const auto& v : row) t[i++] = v.get<T>();
    BOOST_REQUIRE_EQUAL(i, S::size);
    return t;
}

/// Loads fixture `name` into `Net` and compares its outputs with PyTorch's.
template <class Net, class T = float>
void check_against_pytorch(const std::string& name) {
    typename Net::template parameters<T> p;
    mg::load_rtneural_json(fixture("rtneural_" + name + ".json"), p);
    const json io = read_json(fixture("rtneural_" + name + "_io.json"));
    const auto y = Net::forward(p, tensor_of<typename Net::input_shape, T>(io["input"]));
    const auto expected = tensor_of<typename Net::output_shape, T>(io["output"]);
    double worst = 0;
    for (std::size_t i = 0; i < expected.size; ++i) worst = std::max(worst, std::abs(double(y[i]) - double(expected[i])));
    BOOST_TEST(worst <= 1e-5, name << ": largest difference from PyTorch " << worst);
}

using gru_net = mg::sequential<mg::input<32, 1>, mg::gru<8>, mg::per_step<mg::dense<1>>>;
using lstm_net = mg::sequential<mg::input<24, 2>, mg::lstm<6>, mg::per_step<mg::dense<4>>, mg::tanh_layer, mg::per_step<mg::dense<1>>,
                                mg::sigmoid>;
using conv_net = mg::sequential<mg::input<20, 2>, mg::causal_conv1d<3, mg::kernel<3>, mg::dilation<2>>, mg::tanh_layer, mg::gru<4>,
                                mg::per_step<mg::dense<1>>>;

static_assert(mg::rtneural_json_holds<0, mg::input<3>> && !mg::rtneural_json_holds<1, mg::input<3>>);
static_assert(mg::rtneural_json_holds<2, mg::gru<4, mg::last_step>> && mg::rtneural_json_holds<1, mg::elu<>>);
static_assert(!mg::rtneural_json_holds<1, mg::elu<std::ratio<1, 2>>> && !mg::rtneural_json_holds<1, mg::layer_norm<>>);

/// The GRU fixture with `change` applied, written to the test's output directory.
template <class F>
std::string changed(const std::string& name, const std::string& model, F&& change) {
    json m = read_json(fixture("rtneural_" + model + ".json"));
    change(m);
    return test_files::write(name, m.dump(4));
}

/// `Net`'s parameters set to 7, loaded from `path`: the load must fail with every one of
/// `parts` in its message and leave them 7.
template <class Net = gru_net>
void expect_refused(const std::string& path, std::initializer_list<std::string> parts) {
    typename Net::template parameters<float> p;
    mg::for_each_tensor([](auto& t) { for (auto& v : t) v = 7; }, p);
    const auto before = p;
    expect_error([&] { mg::load_rtneural_json(path, p); }, parts);
    BOOST_TEST((p == before), "a refused file changed the parameters");
}
}  // namespace

BOOST_AUTO_TEST_SUITE(rtneural_json)

BOOST_AUTO_TEST_CASE(a_gru_model_gives_pytorchs_outputs) {
    // docs/rtneural.md shows this.
    // [load]
    using net = mg::sequential<mg::input<32, 1>, mg::gru<8>, mg::per_step<mg::dense<1>>>;
    net::parameters<float> p;
    mg::load_rtneural_json(fixture("rtneural_gru.json"), p);  // mg::io_error if it does not fit
    // [load]
    gru_net::parameters<float> q;
    mg::load_rtneural_json(fixture("rtneural_gru.json"), q);
    BOOST_TEST((p == q));
    check_against_pytorch<gru_net>("gru");
}

BOOST_AUTO_TEST_CASE(an_lstm_model_with_both_forms_of_activation_gives_pytorchs_outputs) { check_against_pytorch<lstm_net>("lstm"); }

BOOST_AUTO_TEST_CASE(a_causal_convolution_model_gives_pytorchs_outputs) { check_against_pytorch<conv_net>("conv1d"); }

BOOST_AUTO_TEST_CASE(a_network_without_an_input_layer_loads_in_float_and_double) {
    using net = mg::network<mg::shape<32, 1>, mg::gru<8>, mg::per_step<mg::dense<1>>>;
    check_against_pytorch<net>("gru");
    // The file's numbers are float32 values: read as double, they are the same.
    net::parameters<double> p;
    net::parameters<float> q;
    mg::load_rtneural_json(fixture("rtneural_gru.json"), p);
    mg::load_rtneural_json(fixture("rtneural_gru.json"), q);
    BOOST_TEST((p.cast<float>() == q));
}

BOOST_AUTO_TEST_CASE(a_wrong_hidden_size_names_the_layer_and_both_shapes) {
    using net = mg::sequential<mg::input<32, 1>, mg::gru<16>, mg::per_step<mg::dense<1>>>;
    expect_refused<net>(fixture("rtneural_gru.json"),
                        {"rtneural_gru.json", "layers[0] (type 'gru')", "network layer 1 (gru, (32, 1) -> (32, 16))", "'shape'",
                         "a shape ending in 16", "[null,null,8]"});
}

BOOST_AUTO_TEST_CASE(a_wrong_input_size_names_both_shapes) {
    using net = mg::sequential<mg::input<32, 3>, mg::gru<8>, mg::per_step<mg::dense<1>>>;
    expect_refused<net>(fixture("rtneural_gru.json"), {"'in_shape'", "3 features", "(32, 3)", "[null,null,1]"});
}

BOOST_AUTO_TEST_CASE(a_size_the_shape_field_hides_is_caught_by_the_weights) {
    // "shape" says 16, as the network, but the weights are those of 8 units.
    expect_refused<mg::sequential<mg::input<32, 1>, mg::gru<16>, mg::per_step<mg::dense<1>>>>(
        changed("rtneural_shape_lies.json", "gru", [](json& m) { m["layers"][0]["shape"][2] = 16; }),
        {"layers[0] (type 'gru') against network layer 1", "weights[0][0]", "an array of 48", "shape [1, 48]", "an array of 24"});
}

BOOST_AUTO_TEST_CASE(a_wrong_activation_is_refused) {
    using net = mg::sequential<mg::input<24, 2>, mg::lstm<6>, mg::per_step<mg::dense<4>>, mg::relu, mg::per_step<mg::dense<1>>, mg::sigmoid>;
    expect_refused<net>(fixture("rtneural_lstm.json"),
                        {"layers[1] (type 'dense')", "'activation'", "network layer 3 (relu, (24, 4) -> (24, 4))", "'relu'", "found 'tanh'"});
    // An activation layer of its own, against the network's tanh_layer.
    using other = mg::sequential<mg::input<24, 2>, mg::lstm<6>, mg::per_step<mg::dense<4>>, mg::tanh_layer, mg::per_step<mg::dense<1>>,
                                 mg::tanh_layer>;
    expect_refused<other>(fixture("rtneural_lstm.json"), {"layers[3] (type 'activation')", "network layer 5 (tanh", "found 'sigmoid'"});
    // An activation the network does not have at all.
    using none = mg::sequential<mg::input<24, 2>, mg::lstm<6>, mg::per_step<mg::dense<4>>, mg::per_step<mg::dense<1>>, mg::sigmoid>;
    expect_refused<none>(fixture("rtneural_lstm.json"), {"layers[1] (type 'dense')", "which is no activation", "found 'tanh'"});
    // A GRU whose cell uses another activation than tanh.
    expect_refused(changed("rtneural_gru_relu.json", "gru", [](json& m) { m["layers"][0]["activation"] = "relu"; }),
                   {"layers[0] (type 'gru')", "'activation'", "'tanh' or ''", "found 'relu'"});
}

BOOST_AUTO_TEST_CASE(layers_in_another_order_or_number_are_refused) {
    using swapped = mg::sequential<mg::input<32, 1>, mg::lstm<8>, mg::per_step<mg::dense<1>>>;
    expect_refused<swapped>(fixture("rtneural_gru.json"), {"layers[0] (type 'gru')", "a layer of type 'lstm' for network layer 1", "type 'gru'"});
    using longer = mg::sequential<mg::input<32, 1>, mg::gru<8>, mg::per_step<mg::dense<1>>, mg::sigmoid>;
    expect_refused<longer>(fixture("rtneural_gru.json"), {"'layers'", "a layer for network layer 3 (sigmoid", "the end of the list"});
    using shorter = mg::sequential<mg::input<32, 1>, mg::gru<8>>;
    expect_refused<shorter>(fixture("rtneural_gru.json"), {"layers[1] (type 'dense')", "no more layers", "a 'dense' layer"});
    expect_refused(changed("rtneural_prelu.json", "gru", [](json& m) { m["layers"][1]["type"] = "prelu"; }),
                   {"layers[1] (type 'prelu')", "prelu, batchnorm, batchnorm2d and conv2d are not supported", "found 'prelu'"});
}

BOOST_AUTO_TEST_CASE(a_missing_key_is_named) {
    expect_refused(changed("rtneural_no_weights.json", "gru", [](json& m) { m["layers"][0].erase("weights"); }),
                   {"layers[0] (type 'gru') against network layer 1", "a key 'weights'", "found none"});
    expect_refused(changed("rtneural_no_type.json", "gru", [](json& m) { m["layers"][1].erase("type"); }),
                   {"layers[1]", "a key 'type'", "found none"});
    expect_refused(changed("rtneural_no_layers.json", "gru", [](json& m) { m.erase("layers"); }), {"the top level", "a key 'layers'"});
    expect_refused(changed("rtneural_no_in_shape.json", "gru", [](json& m) { m.erase("in_shape"); }), {"a key 'in_shape'"});
    expect_refused(changed("rtneural_no_shape.json", "gru", [](json& m) { m["layers"][1].erase("shape"); }),
                   {"layers[1] (type 'dense')", "a key 'shape'"});
}

BOOST_AUTO_TEST_CASE(a_truncated_weights_array_is_named) {
    expect_refused(changed("rtneural_short_row.json", "gru", [](json& m) { m["layers"][0]["weights"][1][7].erase(23); }),
                   {"weights[1][7]", "an array of 24", "the recurrent kernel, hidden x 3 hidden, gates z, r, h, shape [8, 24]",
                    "found an array of 23"});
    expect_refused(changed("rtneural_no_bias.json", "gru", [](json& m) { m["layers"][1]["weights"].erase(1); }),
                   {"layers[1] (type 'dense')", "'weights'", "an array of 2", "found an array of 1"});
    // Keras's GRU with reset_after=False has one bias of 3H: another function.
    expect_refused(changed("rtneural_reset_before.json", "gru",
                           [](json& m) { m["layers"][0]["weights"][2] = m["layers"][0]["weights"][2][0]; }),
                   {"weights[2]", "reset_after=True", "found an array of 24"});
}

BOOST_AUTO_TEST_CASE(a_value_that_is_not_a_finite_number_is_named) {
    expect_refused(changed("rtneural_string.json", "gru", [](json& m) { m["layers"][1]["weights"][0][3][0] = "0.5"; }),
                   {"layers[1] (type 'dense')", "weights[0][3][0]", "expected a number", "found '0.5'"});
    expect_refused(changed("rtneural_null.json", "gru", [](json& m) { m["layers"][1]["weights"][1][0] = nullptr; }),
                   {"weights[1][0]", "found null"});
    expect_refused(changed("rtneural_too_large.json", "gru", [](json& m) { m["layers"][0]["weights"][0][0][2] = 1e39; }),
                   {"weights[0][0][2]", "a finite number (within the range of float)"});
    // Python's json module writes NaN and Infinity, which are not JSON.
    std::string text = test_files::read(fixture("rtneural_gru.json"));
    const std::size_t at = text.find("0.3342015743255615");
    BOOST_REQUIRE(at != std::string::npos);
    expect_refused(test_files::write("rtneural_nan.json", std::string(text).replace(at, 18, "NaN")),
                   {"at byte " + std::to_string(at), "expected a finite number", "found NaN"});
    expect_refused(test_files::write("rtneural_infinity.json", std::string(text).replace(at, 18, "-Infinity")),
                   {"at byte " + std::to_string(at + 1), "found -Infinity"});
    expect_refused(test_files::write("rtneural_overflow.json", std::string(text).replace(at, 18, "1e400")),
                   {"parsing: expected finite numbers", "number overflow parsing '1e400'"});
}

BOOST_AUTO_TEST_CASE(malformed_and_hostile_files_are_refused) {
    const std::string text = test_files::read(fixture("rtneural_gru.json"));
    expect_refused(test_files::write("rtneural_truncated.json", text.substr(0, text.size() / 2)), {"expected JSON (RFC 8259)", "syntax error"});
    expect_refused(test_files::write("rtneural_empty.json", ""), {"expected JSON"});
    expect_refused(test_files::write("rtneural_array.json", "[]"), {"the top level", "an object with keys 'in_shape' and 'layers'"});
    expect_refused(test_files::write("rtneural_deep.json", std::string(100000, '[')), {"at byte 16", "at most 16 nested"});
    expect_refused(test_files::write("rtneural_layer_number.json", R"({"in_shape": [null, 1], "layers": [3]})"),
                   {"layers[0]", "an object with keys 'type', 'shape' and 'weights'", "found 3"});
    expect_refused(changed("rtneural_absurd_size.json", "gru", [](json& m) { m["layers"][0]["shape"][2] = 1e300; }),
                   {"'shape'", "a shape ending in 8", "found 1e+300"});
    expect_refused(changed("rtneural_negative_size.json", "gru", [](json& m) { m["layers"][0]["shape"][2] = -8; }),
                   {"'shape'", "found -8"});
    expect_refused(changed("rtneural_type_number.json", "gru", [](json& m) { m["layers"][0]["type"] = 1; }),
                   {"layers[0] 'type'", "a string", "found 1"});
    // Far more text than the network's numbers can need (1 MiB and 512 bytes a parameter).
    const std::size_t budget = (std::size_t{1} << 20) + 512 * gru_net::parameter_count;
    expect_refused(test_files::write("rtneural_huge.json", std::string(budget + 1, ' ')),
                   {"at most " + std::to_string(budget) + " bytes for a network of " + std::to_string(gru_net::parameter_count) + " parameters",
                    "a file of " + std::to_string(budget + 1) + " bytes"});
    expect_refused(test_files::path("rtneural_no_such_file.json"), {"rtneural_no_such_file.json", "opening"});
}

BOOST_AUTO_TEST_CASE(a_convolution_of_another_kernel_or_dilation_is_refused) {
    using wider = mg::sequential<mg::input<20, 2>, mg::causal_conv1d<3, mg::kernel<2>, mg::dilation<2>>, mg::tanh_layer, mg::gru<4>,
                                 mg::per_step<mg::dense<1>>>;
    expect_refused<wider>(fixture("rtneural_conv1d.json"), {"layers[0] (type 'conv1d')", "'kernel_size'", "expected 2 or [2]", "found [3]"});
    using spaced = mg::sequential<mg::input<20, 2>, mg::causal_conv1d<3, mg::kernel<3>>, mg::tanh_layer, mg::gru<4>, mg::per_step<mg::dense<1>>>;
    expect_refused<spaced>(fixture("rtneural_conv1d.json"), {"'dilation'", "expected 1 or [1]", "found [2]"});
}

BOOST_AUTO_TEST_SUITE_END()
