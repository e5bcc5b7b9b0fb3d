// Tests of include/metagrad/check/gradcheck.hpp: the checker accepts correct gradients and, more
// importantly, rejects wrong ones.
#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

namespace {
// A ReLU whose backward pass is wrong by a factor 1/2 for positive inputs.
struct broken_relu : mg::elementwise_activation<broken_relu> {
    template <class T>
    static constexpr T value(T x) {
        return x > 0 ? x : T{0};
    }
    template <class T>
    static constexpr T derivative(T x, T) {
        return x > 0 ? T{0.5} : T{0};
    }
};

// A dense layer that forgets the bias gradient.
template <std::size_t In, std::size_t Out>
struct dense_without_bias_gradient : mg::dense<In, Out> {
    template <class T, class S, class P>
    static constexpr mg::tensor<T, S> backward(const P& p, const mg::tensor<T, S>& x,
                                               const mg::tensor<T, mg::with_last<S, Out>>& y,
                                               const mg::tensor<T, mg::with_last<S, Out>>& dl_dy, P& dl_dp) {
        auto dx = mg::dense<In, Out>::backward(p, x, y, dl_dy, dl_dp);
        dl_dp.bias = mg::vector<T, Out>{};
        return dx;
    }
};

using good = mg::sequential<mg::dense<3, 4>, mg::relu, mg::dense<2>>;
using bad_activation = mg::sequential<mg::dense<3, 4>, broken_relu, mg::dense<2>>;
using bad_parameters = mg::sequential<dense_without_bias_gradient<3, 4>, mg::relu, mg::dense<2>>;

template <class Net>
constexpr double fixed_check() {
    typename Net::template parameters<double> p;
    double s = 0.4;
    mg::for_each_tensor([&](auto& w) {
        for (auto& v : w) {
            s = s * 1.61 + 0.29;
            s -= static_cast<int>(s);
            v = s - 0.3;  // mostly positive, so the ReLUs are active
        }
    }, p);
    return mg::gradcheck(p, mg::vector<double, 3>{0.7, 0.2, 0.9}, mg::vector<double, 2>{0.1, -0.2}, mg::squared_error{});
}
}  // namespace

static_assert(fixed_check<good>() < 1e-8);
static_assert(fixed_check<bad_activation>() > 1e-2);
static_assert(fixed_check<bad_parameters>() > 1e-2);

// The directional check: one random direction, cheap enough for an 8-16-16-1 MLP (433
// parameters) in a static_assert under both compilers' default constexpr limits, and it
// rejects the wrong gradients above as well.
namespace {
using mlp = mg::sequential<mg::dense<8, 16>, mg::tanh_layer, mg::dense<16>, mg::tanh_layer, mg::dense<1>>;
static_assert(mlp::parameter_count == 433);

template <class Net, std::size_t Batch, std::size_t In, std::size_t Out>
constexpr double directional_check(std::uint64_t seed = 1) {
    typename Net::template parameters<double> p;
    mg::random_generator g(3);
    mg::initialize(p, mg::glorot_uniform{}, g);
    for (auto& b : p.template layer<0>().bias) b = g.uniform<double>(0.05, 0.3);  // keeps ReLUs away from the kink
    mg::tensor<double, mg::shape<Batch, In>> x;
    mg::tensor<double, mg::shape<Batch, Out>> y;
    for (auto& v : x) v = g.uniform<double>(0.1, 1);
    for (auto& v : y) v = g.uniform<double>(-1, 1);
    return mg::directional_gradcheck(p, x, y, mg::mse{}, 1, seed);
}
}  // namespace

static_assert(directional_check<mlp, 4, 8, 1>() < 1e-8);
static_assert(directional_check<bad_activation, 2, 3, 2>() > 1e-3);
static_assert(directional_check<bad_parameters, 2, 3, 2>() > 1e-3);

BOOST_AUTO_TEST_CASE(runtime_directional_check_agrees_and_rejects) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        BOOST_TEST((directional_check<mlp, 4, 8, 1>(seed) < 1e-8));
        BOOST_TEST((directional_check<bad_activation, 2, 3, 2>(seed) > 1e-3));
        BOOST_TEST((directional_check<bad_parameters, 2, 3, 2>(seed) > 1e-3));
    }
}

BOOST_AUTO_TEST_SUITE(gradcheck)

BOOST_AUTO_TEST_CASE(runtime_rejects_wrong_gradients) {
    BOOST_TEST(fixed_check<good>() < 1e-8);
    BOOST_TEST(fixed_check<bad_activation>() > 1e-2);
    BOOST_TEST(fixed_check<bad_parameters>() > 1e-2);
}

BOOST_AUTO_TEST_CASE(runtime_numeric_gradient_of_a_known_function) {
    const mg::vector<double, 3> x{1.0, -2.0, 30.0};
    // 2x; a central difference is exact for a quadratic up to rounding: f ~ 900 here, so about
    // 900 eps / (2 h) = 1e-8 absolute.
    const auto g = mg::numeric_gradient([](const auto& v) { return mg::dot(v, v); }, x);
    BOOST_TEST(g[0] == 2.0, boost::test_tools::tolerance(1e-7));
    BOOST_TEST(g[1] == -4.0, boost::test_tools::tolerance(1e-7));
    BOOST_TEST(g[2] == 60.0, boost::test_tools::tolerance(1e-7));
}

BOOST_AUTO_TEST_CASE(runtime_scaled_error_is_relative_above_one_absolute_below) {
    BOOST_TEST(mg::max_scaled_error(mg::vector<double, 1>{100.0}, mg::vector<double, 1>{101.0}) ==
               1.0 / 101.0, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(mg::max_scaled_error(mg::vector<double, 1>{1e-3}, mg::vector<double, 1>{2e-3}) == 1e-3,
               boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_SUITE_END()
