// Tests of include/metagrad/eval/vector_math.hpp: the stated error bounds of the vector exp,
// tanh and logistic function against double-precision <cmath>, on a sweep of floats, and the
// activation layers' run-time path against their constant-evaluated definition.
#include <cmath>
#include <cstdint>
#include <cstring>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
namespace ev = metagrad::eval;

namespace {
/// Distance in units in the last place between `a` and the float nearest to `exact`.
std::int64_t ulps(float a, double exact) {
    const float e = static_cast<float>(exact);
    if (a == e) return 0;
    std::int32_t ia = 0, ie = 0;
    std::memcpy(&ia, &a, sizeof a);
    std::memcpy(&ie, &e, sizeof e);
    if ((ia < 0) != (ie < 0)) return 1 << 30;
    return ia > ie ? std::int64_t{ia} - ie : std::int64_t{ie} - ia;
}

template <class Vector, class Exact>
std::int64_t worst_on(float low, float high, Vector f, Exact exact) {
    std::int64_t worst = 0;
    const auto check = [&](float x) { worst = std::max(worst, ulps(f(ev::splat(x))[0], exact(static_cast<double>(x)))); };
    // A million evenly spaced points, and magnitudes from 2^-30 to 1 on both sides (where
    // cancellation would show).
    constexpr int points = 1000000;
    for (int k = 0; k <= points; ++k) check(low + (high - low) * static_cast<float>(k) / points);
    for (int k = 0; k < 100000; ++k) {
        const float m = std::ldexp(1.0f + static_cast<float>(k % 1000) / 1000, -(k / 1000) % 30 - 1);
        check(m);
        check(-m);
    }
    return worst;
}
}  // namespace

BOOST_AUTO_TEST_CASE(vector_functions_meet_their_stated_bounds) {
    const auto exp_error = worst_on(-87.0f, 88.0f, [](ev::simd<float> v) { return ev::exp(v); }, [](double x) { return std::exp(x); });
    const auto tanh_error = worst_on(-20.0f, 20.0f, [](ev::simd<float> v) { return ev::tanh(v); }, [](double x) { return std::tanh(x); });
    const auto sigmoid_error = worst_on(-20.0f, 20.0f, [](ev::simd<float> v) { return ev::sigmoid(v); },
                                        [](double x) { return 1 / (1 + std::exp(-x)); });
    BOOST_TEST_MESSAGE("exp " << exp_error << " ulp, tanh " << tanh_error << " ulp, sigmoid " << sigmoid_error << " ulp");
    BOOST_TEST(exp_error <= 1);
    // tanh is a rational function evaluated in float (eval/vector_math.hpp): its rounding errors
    // stay within 4 ulp when multiply-adds are fused, 6 when they are rounded twice (SSE2).
#if defined(__FMA__)
    BOOST_TEST(tanh_error <= 4);
#else
    BOOST_TEST(tanh_error <= 6);
#endif
    BOOST_TEST(sigmoid_error <= 2);
    // Saturation and odd symmetry.
    BOOST_TEST(ev::tanh(ev::splat(50.0f))[0] == 1.0f);
    BOOST_TEST(ev::tanh(ev::splat(-50.0f))[0] == -1.0f);
    BOOST_TEST(ev::tanh(ev::splat(-0.3f))[0] == -ev::tanh(ev::splat(0.3f))[0]);
}

BOOST_AUTO_TEST_CASE(activation_layers_use_them_at_run_time) {
    // 37 elements: whole vectors and a scalar tail. Run time (vector path) against the
    // constant-evaluated definition (math/), element by element.
    using S = mg::shape<37>;
    constexpr auto x = [] {
        mg::tensor<float, S> t;
        for (std::size_t i = 0; i < S::size; ++i) t[i] = -4.0f + 0.22f * static_cast<float>(i);
        return t;
    }();
    constexpr auto tanh_defined = mg::tanh_layer::forward(mg::no_parameters{}, x);
    constexpr auto sigmoid_defined = mg::sigmoid::forward(mg::no_parameters{}, x);
    const auto tanh_run = mg::tanh_layer::forward(mg::no_parameters{}, x);
    const auto sigmoid_run = mg::sigmoid::forward(mg::no_parameters{}, x);
    for (std::size_t i = 0; i < S::size; ++i) {
        BOOST_TEST(ulps(tanh_run[i], static_cast<double>(tanh_defined[i])) <= 7);  // 6 ulp, and the definition's rounding
        BOOST_TEST(ulps(sigmoid_run[i], static_cast<double>(sigmoid_defined[i])) <= 3);
    }
}

BOOST_AUTO_TEST_CASE(vector_square_roots_are_the_correctly_rounded_ones) {
    // Against the constant-evaluable math::sqrt, which is correctly rounded: equal bit for bit,
    // in float and double, over many magnitudes (and zero).
    mg::random_generator g(5);
    for (int round = 0; round < 2000; ++round) {
        mg::eval::simd<float> f;
        mg::eval::simd<double> d;
        for (std::size_t i = 0; i < mg::eval::lanes<float>; ++i)
            f[i] = round == 0 && i == 0 ? 0.0f : g.uniform<float>(0, 1) * std::ldexp(1.0f, static_cast<int>(round % 60) - 30);
        for (std::size_t i = 0; i < mg::eval::lanes<double>; ++i)
            d[i] = g.uniform<double>(0, 1) * std::ldexp(1.0, static_cast<int>(round % 200) - 100);
        const auto rf = mg::eval::sqrt<float>(f);
        const auto rd = mg::eval::sqrt<double>(d);
        for (std::size_t i = 0; i < mg::eval::lanes<float>; ++i) BOOST_REQUIRE(rf[i] == mg::math::sqrt(f[i]));
        for (std::size_t i = 0; i < mg::eval::lanes<double>; ++i) BOOST_REQUIRE(rd[i] == mg::math::sqrt(d[i]));
    }
}
