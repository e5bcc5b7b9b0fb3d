// Tests of include/metagrad/infer/inference_form.hpp: the folded network type (dropout and
// random_flip left out, batch norm folded into the dense or convolution layer before it, at the
// top level and inside chains, residual blocks and parallel branches), and its
// parameters, which give the trained network's inference outputs to rounding, in constant
// evaluation and at run time, directly and through the predictor.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <ratio>
#include <type_traits>

#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

// The CNN demo's shape of network, small: a convolution without bias gains one; a dropout between
// a convolution and its batch norm does not stop the fold; a dense layer takes in its batch norm.
using cnn = mg::sequential<mg::input<6, 6, 2>, mg::random_flip, mg::conv2d<4, mg::kernel<3>, mg::padding<1>, mg::without_bias>,
                           mg::batch_norm<>, mg::relu, mg::max_pool2d<mg::kernel<2>>, mg::conv2d<3, mg::kernel<3>>, mg::dropout<>,
                           mg::batch_norm<std::ratio<1, 4>, std::ratio<1, 1000>>, mg::flatten, mg::dense<5>, mg::batch_norm<>, mg::relu,
                           mg::dropout<std::ratio<1, 4>>, mg::dense<3>>;
static_assert(std::is_same_v<mg::inference_form<cnn>,
                             mg::network<mg::shape<6, 6, 2>, mg::input<6, 6, 2>, mg::conv2d<4, mg::kernel<3>, mg::padding<1>>, mg::relu,
                                         mg::max_pool2d<mg::kernel<2>>, mg::conv2d<3, mg::kernel<3>>, mg::flatten, mg::dense<5>, mg::relu,
                                         mg::dense<3>>>);

// What is not folded: a batch norm with no linear layer just before it in the same list (first,
// after an activation, or first in a sub-network) is kept; a conv1d folds as conv2d does.
using kept = mg::sequential<mg::input<4, 3>, mg::batch_norm<>, mg::conv1d<2, mg::kernel<2>>, mg::relu, mg::batch_norm<>,
                            mg::residual<mg::chain<mg::batch_norm<>, mg::conv1d<2, mg::kernel<1>, mg::without_bias>>>,
                            mg::conv1d<3, mg::kernel<3>, mg::without_bias, mg::padding<1>>, mg::batch_norm<>>;
static_assert(std::is_same_v<mg::inference_form<kept>,
                             mg::network<mg::shape<4, 3>, mg::input<4, 3>, mg::batch_norm<>, mg::conv1d<2, mg::kernel<2>>, mg::relu,
                                         mg::batch_norm<>, mg::residual<mg::chain<mg::batch_norm<>, mg::conv1d<2, mg::kernel<1>, mg::without_bias>>>,
                                         mg::conv1d<3, mg::kernel<3>, mg::padding<1>>>>);

// Inside sub-networks, as at the top level: in each chain (a ResNet block's convolutions take in
// their batch norms), in a residual block's projection, in each of parallel's branches; a
// dropout inside a chain is left out, and a chain of layers all left out keeps its first.
using nested = mg::sequential<
    mg::input<4, 4, 2>,
    mg::residual<mg::chain<mg::conv2d<3, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>, mg::relu, mg::dropout<>,
                           mg::conv2d<3, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>>,
                 mg::chain<mg::conv2d<3, mg::kernel<1>, mg::without_bias>, mg::batch_norm<>>>,
    mg::relu, mg::flatten,
    mg::parallel<mg::merge::concatenate, mg::chain<mg::dense<4>, mg::batch_norm<>, mg::relu>, mg::chain<mg::dropout<>>, mg::dense<2>>,
    mg::dense<3>>;
static_assert(std::is_same_v<
              mg::inference_form<nested>,
              mg::network<mg::shape<4, 4, 2>, mg::input<4, 4, 2>,
                          mg::residual<mg::chain<mg::conv2d<3, mg::kernel<3>, mg::padding<1>>, mg::relu, mg::conv2d<3, mg::kernel<3>, mg::padding<1>>>,
                                       mg::chain<mg::conv2d<3, mg::kernel<1>>>>,
                          mg::relu, mg::flatten,
                          mg::parallel<mg::merge::concatenate, mg::chain<mg::dense<4>, mg::relu>, mg::chain<mg::dropout<>>, mg::dense<2>>,
                          mg::dense<3>>>);
// A network with nothing to run in inference keeps its first layer; one with nothing to fold is itself.
static_assert(std::is_same_v<mg::inference_form<mg::sequential<mg::input<3>, mg::dropout<>>>, mg::sequential<mg::input<3>>>);
using plain = mg::sequential<mg::dense<3, 4>, mg::relu, mg::dense<2>>;
static_assert(std::is_same_v<mg::inference_form<plain>, plain>);

// In constant evaluation: a dense layer and its batch norm folded, in double, against the
// trained network's inference pass.
namespace {
using small = mg::sequential<mg::dense<3, 4>, mg::batch_norm<>, mg::relu, mg::dropout<>, mg::dense<2>>;
constexpr double folded_error() {
    small::parameters<double> p;
    double seed = 0.3;
    const auto next = [&seed] {
        seed = seed * 1.7 + 0.31;
        seed -= static_cast<int>(seed);
        return seed - 0.5;
    };
    mg::for_each_tensor([&](auto& w) { for (auto& v : w) v = next(); }, p);
    mg::for_each_state_tensor([&](auto& s) { for (auto& v : s) v = 1 + next(); }, p);
    mg::tensor<double, mg::shape<2, 3>> x;
    for (auto& v : x) v = next();
    const auto y = small::forward(p, x);
    const auto z = mg::inference_form<small>::forward(mg::fold_for_inference(p), x);
    double worst = 0;
    for (std::size_t i = 0; i < decltype(y)::shape_type::size; ++i) worst = std::max(worst, y[i] > z[i] ? y[i] - z[i] : z[i] - y[i]);
    return worst;
}
}  // namespace
// [inference_form]
static_assert(std::is_same_v<mg::inference_form<small>, mg::sequential<mg::dense<3, 4>, mg::relu, mg::dense<2>>>);
static_assert(folded_error() < 1e-14);  // fold_for_inference(p) gives small's inference outputs
// [inference_form]

namespace {
template <class A, class B>
double largest_relative_difference(const A& a, const B& b) {
    double worst = 0;
    for (std::size_t i = 0; i < A::shape_type::size; ++i) {
        const double x = a[i], y = b[i];
        worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
    }
    return worst;
}

// The folded network and the predictor against the trained network's inference pass, on a batch,
// with running statistics away from 0 and 1.
template <class Net, class T, class X>
void check_folded(double tolerance) {
    auto p = std::make_unique<typename Net::template parameters<T>>(random_parameters<Net, T>());
    randomize_state(*p);
    const auto folded = std::make_unique<typename mg::inference_form<Net>::template parameters<T>>();
    mg::fold_for_inference(*p, *folded);
    const auto predict = std::make_unique<mg::predictor<Net, T, X>>(*p);
    for (int round = 0; round < 3; ++round) {
        const auto x = random_tensor<T, X>();
        const auto expected = Net::forward(*p, x);
        BOOST_TEST(largest_relative_difference(mg::inference_form<Net>::forward(*folded, x), expected) <= tolerance);
        BOOST_TEST(largest_relative_difference((*predict)(x), expected) <= tolerance);
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(folded_outputs_equal_the_trained_networks_in_inference_run_time) {
    check_folded<cnn, double, mg::shape<5, 6, 6, 2>>(1e-12);
    check_folded<cnn, float, mg::shape<5, 6, 6, 2>>(1e-5);
    check_folded<cnn, float, mg::shape<6, 6, 2>>(1e-5);  // one sample
    check_folded<kept, double, mg::shape<3, 4, 3>>(1e-12);
    check_folded<nested, double, mg::shape<3, 4, 4, 2>>(1e-12);
    check_folded<nested, float, mg::shape<3, 4, 4, 2>>(1e-5);
    check_folded<small, float, mg::shape<3>>(1e-5);
}

// The demo's CNN after training: batch norm's running statistics are those training left.
BOOST_AUTO_TEST_CASE(a_trained_cnn_folds_to_the_same_predictions_run_time) {
    using net = mg::sequential<mg::input<8, 8, 1>, mg::random_flip, mg::conv2d<6, mg::kernel<3>, mg::padding<1>, mg::without_bias>,
                               mg::batch_norm<>, mg::relu, mg::max_pool2d<mg::kernel<2>>, mg::flatten, mg::dense<10>, mg::relu,
                               mg::dropout<std::ratio<1, 4>>, mg::dense<3>>;
    constexpr std::size_t batch = 8;
    auto p = std::make_unique<net::parameters<float>>();
    mg::random_generator g(5);
    mg::initialize(*p, mg::he_normal{}, g);
    mg::adam<net, float> optimizer;
    auto workspace = std::make_unique<mg::workspace<net, float, mg::batch_of<batch, net::input_shape>>>();
    for (std::size_t step = 0; step < 20; ++step) {
        const auto x = random_tensor<float, mg::batch_of<batch, net::input_shape>>();
        mg::tensor<float, mg::shape<batch, 3>> target{};
        for (std::size_t r = 0; r < batch; ++r) target[r * 3 + r % 3] = 1;
        mg::train_step(*p, x, target, mg::softmax_cross_entropy{}, optimizer, *workspace);
    }
    BOOST_TEST(p->state<3>().running_mean[0] != 0.0f);  // training moved the statistics
    const auto predict = std::make_unique<mg::predictor<net, float, mg::batch_of<batch, net::input_shape>>>(*p);
    const auto x = random_tensor<float, mg::batch_of<batch, net::input_shape>>();
    BOOST_TEST(largest_relative_difference((*predict)(x), net::forward(*p, x)) <= 1e-5);
}
