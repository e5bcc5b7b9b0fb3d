// Tests of include/metagrad/eval/vector_math.hpp: the stated error bounds of the vector exp,
// tanh and logistic function against double-precision <cmath> and against the scalar path, on a
// sweep of the whole float range (tails, denormal results, infinities and NaN included); square
// roots likewise, bit for bit; and the activation layers' run-time path against their
// constant-evaluated definition.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
namespace ev = metagrad::eval;

namespace {
/// A float's place in the ordered sequence of all floats (-0 and +0 share one, infinities are
/// the neighbours of the largest finite floats), so that the difference of two places counts the
/// floats between them: units in the last place, denormals included.
std::int64_t place(float a) {
    std::int32_t bits = 0;
    std::memcpy(&bits, &a, sizeof a);
    return bits < 0 ? -std::int64_t{bits & 0x7fffffff} : std::int64_t{bits};
}

constexpr std::int64_t far_apart = std::int64_t{1} << 40;

/// Distance in units in the last place between `a` and the float nearest to `exact`; two NaNs
/// are 0 apart, a NaN and a number (or infinity) are `far_apart`.
std::int64_t ulps(float a, double exact) {
    const float e = static_cast<float>(exact);
    if (std::isnan(a) || std::isnan(e)) return std::isnan(a) && std::isnan(e) ? 0 : far_apart;
    const std::int64_t d = place(a) - place(e);
    return d < 0 ? -d : d;
}

/// Every element of `xs`, a vector of them at a time (each lane a different input): the worst
/// distance of the vector function from the reference (double <cmath>) and from the scalar path
/// (math/, which element-wise layers use for constant evaluation and for the tail of a tensor),
/// and the input where the worst was seen.
struct worst {
    std::int64_t reference = 0, scalar = 0;
    float at_reference = 0, at_scalar = 0;
};
template <class Vector, class Scalar, class Exact>
worst measure(const std::vector<float>& xs, Vector f, Scalar scalar, Exact exact) {
    worst w;
    constexpr std::size_t n = ev::lanes<float>;
    for (std::size_t i = 0; i < xs.size(); i += n) {
        ev::simd<float> v;
        for (std::size_t j = 0; j < n; ++j) v[j] = xs[std::min(i + j, xs.size() - 1)];
        const ev::simd<float> y = f(v);
        for (std::size_t j = 0; j < n; ++j) {
            const float x = v[j];
            const std::int64_t to_reference = ulps(y[j], exact(static_cast<double>(x)));
            const std::int64_t to_scalar = ulps(y[j], static_cast<double>(scalar(x)));
            if (to_reference > w.reference) w.reference = to_reference, w.at_reference = x;
            if (to_scalar > w.scalar) w.scalar = to_scalar, w.at_scalar = x;
        }
    }
    return w;
}

/// The inputs of the sweep: every 4093rd float of all 2^32 bit patterns (about 2,000 in every binade of
/// both signs, denormals, infinities and NaNs), a million evenly spaced points in [low, high] and in
/// each tail where a function saturates, over- or underflows ([-110, -80] and [80, 110]),
/// magnitudes from 2^-30 to 1 on both sides (where cancellation would show), and the special
/// values by name.
std::vector<float> sweep(float low, float high) {
    std::vector<float> xs;
    for (std::uint64_t u = 0; u < (std::uint64_t{1} << 32); u += 4093) {
        const auto bits = static_cast<std::uint32_t>(u);
        float x = 0;
        std::memcpy(&x, &bits, sizeof x);
        xs.push_back(x);
    }
    const auto evenly = [&](float a, float b, int points) {
        for (int k = 0; k <= points; ++k) xs.push_back(a + (b - a) * static_cast<float>(k) / static_cast<float>(points));
    };
    evenly(low, high, 1000000);
    evenly(-110.0f, -80.0f, 300000);
    evenly(80.0f, 110.0f, 300000);
    for (int k = 0; k < 100000; ++k) {
        const float m = std::ldexp(1.0f + static_cast<float>(k % 1000) / 1000, -(k / 1000) % 30 - 1);
        xs.push_back(m);
        xs.push_back(-m);
    }
    using limits = std::numeric_limits<float>;
    for (const float x : {0.0f, limits::denorm_min(), limits::min(), limits::max(), limits::infinity(), 88.72283f, 88.72284f,
                          87.33654f, 103.97208f, 103.97209f, 104.0f, 89.0f, 9.02f, 50.0f})
        xs.push_back(x), xs.push_back(-x);
    xs.push_back(limits::quiet_NaN());
    xs.push_back(-limits::quiet_NaN());
    return xs;
}

double sigmoid_reference(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
}  // namespace

// Each vector function over the whole float range, tails included, against double <cmath> (the
// stated bound) and against the scalar path (the bound and the scalar's own rounding: math/'s
// float functions are within 1 ulp): the same input gives the same value, within those bounds,
// whether it lands in a vector or in a tensor's scalar tail. NaN gives NaN everywhere.
BOOST_AUTO_TEST_CASE(vector_functions_meet_their_stated_bounds_over_the_whole_float_range) {
    const auto exp_error = measure(sweep(-87.0f, 88.0f), [](ev::simd<float> v) { return ev::exp(v); },
                                   [](float x) { return mg::math::exp(x); }, [](double x) { return std::exp(x); });
    const auto tanh_error = measure(sweep(-20.0f, 20.0f), [](ev::simd<float> v) { return ev::tanh(v); },
                                    [](float x) { return mg::math::tanh(x); }, [](double x) { return std::tanh(x); });
    const auto sigmoid_error = measure(sweep(-20.0f, 20.0f), [](ev::simd<float> v) { return ev::sigmoid(v); },
                                       [](float x) { return mg::sigmoid::value(x); }, sigmoid_reference);
    for (const auto& [name, w] : {std::pair{"exp", exp_error}, std::pair{"tanh", tanh_error}, std::pair{"sigmoid", sigmoid_error}})
        BOOST_TEST_MESSAGE(name << ": " << w.reference << " ulp from <cmath> (at " << w.at_reference << "), " << w.scalar
                                << " from the scalar path (at " << w.at_scalar << ")");
    BOOST_TEST(exp_error.reference <= 1);
    BOOST_TEST(exp_error.scalar <= 2);
    // tanh is a rational function evaluated in float (eval/vector_math.hpp): its rounding errors
    // stay within 4 ulp when multiply-adds are fused, 6 when they are rounded twice (SSE2).
#if defined(__FMA__)
    BOOST_TEST(tanh_error.reference <= 4);
    BOOST_TEST(tanh_error.scalar <= 5);
#else
    BOOST_TEST(tanh_error.reference <= 6);
    BOOST_TEST(tanh_error.scalar <= 7);
#endif
    BOOST_TEST(sigmoid_error.reference <= 2);
    BOOST_TEST(sigmoid_error.scalar <= 3);
    // Saturation, limits and odd symmetry, exactly.
    const float inf = std::numeric_limits<float>::infinity();
    BOOST_TEST(ev::tanh(ev::splat(50.0f))[0] == 1.0f);
    BOOST_TEST(ev::tanh(ev::splat(-50.0f))[0] == -1.0f);
    BOOST_TEST(ev::tanh(ev::splat(-0.3f))[0] == -ev::tanh(ev::splat(0.3f))[0]);
    BOOST_TEST(ev::exp(ev::splat(inf))[0] == inf);
    BOOST_TEST(ev::exp(ev::splat(89.0f))[0] == inf);
    BOOST_TEST(ev::exp(ev::splat(-inf))[0] == 0.0f);
    BOOST_TEST(ev::sigmoid(ev::splat(-inf))[0] == 0.0f);
    BOOST_TEST(ev::sigmoid(ev::splat(inf))[0] == 1.0f);
    BOOST_TEST(ev::tanh(ev::splat(-inf))[0] == -1.0f);
    BOOST_TEST(std::isnan(ev::exp(ev::splat(std::numeric_limits<float>::quiet_NaN()))[0]));
}

// The finding: float sigmoid at run time gave 6.05e-39 for every x below -88 in whole vectors,
// while the scalar tail gave the true value, so equal inputs in one layer differed. e^-100 is
// 3.72e-44, a denormal; e^-87.5 is 1.0e-38, just below the smallest normal float.
BOOST_AUTO_TEST_CASE(sigmoid_is_right_in_its_denormal_tail) {
    BOOST_TEST(ulps(ev::sigmoid(ev::splat(-100.0f))[0], std::exp(-100.0)) <= 1);
    BOOST_TEST(ulps(ev::sigmoid(ev::splat(-87.5f))[0], std::exp(-87.5)) <= 1);
    BOOST_TEST(ulps(ev::exp(ev::splat(-100.0f))[0], std::exp(-100.0)) <= 1);
    BOOST_TEST(ulps(ev::exp(ev::splat(88.5f))[0], std::exp(88.5)) <= 1);  // 2.7e38: near the largest float
    // One layer, equal inputs in its vectors and in its tail: equal outputs.
    using S = mg::shape<37>;
    for (const float x : {-100.0f, -95.0f, -90.0f, -88.5f, -87.5f, -110.0f, 95.0f}) {
        mg::tensor<float, S> t;
        for (auto& v : t) v = x;
        const auto y = mg::sigmoid::forward(mg::no_parameters{}, t);
        for (std::size_t i = 0; i < S::size; ++i) BOOST_TEST(y[i] == y[S::size - 1], "sigmoid(" << x << ") at " << i);
        BOOST_TEST(ulps(y[0], sigmoid_reference(static_cast<double>(x))) <= 1);
    }
}

namespace {
// 37 elements: whole vectors and a scalar tail (for every vector width here).
using S37 = mg::shape<37>;
template <class Layer>
void check_run_time_against_definition(const mg::tensor<float, S37>& x, const mg::tensor<float, S37>& defined, std::int64_t bound) {
    const auto run = Layer::forward(mg::no_parameters{}, x);
    for (std::size_t i = 0; i < S37::size; ++i)
        BOOST_TEST(ulps(run[i], static_cast<double>(defined[i])) <= bound, Layer::name << "(" << x[i] << "): " << run[i] << " at run time, "
                                                                                        << defined[i] << " by definition");
}
}  // namespace

BOOST_AUTO_TEST_CASE(activation_layers_use_them_at_run_time) {
    // Run time (vector path) against the constant-evaluated definition (math/), element by
    // element: on ordinary inputs, and on the tails, infinities and NaN, in the vectors and in the
    // tail alike.
    constexpr auto x = [] {
        mg::tensor<float, S37> t;
        for (std::size_t i = 0; i < S37::size; ++i) t[i] = -4.0f + 0.22f * static_cast<float>(i);
        return t;
    }();
    constexpr auto extremes = [] {
        using limits = std::numeric_limits<float>;
        constexpr float values[] = {-100.0f, -88.5f, -87.5f, -104.5f, 95.0f, 88.8f, -limits::infinity(), limits::infinity(),
                                    limits::quiet_NaN(), -limits::max(), limits::max(), limits::denorm_min(), -0.0f, 9.5f, -30.0f};
        mg::tensor<float, S37> t;
        for (std::size_t i = 0; i < S37::size; ++i) t[i] = values[(i * 7) % std::size(values)];
        return t;
    }();
    // 6 ulp (tanh) or 2 (sigmoid), and the definition's rounding.
    check_run_time_against_definition<mg::tanh_layer>(x, mg::tanh_layer::forward(mg::no_parameters{}, x), 7);
    check_run_time_against_definition<mg::sigmoid>(x, mg::sigmoid::forward(mg::no_parameters{}, x), 3);
    constexpr auto tanh_extremes = mg::tanh_layer::forward(mg::no_parameters{}, extremes);
    constexpr auto sigmoid_extremes = mg::sigmoid::forward(mg::no_parameters{}, extremes);
    check_run_time_against_definition<mg::tanh_layer>(extremes, tanh_extremes, 7);
    check_run_time_against_definition<mg::sigmoid>(extremes, sigmoid_extremes, 3);
}

// A value's image does not depend on where it lies in the tensor: the tail past the last whole
// vector goes through the vector form too (the scalar form rounds otherwise, and a stream's step
// then differed from a pass over the whole sequence in the last bit).
BOOST_AUTO_TEST_CASE(activation_layers_give_equal_inputs_equal_outputs_in_the_tail_too) {
    std::size_t differ = 0;
    for (float x = -10.0f; x < 10.0f; x += 0.0371f) {
        mg::tensor<float, S37> same;
        same.data.fill(x);
        const auto t = mg::tanh_layer::forward(mg::no_parameters{}, same);
        const auto s = mg::sigmoid::forward(mg::no_parameters{}, same);
        for (std::size_t i = 0; i < S37::size; ++i) differ += !(t[i] == t[0]) + !(s[i] == s[0]);
    }
    BOOST_TEST(differ == 0u);
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

// Over the whole range too: every 4093rd float pattern (negative ones give NaN, as std::sqrt does),
// and a sample of doubles' patterns, against std::sqrt, bit for bit.
BOOST_AUTO_TEST_CASE(vector_square_roots_are_right_over_the_whole_range) {
    const std::vector<float> xs = sweep(0.0f, 1.0f);
    std::size_t wrong = 0;
    constexpr std::size_t n = mg::eval::lanes<float>;
    for (std::size_t i = 0; i + n <= xs.size(); i += n) {
        mg::eval::simd<float> v;
        for (std::size_t j = 0; j < n; ++j) v[j] = xs[i + j];
        const auto r = mg::eval::sqrt<float>(v);
        for (std::size_t j = 0; j < n; ++j) wrong += ulps(r[j], static_cast<double>(std::sqrt(v[j]))) != 0;
    }
    std::uint64_t bits = 0x9e3779b97f4a7c15u;
    for (int round = 0; round < 200000; ++round) {
        mg::eval::simd<double> d;
        for (std::size_t j = 0; j < mg::eval::lanes<double>; ++j) {
            bits = bits * 6364136223846793005u + 1442695040888963407u;
            double v = 0;
            std::memcpy(&v, &bits, sizeof bits);
            d[j] = v;
        }
        const auto r = mg::eval::sqrt<double>(d);
        for (std::size_t j = 0; j < mg::eval::lanes<double>; ++j)
            wrong += std::isnan(r[j]) ? !std::isnan(std::sqrt(d[j])) : r[j] != std::sqrt(d[j]);
    }
    BOOST_TEST(wrong == 0u);
}
