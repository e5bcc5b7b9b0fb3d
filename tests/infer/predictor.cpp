// Tests of include/metagrad/infer/predictor.hpp: packed inference against Net::forward (samples
// and batches, float and double, layouts packed either way), repacking, and the packed layout.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>

#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

namespace {
template <class A, class B>
double largest_difference(const A& a, const B& b) {
    double worst = 0;
    for (std::size_t i = 0; i < a.size; ++i)
        worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    return worst;
}

// The predictor's output for random inputs of shape X against the network's forward pass.
template <class Net, class T, class X>
void check_against_forward(double tolerance) {
    const auto p = std::make_unique<typename Net::template parameters<T>>(random_parameters<Net, T>());
    const auto predict = std::make_unique<mg::predictor<Net, T, X>>(*p);
    for (int round = 0; round < 3; ++round) {
        const auto x = std::make_unique<mg::tensor<T, X>>(random_tensor<T, X>());
        const auto expected = std::make_unique<decltype(Net::forward(*p, *x))>(Net::forward(*p, *x));
        BOOST_TEST(largest_difference((*predict)(*x), *expected) <= tolerance);
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(predictions_agree_with_the_forward_pass_run_time) {
    using tanh_net = mg::sequential<mg::dense<16, 32>, mg::tanh_layer, mg::dense<32>, mg::tanh_layer, mg::dense<1>>;
    check_against_forward<tanh_net, float, mg::shape<16>>(1e-5);
    check_against_forward<tanh_net, double, mg::shape<16>>(1e-12);
    check_against_forward<tanh_net, float, mg::shape<5, 16>>(1e-5);  // a batch: the row-panel form
    // Input layer, remainders of every width (50 = 3 vectors and 2 with AVX-512), a layer narrower
    // than a vector (kept as trained), softmax.
    using mixed = mg::sequential<mg::input<37>, mg::dense<50>, mg::relu, mg::dense<70>, mg::sigmoid, mg::dense<3>, mg::softmax>;
    check_against_forward<mixed, float, mg::shape<37>>(1e-5);
    check_against_forward<mixed, double, mg::shape<37>>(1e-12);
    check_against_forward<mixed, double, mg::shape<4, 37>>(1e-12);
    using wide = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>, mg::softmax>;
    check_against_forward<wide, float, mg::shape<784>>(1e-5);
}

// A class derived from dense may override forward: the predictor keeps its parameters as trained
// and runs its own forward pass.
template <std::size_t Out>
struct dense_plus_one : mg::dense<Out> {
    template <class T, class S, class P>
    static constexpr mg::tensor<T, mg::with_last<S, Out>> forward(const P& p, const mg::tensor<T, S>& x) {
        return mg::dense<Out>::forward(p, x) + T{1};
    }
};

BOOST_AUTO_TEST_CASE(a_derived_layer_keeps_its_own_forward_pass_run_time) {
    using net = mg::sequential<mg::input<6>, dense_plus_one<32>, mg::relu, mg::dense<2>>;
    check_against_forward<net, float, mg::shape<6>>(1e-5);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(boost::hana::at_c<1>(mg::predictor<net, float>::packed_type{}))>,
                                 mg::dense_parameters<float, 6, 32>>);
}

BOOST_AUTO_TEST_CASE(packing_follows_the_vector_width_and_repacking_takes_new_parameters_run_time) {
    using net = mg::sequential<mg::dense<3, 40>, mg::relu, mg::dense<2>>;
    auto p = random_parameters<net, float>();
    mg::predictor<net, float> predict(p);
    // 40 outputs fill vectors on every x86 target: input-major, the transpose of the trained
    // weights. 2 outputs do not: kept as trained.
    const auto& packed = predict.packed();
    const auto& first = boost::hana::at_c<0>(packed);
    const auto& last = boost::hana::at_c<2>(packed);
    static_assert(std::remove_cvref_t<decltype(first)>::input_major);
    static_assert(!std::remove_cvref_t<decltype(last)>::input_major);
    BOOST_TEST((first.weight == mg::matrix<float, 3, 40>(mg::transpose(p.layer<0>().weight))));
    BOOST_TEST((last.weight == p.layer<2>().weight));
    const auto x = random_tensor<float, mg::shape<3>>();
    const auto before = predict(x);
    BOOST_TEST(largest_difference(before, net::forward(p, x)) <= 1e-6);
    // After the parameters change, the old packing answers as before; a new pack follows them.
    mg::for_each_tensor([](auto& w) { for (auto& v : w) v *= 2; }, p);
    BOOST_TEST(largest_difference(predict(x), before) == 0.0);
    predict.pack(p);
    BOOST_TEST(largest_difference(predict(x), net::forward(p, x)) <= 1e-5);
    BOOST_TEST(largest_difference(predict(x), before) > 1e-3);
}
