// Tests of include/metagrad/losses/: values against hand-computed ones, gradients against finite
// differences (float and double, samples and batches, run time and compile time), and stability
// of softmax cross-entropy for large logits.
#include <cmath>

#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

template <class Loss, class S, class T>
struct loss_case {
    using loss = Loss;
    using shape = S;
    using value_type = T;
};
using loss_cases = boost::mpl::list<
    loss_case<mg::squared_error, mg::shape<5>, double>, loss_case<mg::squared_error, mg::shape<3, 4>, float>,
    loss_case<mg::mse, mg::shape<5>, float>, loss_case<mg::mse, mg::shape<3, 4>, double>,
    loss_case<mg::softmax_cross_entropy, mg::shape<5>, double>,
    loss_case<mg::softmax_cross_entropy, mg::shape<3, 4>, float>,
    loss_case<mg::binary_cross_entropy_with_logits, mg::shape<5>, double>,
    loss_case<mg::binary_cross_entropy_with_logits, mg::shape<3, 4>, float>, loss_case<mg::huber<>, mg::shape<5>, double>,
    loss_case<mg::huber<std::ratio<1, 2>>, mg::shape<3, 4>, float>, loss_case<mg::nll_loss, mg::shape<5>, double>,
    loss_case<mg::nll_loss, mg::shape<3, 4>, float>>;

// Hand-computed values.
constexpr mg::vector<double, 2> p2{1, 2};
constexpr mg::vector<double, 2> zero2{};
static_assert(mg::squared_error::value(p2, zero2) == 2.5);  // (1 + 4) / 2
static_assert(mg::mse::value(p2, zero2) == 2.5);            // (1 + 4) / 2 elements
static_assert(mg::mse::value(mg::matrix<double, 2, 2>{{{1, 2}, {3, 4}}}, mg::matrix<double, 2, 2>{}) == 7.5);
static_assert(mg::squared_error::value(mg::matrix<double, 2, 2>{{{1, 2}, {3, 4}}}, mg::matrix<double, 2, 2>{}) == 7.5);
// Uniform logits: cross-entropy log(n) whatever the one-hot target.
static_assert(mg::softmax_cross_entropy::value(mg::vector<double, 4>{}, mg::vector<double, 4>{0, 0, 1, 0}) ==
              mg::math::log(4.0));

// Binary cross-entropy at logit 0 is log 2 whatever the target; Huber is quadratic inside delta
// and linear outside (d = 2, delta 1: 2 - 1/2); NLL of log-probabilities picks the target's.
static_assert(mg::binary_cross_entropy_with_logits::value(mg::vector<double, 2>{}, mg::vector<double, 2>{1, 0}) ==
              mg::math::log(2.0));
static_assert(mg::huber<>::value(mg::vector<double, 2>{2, 0.5}, mg::vector<double, 2>{}) == (1.5 + 0.125) / 2);
static_assert(mg::nll_loss::value(mg::vector<double, 3>{-1, -2, -3}, mg::vector<double, 3>{0, 1, 0}) == 2.0);

// Gradients in constant evaluation.
template <class Loss, class S>
constexpr double compile_time_loss_check() {
    mg::tensor<double, S> p, t;
    for (std::size_t i = 0; i < S::size; ++i) {
        p[i] = 0.37 * static_cast<double>(i % 5) - 0.6;
        t[i] = i % S::last == 1 ? 1.0 : 0.0;
    }
    const auto numeric = mg::numeric_gradient([&](const auto& q) { return Loss::value(q, t); }, p);
    return mg::max_scaled_error(Loss::gradient(p, t), numeric);
}
static_assert(compile_time_loss_check<mg::squared_error, mg::shape<3>>() < 1e-9);
static_assert(compile_time_loss_check<mg::mse, mg::shape<2, 3>>() < 1e-9);
static_assert(compile_time_loss_check<mg::softmax_cross_entropy, mg::shape<2, 3>>() < 1e-9);
static_assert(compile_time_loss_check<mg::binary_cross_entropy_with_logits, mg::shape<2, 3>>() < 1e-9);
static_assert(compile_time_loss_check<mg::huber<>, mg::shape<2, 3>>() < 1e-9);
static_assert(compile_time_loss_check<mg::nll_loss, mg::shape<2, 3>>() < 1e-9);

BOOST_AUTO_TEST_SUITE(losses)

BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_gradient_matches_finite_differences, C, loss_cases) {
    using T = typename C::value_type;
    using L = typename C::loss;
    for (int trial = 0; trial < 5; ++trial) {
        const auto p = random_tensor<T, typename C::shape>();
        auto t = random_tensor<T, typename C::shape>();
        if constexpr (!std::is_same_v<L, mg::squared_error> && !std::is_same_v<L, mg::mse> &&
                      !std::is_same_v<L, mg::huber<>> && !std::is_same_v<L, mg::huber<std::ratio<1, 2>>>)  // targets are probabilities
            for (auto& v : t) v = v < 0 ? -v : v;
        const auto numeric = mg::numeric_gradient([&](const auto& q) { return L::value(q, t); }, p);
        BOOST_TEST(mg::max_scaled_error(L::gradient(p, t), numeric) < tolerance<T>);
    }
}

BOOST_AUTO_TEST_CASE(runtime_cross_entropy_is_stable_for_large_logits) {
    const mg::vector<double, 3> z{1000, 0, -1000};
    BOOST_TEST(mg::softmax_cross_entropy::value(z, mg::vector<double, 3>{1, 0, 0}) == 0.0);
    BOOST_TEST(mg::softmax_cross_entropy::value(z, mg::vector<double, 3>{0, 0, 1}) == 2000.0);
    const auto g = mg::softmax_cross_entropy::gradient(z, mg::vector<double, 3>{0, 0, 1});
    BOOST_TEST(g[0] == 1.0);
    BOOST_TEST(g[1] == 0.0);
    BOOST_TEST(g[2] == -1.0);
    const mg::vector<float, 2> zf{100.0f, -100.0f};
    const float lf = mg::softmax_cross_entropy::value(zf, mg::vector<float, 2>{0, 1});
    BOOST_TEST(lf == 200.0f);
    BOOST_TEST(std::isfinite(mg::softmax_cross_entropy::gradient(zf, mg::vector<float, 2>{0, 1})[0]));
}

BOOST_AUTO_TEST_CASE(runtime_batch_loss_is_mean_of_samples) {
    const auto p = random_tensor<double, mg::shape<4, 3>>();
    const auto t = random_tensor<double, mg::shape<4, 3>>();
    double total = 0;
    for (std::size_t r = 0; r < 4; ++r) {
        mg::vector<double, 3> pr, tr;
        for (std::size_t j = 0; j < 3; ++j) {
            pr[j] = p(r, j);
            tr[j] = t(r, j) < 0 ? -t(r, j) : t(r, j);
        }
        total += mg::softmax_cross_entropy::value(pr, tr);
    }
    const mg::matrix<double, 4, 3> t_abs = mg::abs(t);
    BOOST_TEST(mg::softmax_cross_entropy::value(p, t_abs) == total / 4, boost::test_tools::tolerance(1e-14));
}

// log_softmax then nll_loss is softmax cross-entropy, value and gradient with respect to the logits.
BOOST_AUTO_TEST_CASE(runtime_log_softmax_then_nll_is_cross_entropy) {
    using net = mg::network<mg::shape<4>, mg::log_softmax>;
    const auto z = random_tensor<double, mg::shape<3, 4>>();
    mg::tensor<double, mg::shape<3, 4>> t{};
    for (std::size_t r = 0; r < 3; ++r) t(r, (r + 1) % 4) = 1;
    const auto log_p = net::forward(net::parameters<double>{}, z);
    BOOST_TEST(mg::nll_loss::value(log_p, t) == mg::softmax_cross_entropy::value(z, t), boost::test_tools::tolerance(1e-14));
    const auto g = net::backward(net::parameters<double>{}, net::forward_trace(net::parameters<double>{}, z), mg::nll_loss::gradient(log_p, t));
    const auto want = mg::softmax_cross_entropy::gradient(z, t);
    for (std::size_t i = 0; i < 12; ++i) BOOST_TEST(std::abs(g.activations.input()[i] - want[i]) <= 1e-14);
}

BOOST_AUTO_TEST_SUITE_END()

// The training step's entry point gives what value and gradient give alone, bit for bit (one set
// of exponentials: vector ones for float at run time), and the float run time agrees with the
// double definition to float rounding.
BOOST_AUTO_TEST_CASE(runtime_cross_entropy_value_and_gradient_at_once) {
    const auto z = random_tensor<float, mg::shape<9, 10>>();
    mg::tensor<float, mg::shape<9, 10>> t;
    for (std::size_t r = 0; r < 9; ++r) t(r, (3 * r) % 10) = 1;
    mg::tensor<float, mg::shape<9, 10>> g;
    const float loss = mg::softmax_cross_entropy::value_and_gradient(z, t, g);
    BOOST_TEST(loss == mg::softmax_cross_entropy::value(z, t));
    BOOST_TEST((g == mg::softmax_cross_entropy::gradient(z, t)));
    const auto zd = mg::tensor<double, mg::shape<9, 10>>(z), td = mg::tensor<double, mg::shape<9, 10>>(t);
    BOOST_TEST(std::abs(static_cast<double>(loss) - mg::softmax_cross_entropy::value(zd, td)) <= 1e-6);
    const auto gd = mg::softmax_cross_entropy::gradient(zd, td);
    for (std::size_t i = 0; i < g.size; ++i) BOOST_TEST(std::abs(static_cast<double>(g[i]) - gd[i]) <= 1e-7);
}
