// Tests of the image and sequence layers (convolution, pooling, flatten) for what the laws every
// layer obeys (laws.cpp) cannot say: outputs and gradients equal PyTorch's (tests/fixtures/
// make_fixtures.py: a CNN with batch norm loaded from a PyTorch state dict, and convolutions with
// strides, padding, dilation and groups in float64); a training step gives the same values bit
// for bit on one and two threads; a CNN's checkpoint carries batch norm's state.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"
#include "fixture_checks.hpp"
#include "support.hpp"

namespace mg = metagrad;
using namespace test_support;

namespace {
// PyTorch's nn.Sequential(Conv2d(2, 4, 3, padding=1), BatchNorm2d(4), ReLU(), MaxPool2d(2),
// Conv2d(4, 6, 2, groups=2), Flatten(), Linear(24, 5)): the same positions, so the same names.
using torch_cnn = mg::network<mg::shape<6, 6, 2>, mg::conv2d<4, mg::kernel<3>, mg::padding<1>>, mg::batch_norm<>, mg::relu,
                              mg::max_pool2d<mg::kernel<2>>, mg::conv2d<6, mg::kernel<2>, mg::groups<2>>, mg::flatten, mg::dense<5>>;
}  // namespace

BOOST_AUTO_TEST_SUITE(image_layers)

BOOST_AUTO_TEST_CASE(a_pytorch_cnn_loads_and_gives_pytorchs_outputs) {
    auto p = std::make_unique<torch_cnn::parameters<float>>();
    mg::load_parameters(METAGRAD_FIXTURES "/torch_cnn.safetensors", *p);
    const auto io = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_cnn_io.safetensors");
    const auto x = fixture<float, mg::shape<3, 6, 6, 2>>(io, "x");
    check_close(torch_cnn::forward(*p, x), fixture<float, mg::shape<3, 5>>(io, "eval_y"), 1e-5f, "inference output");
    // In training, batch norm uses the batch's statistics and updates the running ones.
    const auto trace = torch_cnn::forward_trace(*p, x);
    check_close(trace.output(), fixture<float, mg::shape<3, 5>>(io, "train_y"), 1e-5f, "training output");
    check_close(trace.state<1>().running_mean, fixture<float, mg::shape<4>>(io, "train_running_mean"), 1e-6f, "running mean");
    check_close(trace.state<1>().running_var, fixture<float, mg::shape<4>>(io, "train_running_var"), 1e-6f, "running variance");
}

BOOST_AUTO_TEST_CASE(convolutions_match_pytorch_in_double) {
    const auto file = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_convolution.safetensors");
    const auto check = [&]<class Layer, class X, class Y>(const std::string& name) {
        using net = mg::network<mg::drop_first<X>, Layer>;
        typename net::template parameters<double> p;
        file.copy_to(name + ".weight", p.template layer<0>().weight);
        file.copy_to(name + ".bias", p.template layer<0>().bias);
        const auto x = fixture<double, X>(file, name + ".x");
        const auto trace = net::forward_trace(p, x);
        check_close(trace.output(), fixture<double, Y>(file, name + ".y"), 1e-12, name + " output");
        const auto g = net::backward(p, trace, fixture<double, Y>(file, name + ".g"));
        check_close(g.activations.input(), fixture<double, X>(file, name + ".dx"), 1e-12, name + " dl/dx");
        mg::tensor<double, typename std::remove_cvref_t<decltype(p.template layer<0>().weight)>::shape_type> dweight;
        file.copy_to(name + ".dweight", dweight);
        check_close(g.parameters.template layer<0>().weight, dweight, 1e-12, name + " dl/dweight");
        check_close(g.parameters.template layer<0>().bias, fixture<double, mg::shape<decltype(p.template layer<0>().bias)::size>>(file, name + ".dbias"),
                    1e-12, name + " dl/dbias");
    };
    // Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2) on 2 x 4 x 5 x 6.
    check.operator()<mg::conv2d<6, mg::kernel<3, 2>, mg::stride<2, 1>, mg::padding<1, 2>, mg::dilation<1, 2>, mg::groups<2>>,
                     mg::shape<2, 5, 6, 4>, mg::shape<2, 3, 8, 6>>("conv2d");
    // Conv1d(3, 4, 3, stride=2, padding=2, dilation=2) on 2 x 3 x 9.
    check.operator()<mg::conv1d<4, mg::kernel<3>, mg::stride<2>, mg::padding<2>, mg::dilation<2>>, mg::shape<2, 9, 3>,
                     mg::shape<2, 5, 4>>("conv1d");
}

// A CNN large enough that its products, patches, pooling and normalization are split between
// threads: two training steps give the same parameters bit for bit on one and on two threads.
using threaded_cnn = mg::sequential<mg::input<16, 16, 3>, mg::conv2d<16, mg::kernel<3>, mg::padding<1>, mg::without_bias>,
                                    mg::batch_norm<>, mg::relu, mg::max_pool2d<mg::kernel<2>>, mg::conv2d<32, mg::kernel<3>>, mg::relu,
                                    mg::avg_pool2d<mg::kernel<2>>, mg::conv2d<8, mg::kernel<1>, mg::groups<2>>, mg::flatten, mg::dense<4>>;

BOOST_AUTO_TEST_CASE(a_training_step_is_the_same_on_one_and_two_threads) {
    constexpr std::size_t batch = 32;
    using X = mg::shape<batch, 16, 16, 3>;
    using Y = mg::shape<batch, 4>;
    auto start = std::make_unique<threaded_cnn::parameters<float>>();
    mg::random_generator g(7);
    mg::initialize(*start, mg::he_uniform{}, g);
    const auto x = std::make_unique<mg::tensor<float, X>>(random_tensor<float, X>());
    mg::tensor<float, Y> y{};
    for (std::size_t i = 0; i < batch; ++i) y[i * 4 + i % 4] = 1;
    const auto run = [&](unsigned threads) {
        mg::set_thread_count(threads, mg::thread_sharing::always);
        auto p = std::make_unique<threaded_cnn::parameters<float>>(*start);
        auto ws = std::make_unique<mg::workspace<threaded_cnn, float, X>>();
        mg::adam<threaded_cnn, float> adam;
        for (int step = 0; step < 2; ++step) mg::train_step(*p, *x, y, mg::softmax_cross_entropy{}, adam, *ws);
        mg::set_thread_count(1);
        return p;
    };
    const auto one = run(1), two = run(2);
    BOOST_TEST((*one == *two));
    BOOST_TEST(!(*one == *start));
}

// ResNet-18's last convolutions (512 to 512 channels, 3x3) have 9.4 MB of float weights; in
// double 19 MB: more than the 8 MB main-thread stack. Their passes once put a transposed copy of
// the weights on the stack and crashed (found building benchmarks/compile_resnet.sh's network).
BOOST_AUTO_TEST_CASE(a_convolution_whose_weights_outgrow_the_stack_trains) {
    using wide = mg::network<mg::shape<2, 2, 512>, mg::conv2d<512, mg::kernel<3>, mg::padding<1>>, mg::global_avg_pool, mg::dense<2>>;
    using X = mg::shape<2, 2, 2, 512>;
    auto p = std::make_unique<wide::parameters<double>>();
    mg::random_generator g(3);
    mg::initialize(*p, mg::he_uniform{}, g);
    const auto x = std::make_unique<mg::tensor<double, X>>(random_tensor<double, X>());
    const mg::tensor<double, mg::shape<2, 2>> y{{1, 0, 0, 1}};
    auto ws = std::make_unique<mg::workspace<wide, double, X>>();
    auto adam = std::make_unique<mg::adam<wide, double>>();
    const double first = mg::train_step(*p, *x, y, mg::softmax_cross_entropy{}, *adam, *ws);
    double last = first;
    for (int step = 0; step < 5; ++step) last = mg::train_step(*p, *x, y, mg::softmax_cross_entropy{}, *adam, *ws);
    BOOST_TEST(std::isfinite(last));
    BOOST_TEST(last < first);
}

BOOST_AUTO_TEST_CASE(a_cnn_checkpoint_carries_batch_norms_state) {
    auto p = std::make_unique<torch_cnn::parameters<float>>();
    mg::load_parameters(METAGRAD_FIXTURES "/torch_cnn.safetensors", *p);
    const std::string path = std::string(METAGRAD_TEST_OUTPUT) + "/cnn_parameters.safetensors";
    mg::save_parameters(path, *p);
    auto q = std::make_unique<torch_cnn::parameters<float>>();
    mg::load_parameters(path, *q);
    BOOST_TEST((*p == *q));
    BOOST_TEST(q->state<1>().running_var[0] != 1.0f);  // the fixture's statistics, not the defaults
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_SUITE_END()
