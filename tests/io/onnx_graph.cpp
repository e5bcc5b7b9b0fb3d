// Tests of include/metagrad/io/onnx_graph.hpp and onnx_export.hpp on the C++ side: which layers
// have an ONNX form, the nodes, initializers and transposes a network's description holds, a
// user's layer with its own hook, and save_for_onnx's file. That the models pass onnx.checker and
// give metagrad's outputs is tests/python/test_onnx.py's part (with tests/io/onnx_export.cpp).
#include <cstddef>
#include <ratio>
#include <string>
#include <string_view>

#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
// [custom]
/// 2x, with an ONNX form of its own: what a user's layer declares.
struct doubled : mg::elementwise_activation<doubled> {
    static constexpr std::string_view name = "doubled";
    using provides = mg::hooks<doubled, mg::onnx_hook>;
    template <class T>
    static constexpr T value(T x) {
        return 2 * x;
    }
    template <class T>
    static constexpr T derivative(T, T) {
        return T{2};
    }
    template <class S, class G>
    static void to_onnx(G& g) {
        g.output(g.node("Mul", {g.input(), g.constant({2.0f})}));
    }
};
// [custom]
/// The same without it.
struct undeclared : mg::elementwise_activation<undeclared> {
    template <class T>
    static constexpr T value(T x) {
        return 2 * x;
    }
    template <class T>
    static constexpr T derivative(T, T) {
        return T{2};
    }
};

std::size_t count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}
bool has(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

using mlp = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>>;
using cnn = mg::sequential<mg::input<28, 28, 1>, mg::random_flip, mg::conv2d<32, mg::kernel<3>, mg::padding<1>, mg::without_bias>,
                           mg::batch_norm<>, mg::relu, mg::max_pool2d<mg::kernel<2>>,
                           mg::conv2d<64, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>, mg::relu,
                           mg::max_pool2d<mg::kernel<2>>, mg::flatten, mg::dense<256>, mg::relu, mg::dropout<std::ratio<1, 4>>,
                           mg::dense<10>>;
}  // namespace

// Every layer of the library has a form; a user's layer has one when it declares the hook.
static_assert(mg::has_onnx_form<mg::dense<3>> && mg::has_onnx_form<mg::relu> && mg::has_onnx_form<mg::leaky_relu<>> &&
              mg::has_onnx_form<mg::sigmoid> && mg::has_onnx_form<mg::tanh_layer> && mg::has_onnx_form<mg::silu> &&
              mg::has_onnx_form<mg::elu<>> && mg::has_onnx_form<mg::softplus> && mg::has_onnx_form<mg::gelu> &&
              mg::has_onnx_form<mg::gelu_tanh> && mg::has_onnx_form<mg::softmax> && mg::has_onnx_form<mg::log_softmax> &&
              mg::has_onnx_form<mg::identity> && mg::has_onnx_form<mg::input<3>> && mg::has_onnx_form<mg::dropout<>> &&
              mg::has_onnx_form<mg::batch_norm<>> && mg::has_onnx_form<mg::layer_norm<>> &&
              mg::has_onnx_form<mg::conv2d<2, mg::kernel<3>>> && mg::has_onnx_form<mg::conv1d<2, mg::kernel<3>>> &&
              mg::has_onnx_form<mg::max_pool2d<mg::kernel<2>>> && mg::has_onnx_form<mg::avg_pool2d<mg::kernel<2>>> &&
              mg::has_onnx_form<mg::max_pool1d<mg::kernel<2>>> && mg::has_onnx_form<mg::avg_pool1d<mg::kernel<2>>> &&
              mg::has_onnx_form<mg::global_avg_pool> && mg::has_onnx_form<mg::flatten> && mg::has_onnx_form<mg::random_flip> &&
              mg::has_onnx_form<mg::random_shift<1>> && mg::has_onnx_form<mg::residual<mg::relu>> &&
              mg::has_onnx_form<mg::parallel<mg::merge::sum, mg::relu>> && mg::has_onnx_form<mg::chain<mg::relu>>);
static_assert(mg::has_onnx_form<doubled> && !mg::has_onnx_form<undeclared>);
static_assert(!mg::exports_to_onnx<mg::layer_at<2, undeclared>> && mg::exports_to_onnx<mg::layer_at<2, doubled>>);

BOOST_AUTO_TEST_CASE(mlp_is_three_gemms_and_two_relus) {
    const std::string g = mg::onnx_graph_description<mlp>();
    BOOST_TEST(has(g, "\"format\": \"metagrad.onnx_graph\""));
    BOOST_TEST(has(g, "\"opset\": 17"));
    BOOST_TEST(has(g, "\"input\": {\"name\": \"input\", \"shape\": [\"batch\", 784]}"));
    BOOST_TEST(has(g, "\"output\": {\"name\": \"output\", \"shape\": [\"batch\", 10]}"));
    BOOST_TEST(count(g, "\"op\": \"Gemm\"") == 3u);
    BOOST_TEST(count(g, "\"op\": \"Relu\"") == 2u);
    BOOST_TEST(count(g, "\"op\": ") == 5u);  // the input layer adds nothing
    BOOST_TEST(has(g, "{\"name\": \"1/Gemm\", \"op\": \"Gemm\", \"inputs\": [\"input\", \"1.weight\", \"1.bias\"], \"outputs\": "
                      "[\"1/Gemm\"], \"attributes\": [{\"name\": \"transB\", \"type\": \"int\", \"value\": 1}]}"));
    BOOST_TEST(has(g, "\"inputs\": [\"4/Relu\", \"5.weight\", \"5.bias\"], \"outputs\": [\"output\"]"));
    BOOST_TEST(has(g, "{\"name\": \"5.bias\", \"permutation\": []}"));
}

BOOST_AUTO_TEST_CASE(cnn_is_transposed_once_each_way) {
    const std::string g = mg::onnx_graph_description<cnn>();
    // Channels first from the first convolution to the flatten: one Transpose in, one out.
    BOOST_TEST(count(g, "\"op\": \"Transpose\"") == 2u);
    BOOST_TEST(has(g, "\"perm\", \"type\": \"ints\", \"value\": [0, 3, 1, 2]"));
    BOOST_TEST(has(g, "\"perm\", \"type\": \"ints\", \"value\": [0, 2, 3, 1]"));
    BOOST_TEST(has(g, "{\"name\": \"2.weight\", \"permutation\": [0, 3, 1, 2]}"));
    BOOST_TEST(!has(g, "2.bias"));  // without_bias
    BOOST_TEST(has(g, "\"inputs\": [\"2/Conv\", \"3.weight\", \"3.bias\", \"3.running_mean\", \"3.running_var\"]"));
    BOOST_TEST(has(g, "\"epsilon\", \"type\": \"float\", \"value\": 1e-05"));
    BOOST_TEST(count(g, "\"op\": \"MaxPool\"") == 2u);
    // random_flip (1) and dropout (13) are left out: nothing is named after them.
    BOOST_TEST(!has(g, "\"1/"));
    BOOST_TEST(!has(g, "\"13/"));
    BOOST_TEST(has(g, "\"inputs\": [\"12/Relu\", \"14.weight\", \"14.bias\"], \"outputs\": [\"output\"]"));
}

BOOST_AUTO_TEST_CASE(sequence_layers_are_onnxs_recurrent_operators_and_a_causally_padded_conv) {
    // GRU over every step: time first around the operator, PyTorch's gates r, z, n taken as ONNX's
    // z, r, h, and the reset after the product (linear_before_reset), as PyTorch's cell has it.
    const std::string gru = mg::onnx_graph_description<mg::sequential<mg::input<7, 3>, mg::gru<8>, mg::per_step<mg::dense<1>>>>();
    BOOST_TEST(has(gru, "{\"name\": \"1/W\", \"permutation\": [], \"sources\": [\"1.weight_ih_l0\"], \"blocks\": [1, 0, 2], \"dims\": [1, 24, 3]}"));
    BOOST_TEST(has(gru, "\"sources\": [\"1.bias_ih_l0\", \"1.bias_hh_l0\"], \"blocks\": [1, 0, 2], \"dims\": [1, 48]"));
    BOOST_TEST(has(gru, "{\"name\": \"linear_before_reset\", \"type\": \"int\", \"value\": 1}"));
    BOOST_TEST(count(gru, "\"op\": \"Transpose\"") == 2u);
    BOOST_TEST(has(gru, "\"op\": \"MatMul\", \"inputs\": [\"1/Transpose_1\", \"2.weight\"]"));  // per_step<dense>
    // LSTM's last state: ONNX's gates i, o, f, c from PyTorch's i, f, g, o, and Y_h, its second output.
    const std::string lstm = mg::onnx_graph_description<mg::sequential<mg::input<5, 3>, mg::lstm<4, mg::last_step>, mg::dense<2>>>();
    BOOST_TEST(has(lstm, "\"blocks\": [0, 3, 1, 2], \"dims\": [1, 16, 4]"));
    BOOST_TEST(has(lstm, "\"op\": \"LSTM\", \"inputs\": [\"1/Transpose\", \"1/W\", \"1/R\", \"1/B\"], \"outputs\": [\"\", \"1/LSTM\"]"));
    // A causal convolution pads (K - 1) * D steps before the start and none after.
    const std::string causal =
        mg::onnx_graph_description<mg::sequential<mg::input<12, 2>, mg::causal_conv1d<8, mg::kernel<3>, mg::dilation<2>>, mg::tanh_layer>>();
    BOOST_TEST(has(causal, "{\"name\": \"pads\", \"type\": \"ints\", \"value\": [4, 0]}, {\"name\": \"dilations\", \"type\": \"ints\", \"value\": [2]}"));
    BOOST_TEST(has(causal, "{\"name\": \"1.weight\", \"permutation\": [0, 2, 1]}"));
}

BOOST_AUTO_TEST_CASE(sub_layers_are_named_by_their_paths) {
    using body = mg::chain<mg::conv2d<2, mg::kernel<3>, mg::padding<1>>, mg::batch_norm<>>;
    using net = mg::sequential<mg::input<4, 4, 2>, mg::residual<body, mg::conv2d<2, mg::kernel<1>>>,
                               mg::parallel<mg::merge::concatenate, mg::identity, mg::chain<mg::relu, mg::conv2d<3, mg::kernel<1>>>>,
                               mg::flatten, mg::dense<2>>;
    const std::string g = mg::onnx_graph_description<net>();
    BOOST_TEST(has(g, "\"1.body.0.weight\""));
    BOOST_TEST(has(g, "\"1.body.1.running_var\""));
    BOOST_TEST(has(g, "\"1.projection.weight\""));
    BOOST_TEST(has(g, "\"2.1.1.weight\""));
    BOOST_TEST(count(g, "\"op\": \"Sum\"") == 1u);
    // The branches meet channels first, so the concatenation is along axis 1.
    BOOST_TEST(has(g, "\"op\": \"Concat\", \"inputs\": [\"1/Sum\", \"2.1.1/Conv\"], \"outputs\": [\"2/Concat\"], \"attributes\": "
                      "[{\"name\": \"axis\", \"type\": \"int\", \"value\": 1}]"));
    BOOST_TEST(count(g, "\"op\": \"Transpose\"") == 2u);
}

BOOST_AUTO_TEST_CASE(a_users_layer_exports_through_its_hook) {
    using net = mg::sequential<mg::input<3>, doubled, mg::dropout<>>;
    const std::string g = mg::onnx_graph_description<net>();
    BOOST_TEST(has(g, "{\"name\": \"1/constant\", \"dims\": [], \"values\": [2]}"));
    BOOST_TEST(has(g, "\"op\": \"Mul\", \"inputs\": [\"input\", \"1/constant\"], \"outputs\": [\"output\"]"));
}

BOOST_AUTO_TEST_CASE(identity_network_is_one_identity_node) {
    const std::string g = mg::onnx_graph_description<mg::sequential<mg::input<3>, mg::dropout<>>>();
    BOOST_TEST(has(g, "\"op\": \"Identity\", \"inputs\": [\"input\"], \"outputs\": [\"output\"]"));
    BOOST_TEST(count(g, "\"op\": ") == 1u);
}

BOOST_AUTO_TEST_CASE(save_for_onnx_writes_a_parameter_file_with_the_description) {
    using net = mg::sequential<mg::input<4>, mg::dense<3>, mg::batch_norm<>, mg::tanh_layer>;
    net::parameters<float> p;
    mg::random_generator g(3);
    mg::initialize(p, mg::glorot_normal{}, g);
    p.state<2>().running_var[1] = 2.5f;
    const std::string path = test_files::path("onnx_graph.safetensors");
    mg::save_for_onnx(path, p);
    const auto file = mg::safetensors_file::read(path);
    BOOST_TEST(file.metadata("metagrad.onnx_graph") == mg::onnx_graph_description<net>());
    BOOST_TEST(file.metadata("metagrad.network") == "(4) -> input (4) -> dense (3) -> batch_norm (3) -> tanh (3)");
    net::parameters<float> q;
    mg::load_parameters(path, q);  // the same file is the model's parameters
    BOOST_TEST((p == q));
}
