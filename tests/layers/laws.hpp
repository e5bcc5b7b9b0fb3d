// The laws every layer obeys, written once (included by laws.cpp and laws_images.cpp, each of
// which lists its layers as `layer_cases` before including this): generated gradients equal finite
// differences (parameters and input, float and double, several shapes); the backward pass is the
// transpose of the forward linearization (dot-product test); a batch is its samples side by side;
// output shapes follow the layer's shape algebra; NaN propagates as PyTorch's layers propagate it.
// Two translation units, so that the suite's builds compile them side by side.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>
#include <type_traits>

#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

#include "laws_case.hpp"

// One batch extent for every law (9 rows: whole vectors and a scalar tail at every element type
// and width), so that each case instantiates its passes on two input shapes, a sample and this
// batch, in each mode: the laws' compile time is most of the suite's.
constexpr std::size_t batch = 9;

BOOST_AUTO_TEST_SUITE(layer_laws)

BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_shape_traits, C, layer_cases) {
    static_assert(mg::layer<typename C::layer>);
    static_assert(std::is_same_v<typename C::net::output_shape, typename C::expected_output>);
    // Layers are declared for samples; the network gives a batch's outputs a batch extent.
    using batch_output = decltype(C::net::forward(std::declval<const typename C::net::template parameters<typename C::value_type>&>(),
                                                  std::declval<const mg::tensor<typename C::value_type, mg::batch_of<batch, typename C::sample_shape>>&>()));
    static_assert(std::is_same_v<batch_output, mg::tensor<typename C::value_type, mg::batch_of<batch, typename C::expected_output>>>);
    BOOST_TEST(C::net::valid);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_gradients_match_finite_differences, C, layer_cases) {
    using T = typename C::value_type;
    using net = typename C::net;
    for (int trial = 0; trial < 5; ++trial) {
        const auto p = random_parameters<net, T>();
        // Inputs away from 0 so that no finite difference straddles a ReLU kink.
        const auto x = random_tensor<T, typename C::sample_shape>(T(0.05));
        const auto w = random_tensor<T, typename net::output_shape>();
        BOOST_TEST(mg::gradcheck(p, x, w, probe_loss{}) < tolerance<T>);
        const auto xb = random_tensor<T, mg::batch_of<batch, typename C::sample_shape>>(T(0.05));
        const auto wb = random_tensor<T, mg::batch_of<batch, typename net::output_shape>>();
        BOOST_TEST(mg::gradcheck(p, xb, wb, probe_loss{}) < tolerance<T>);
    }
}

template <class C>
void check_dot_product() {
    using net = typename C::net;
    using S = typename C::sample_shape;
    const auto p = random_parameters<net, double>();
    const auto x = random_tensor<double, S>(0.05);
    const auto v = random_tensor<double, S>();
    const auto w = random_tensor<double, typename net::output_shape>();
    const double h = 1e-6;
    const mg::tensor<double, S> x_up = x + h * v, x_down = x - h * v;
    // Both sides in training mode (dropout's mask, batch norm's batch statistics).
    const double jv_w = mg::dot((net::template forward<mg::training_mode>(p, x_up) - net::template forward<mg::training_mode>(p, x_down)) / (2 * h), w);
    const auto g = net::backward(p, net::forward_trace(p, x), w);
    const double v_jtw = mg::dot(v, g.activations.input());
    // Scaled as gradcheck scales: a relative tolerance alone fails on products near zero.
    BOOST_TEST(std::abs(jv_w - v_jtw) <= 1e-8 * std::max({1.0, std::abs(jv_w), std::abs(v_jtw)}), jv_w << " against " << v_jtw);
}

// <J v, w> = <v, J^T w>: J v by a central difference along a random direction v, J^T w by the
// backward pass. On the double cases, so that the finite difference is precise (a float case's
// gradients are checked against finite differences in float above; running it in double as well
// would instantiate its passes a second time).
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_dot_product_test, C, layer_cases) {
    if constexpr (std::is_same_v<typename C::value_type, double>) check_dot_product<C>();
}

// In inference a batch is its samples side by side: outputs row by row, input gradients row by
// row, and the parameter gradients summed over rows, to rounding (a batch and a sample take
// different kernels). (In training, dropout's mask and batch norm's statistics are the batch's own.)
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_batch_is_samples_side_by_side, C, layer_cases) {
    using T = typename C::value_type;
    constexpr double close = std::is_same_v<T, double> ? 1e-13 : 2e-5;
    // Scaled as gradcheck scales: a relative tolerance alone fails on values near zero.
    const auto near = [](double a, double b) { return std::abs(a - b) <= close * std::max({1.0, std::abs(a), std::abs(b)}); };
    using net = typename C::net;
    using S = typename C::sample_shape;
    using O = typename net::output_shape;
    using inference = mg::inference_mode;
    auto p = random_parameters<net, T>();
    randomize_state(p);
    const auto xb = random_tensor<T, mg::batch_of<batch, S>>(0.05);
    const auto wb = random_tensor<T, mg::batch_of<batch, O>>();
    const auto gb = net::template backward<inference>(p, net::template forward_trace<inference>(p, xb), wb);
    const auto yb = net::forward(p, xb);
    typename net::template parameters<T> summed;
    mg::for_each_tensor([](auto& t) { t = {}; }, summed);  // batch norm's scale starts at 1
    for (std::size_t r = 0; r < batch; ++r) {
        mg::tensor<T, S> x;
        mg::tensor<T, O> w;
        for (std::size_t i = 0; i < S::size; ++i) x[i] = xb[r * S::size + i];
        for (std::size_t i = 0; i < O::size; ++i) w[i] = wb[r * O::size + i];
        const auto y = net::forward(p, x);
        const auto g = net::template backward<inference>(p, net::template forward_trace<inference>(p, x), w);
        for (std::size_t i = 0; i < O::size; ++i) BOOST_TEST(near(y[i], yb[r * O::size + i]), y[i] << " alone, " << yb[r * O::size + i] << " in a batch");
        for (std::size_t i = 0; i < S::size; ++i)
            BOOST_TEST(near(g.activations.input()[i], gb.activations.input()[r * S::size + i]), "dl/dx " << i);
        mg::for_each_tensor([](auto& total, const auto& part) { total = total + part; }, summed, g.parameters);
    }
    BOOST_TEST(mg::max_scaled_error(summed, gb.parameters) < close);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Non-finite values -------------------------------------------------------------------------
// A NaN anywhere must stay visible: a layer that turned a NaN into a number (relu did: NaN > 0 is
// false, so it gave 0) lets one bad feature corrupt the weights while every printed loss stays
// finite. The laws below run at run time, where the vector paths and the kernels run.

namespace {
template <class T>
bool same_value(T a, T b) {  // bit for bit up to NaN payloads: NaN where the other has NaN, the sign of zero kept
    return std::isnan(a) ? std::isnan(b) : a == b && std::signbit(a) == std::signbit(b);
}
// Rows 1, 4 and 7 of the batch get a non-finite value (at the first, last and middle feature).
constexpr std::size_t law_batch = batch;
// Row `row` of a tensor of `Rows` rows (a sample's elements, whatever its shape).
template <std::size_t Rows = law_batch, class T, class S>
bool row_has_nan(const mg::tensor<T, S>& t, std::size_t row) {
    constexpr std::size_t width = S::size / Rows;
    for (std::size_t i = 0; i < width; ++i)
        if (std::isnan(t[row * width + i])) return true;
    return false;
}
template <class T, class S>
bool rows_equal(const mg::tensor<T, S>& a, const mg::tensor<T, S>& b, std::size_t row) {
    constexpr std::size_t width = S::size / law_batch;
    for (std::size_t i = 0; i < width; ++i)
        if (!same_value(a[row * width + i], b[row * width + i])) return false;
    return true;
}
constexpr bool touched(std::size_t row) { return row == 1 || row == 4 || row == 7; }
template <std::size_t Width>
constexpr std::size_t touched_feature(std::size_t row) {
    return row == 1 ? 0 : row == 4 ? Width - 1 : Width / 2;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(layer_laws)

// NaN in a sample's input gives NaN in that sample's output, and leaves the other samples' outputs
// as they were, bit for bit.
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_nan_in_the_input_reaches_the_output, C, layer_cases) {
    using T = typename C::value_type;
    using net = typename C::net;
    using S = typename C::sample_shape;
    const auto p = random_parameters<net, T>();
    const auto x = random_tensor<T, mg::batch_of<law_batch, S>>(T(0.05));
    auto bad = x;
    for (std::size_t r = 0; r < law_batch; ++r)
        if (touched(r)) bad[r * S::size + touched_feature<S::size>(r)] = std::numeric_limits<T>::quiet_NaN();
    const auto y = net::forward(p, x), y_bad = net::forward(p, bad);
    for (std::size_t r = 0; r < law_batch; ++r)
        BOOST_TEST((touched(r) ? row_has_nan(y_bad, r) : rows_equal(y, y_bad, r)), "row " << r);
}

// NaN in dl/dy gives NaN in that sample's dl/dx (0 * NaN is NaN: a zero derivative does not hide
// it) and in the parameters' gradients; in inference it leaves the other samples' dl/dx as they
// were (in training, batch norm's dl/dx gathers the whole batch: NaN reaches every sample; a
// layer that drops gradients by design, laws_case.hpp, is exempt in training).
template <class Mode, class C>
void check_nan_in_the_output_gradient() {
    using T = typename C::value_type;
    using net = typename C::net;
    using S = typename C::sample_shape;
    using O = typename net::output_shape;
    const auto p = random_parameters<net, T>();
    const auto x = random_tensor<T, mg::batch_of<law_batch, S>>(T(0.05));
    const auto w = random_tensor<T, mg::batch_of<law_batch, O>>();
    auto bad = w;
    for (std::size_t r = 0; r < law_batch; ++r)
        if (touched(r)) bad[r * O::size + touched_feature<O::size>(r)] = std::numeric_limits<T>::quiet_NaN();
    const auto trace = net::template forward_trace<Mode>(p, x);
    const auto g = net::template backward<Mode>(p, trace, w), g_bad = net::template backward<Mode>(p, trace, bad);
    for (std::size_t r = 0; r < law_batch; ++r) {
        if (touched(r)) {
            if (std::is_same_v<Mode, mg::inference_mode> || !drops_gradients_in_training<typename C::layer>)
                BOOST_TEST(row_has_nan(g_bad.activations.input(), r), "row " << r);
        }
        else if constexpr (std::is_same_v<Mode, mg::inference_mode>)
            BOOST_TEST(rows_equal(g.activations.input(), g_bad.activations.input(), r), "row " << r);
    }
    std::size_t tensors = 0, tensors_with_nan = 0;
    mg::for_each_tensor(
        [&](const auto& t) {
            ++tensors;
            bool any = false;
            for (const auto v : t) any = any || std::isnan(v);
            tensors_with_nan += any;
        },
        g_bad.parameters);
    BOOST_TEST(tensors_with_nan == tensors);
}
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_nan_in_the_output_gradient_reaches_the_input_gradient, C, layer_cases) {
    check_nan_in_the_output_gradient<mg::inference_mode, C>();
    check_nan_in_the_output_gradient<mg::training_mode, C>();
}

// Infinities and NaN in a batch give, row by row, what the layer gives each sample alone (a
// batch and a sample take different paths: whole vectors or a scalar tail, batch or sample
// kernels): NaN where it gives NaN, the same infinities, finite values within the vector
// functions' stated error.
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_non_finite_batches_are_their_samples_side_by_side, C, layer_cases) {
    using T = typename C::value_type;
    using net = typename C::net;
    using S = typename C::sample_shape;
    using O = typename net::output_shape;
    constexpr T inf = std::numeric_limits<T>::infinity();
    const auto p = random_parameters<net, T>();
    auto xb = random_tensor<T, mg::batch_of<law_batch, S>>(T(0.05));
    for (std::size_t r = 0; r < law_batch; ++r) {
        const std::size_t at = r * S::size + (r * 5) % S::size;
        xb[at] = r % 3 == 0 ? inf : r % 3 == 1 ? -inf : std::numeric_limits<T>::quiet_NaN();
        if (r == 2) xb[r * S::size + S::size - 1] = T(1e30);  // large, but finite
    }
    const auto yb = net::forward(p, xb);
    for (std::size_t r = 0; r < law_batch; ++r) {
        mg::tensor<T, S> x;
        for (std::size_t i = 0; i < S::size; ++i) x[i] = xb[r * S::size + i];
        const auto y = net::forward(p, x);
        for (std::size_t i = 0; i < O::size; ++i) {
            const T a = yb[r * O::size + i], b = y[i];
            const bool agree = std::isfinite(a) && std::isfinite(b)
                                   ? std::abs(a - b) <= T(1e-6) * std::max({T(1), std::abs(a), std::abs(b)})
                                   : same_value(a, b);
            BOOST_TEST(agree, "row " << r << ", output " << i << ": " << a << " in the batch, " << b << " alone");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Constant evaluation: the same laws as static_asserts, on fixed small inputs ----------------
namespace {
template <class Layer, class S, class X = S>  // X: S, or a batch of S
constexpr double compile_time_gradcheck() {
    using net = mg::network<S, Layer>;
    typename net::template parameters<double> p;
    double seed = 0.3;
    const auto next = [&seed] {
        seed = seed * 1.7 + 0.31;
        seed -= static_cast<int>(seed);
        return seed - 0.5;  // in [-0.5, 0.5)
    };
    mg::for_each_tensor([&](auto& w) { for (auto& v : w) v = next(); }, p);
    mg::tensor<double, X> x;
    for (auto& v : x) v = next() + (next() > 0 ? 0.1 : -0.1);
    mg::tensor<double, mg::with_batch_of_shape<X, S, typename net::output_shape>> w;
    for (auto& v : w) v = next();
    return mg::gradcheck(p, x, w, probe_loss{});
}
}  // namespace
