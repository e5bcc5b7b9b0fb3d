// The laws every layer obeys, stated once and applied to every layer type (include/metagrad/layers/):
// generated gradients equal finite differences (parameters and input, float and double, several
// shapes); the backward pass is the transpose of the forward linearization (dot-product test);
// a batch is its samples side by side; output shapes follow the layer's shape algebra; NaN and
// infinities propagate as PyTorch's layers propagate them, on every path (vectors, scalar tails,
// the dense layer's fused ReLU); and all of it is constant-evaluable, non-finite values included
// where the compilers allow them.
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

template <class Layer, class SampleShape, class T, class ExpectedOutput>
struct layer_case {
    using layer = Layer;
    using sample_shape = SampleShape;
    using value_type = T;
    using expected_output = ExpectedOutput;
    using net = mg::network<SampleShape, Layer>;
};

// Adding a layer to this list is its test plan. (A std::tuple: boost::mpl::list stops at 20 types.)
using layer_cases = std::tuple<
    layer_case<mg::dense<4, 3>, mg::shape<4>, double, mg::shape<3>>,
    layer_case<mg::dense<4, 3>, mg::shape<4>, float, mg::shape<3>>,
    layer_case<mg::dense<7>, mg::shape<5>, double, mg::shape<7>>,
    layer_case<mg::dense<1>, mg::shape<9>, float, mg::shape<1>>,
    layer_case<mg::identity, mg::shape<2, 3>, double, mg::shape<2, 3>>,
    layer_case<mg::input<6>, mg::shape<6>, float, mg::shape<6>>,
    layer_case<mg::relu, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::relu, mg::shape<3, 4>, float, mg::shape<3, 4>>,
    layer_case<mg::leaky_relu<>, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::leaky_relu<std::ratio<1, 5>>, mg::shape<5>, float, mg::shape<5>>,
    layer_case<mg::sigmoid, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::sigmoid, mg::shape<4>, float, mg::shape<4>>,
    layer_case<mg::tanh_layer, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::tanh_layer, mg::shape<2, 5>, float, mg::shape<2, 5>>,
    layer_case<mg::softmax, mg::shape<5>, double, mg::shape<5>>,
    layer_case<mg::softmax, mg::shape<3>, float, mg::shape<3>>,
    layer_case<mg::dropout<>, mg::shape<6>, double, mg::shape<6>>,
    layer_case<mg::dropout<std::ratio<1, 5>>, mg::shape<3, 4>, float, mg::shape<3, 4>>,
    // Batch norm trains on the batch's statistics: its cases have several values per feature
    // in a sample (spatial axes before the features), so one sample can train too.
    layer_case<mg::batch_norm<>, mg::shape<3, 4>, double, mg::shape<3, 4>>,
    layer_case<mg::batch_norm<std::ratio<1, 4>, std::ratio<1, 1000>>, mg::shape<2, 2, 3>, float, mg::shape<2, 2, 3>>,
    // Layers made of layers: a chain, residual blocks with the identity and with a projection,
    // and one whose body has state, a cache and random numbers.
    layer_case<mg::chain<mg::dense<5>, mg::tanh_layer, mg::dense<3>>, mg::shape<4>, double, mg::shape<3>>,
    layer_case<mg::residual<mg::chain<mg::dense<4>, mg::tanh_layer, mg::dense<4>>>, mg::shape<4>, float, mg::shape<4>>,
    layer_case<mg::residual<mg::chain<mg::dense<3>, mg::sigmoid>, mg::dense<3>>, mg::shape<5>, double, mg::shape<3>>,
    layer_case<mg::residual<mg::chain<mg::batch_norm<>, mg::tanh_layer, mg::dropout<std::ratio<1, 4>>>>, mg::shape<3, 4>, double,
               mg::shape<3, 4>>,
    layer_case<mg::parallel<mg::merge::sum, mg::dense<3>, mg::chain<mg::dense<4>, mg::tanh_layer, mg::dense<3>>>, mg::shape<5>, double,
               mg::shape<3>>,
    layer_case<mg::parallel<mg::merge::concatenate, mg::dense<2>, mg::identity, mg::chain<mg::dense<3>, mg::sigmoid>>, mg::shape<4>, float,
               mg::shape<9>>,
    // Convolutions: padding, strides and dilations that differ by axis, groups, a pointwise
    // kernel (no patches copied), depthwise without bias, one dimension.
    layer_case<mg::conv2d<2, mg::kernel<3>, mg::padding<1>>, mg::shape<4, 4, 3>, double, mg::shape<4, 4, 2>>,
    layer_case<mg::conv2d<3, mg::kernel<2, 3>, mg::stride<2, 1>, mg::dilation<1, 2>>, mg::shape<4, 6, 2>, float, mg::shape<2, 2, 3>>,
    layer_case<mg::conv2d<4, mg::kernel<3>, mg::groups<2>, mg::padding<1>, mg::stride<2>>, mg::shape<5, 5, 2>, double, mg::shape<3, 3, 4>>,
    layer_case<mg::conv2d<3, mg::kernel<1>>, mg::shape<2, 3, 4>, float, mg::shape<2, 3, 3>>,
    layer_case<mg::conv2d<3, mg::kernel<3>, mg::groups<3>, mg::without_bias>, mg::shape<3, 3, 3>, double, mg::shape<1, 1, 3>>,
    layer_case<mg::conv1d<3, mg::kernel<3>, mg::padding<2>, mg::dilation<2>>, mg::shape<5, 2>, double, mg::shape<5, 3>>,
    // Pooling (windows that cover every input, so that NaN anywhere reaches an output), flatten.
    // Max pooling in double: a float finite difference crosses from one maximum to another.
    layer_case<mg::max_pool2d<mg::kernel<2>>, mg::shape<4, 4, 2>, double, mg::shape<2, 2, 2>>,
    layer_case<mg::max_pool2d<mg::kernel<3>, mg::stride<2>, mg::padding<1>>, mg::shape<5, 5, 1>, double, mg::shape<3, 3, 1>>,
    layer_case<mg::avg_pool2d<mg::kernel<2>, mg::stride<1>>, mg::shape<3, 3, 2>, double, mg::shape<2, 2, 2>>,
    layer_case<mg::max_pool1d<mg::kernel<2>>, mg::shape<6, 3>, double, mg::shape<3, 3>>,
    layer_case<mg::avg_pool1d<mg::kernel<3>, mg::padding<1>, mg::stride<2>>, mg::shape<5, 2>, double, mg::shape<3, 2>>,
    layer_case<mg::global_avg_pool, mg::shape<3, 3, 2>, double, mg::shape<2>>,
    layer_case<mg::flatten, mg::shape<2, 3, 2>, float, mg::shape<12>>,
    layer_case<mg::random_flip, mg::shape<3, 4, 2>, double, mg::shape<3, 4, 2>>>;

constexpr std::size_t batch = 3;

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

// <J v, w> = <v, J^T w>: J v by a central difference along a random direction v, J^T w by the
// backward pass. Computed in double (the float cases' shapes and layers, run in double) so that
// the finite difference is precise.
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_dot_product_test, C, layer_cases) {
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

// In inference a batch is its samples side by side: outputs row by row, input gradients row by
// row, and the parameter gradients summed over rows. (In training, dropout's mask and batch
// norm's statistics are the batch's own.)
BOOST_AUTO_TEST_CASE_TEMPLATE(runtime_batch_is_samples_side_by_side, C, layer_cases) {
    using T = double;
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
        for (std::size_t i = 0; i < O::size; ++i) BOOST_TEST(y[i] == yb[r * O::size + i], boost::test_tools::tolerance(1e-14));
        for (std::size_t i = 0; i < S::size; ++i)
            BOOST_TEST(g.activations.input()[i] == gb.activations.input()[r * S::size + i], boost::test_tools::tolerance(1e-14));
        mg::for_each_tensor([](auto& total, const auto& part) { total = total + part; }, summed, g.parameters);
    }
    BOOST_TEST(mg::max_scaled_error(summed, gb.parameters) < 1e-13);
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
// Rows 1, 4 and 7 of a batch of 9 get a non-finite value (at the first, last and middle feature):
// with 9 rows the batch has whole vectors and a scalar tail for every element type and width.
constexpr std::size_t law_batch = 9;
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
// were (in training, batch norm's dl/dx gathers the whole batch: NaN reaches every sample).
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
        if (touched(r))
            BOOST_TEST(row_has_nan(g_bad.activations.input(), r), "row " << r);
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

// Element-wise activations: NaN and infinities at run time (vectors and the scalar tail) give what
// the constant-evaluated definition gives, and that definition is PyTorch's (relu(NaN) = NaN,
// relu(-inf) = 0, sigmoid(-inf) = 0, tanh(inf) = 1, leaky_relu(-inf) = -inf). Dense layers and
// softmax are left out of constant evaluation here: NaN cannot pass through arithmetic there
// (clang 14 refuses any operation that yields a NaN, g++ 12 one that creates one, inf - inf).
namespace {
using specials_shape = mg::shape<37>;  // whole vectors and a scalar tail at every width
template <class T>
constexpr mg::tensor<T, specials_shape> specials() {
    using limits = std::numeric_limits<T>;
    const T values[] = {limits::quiet_NaN(), limits::infinity(), -limits::infinity(), T(-0.0), T(0), T(-1e30), T(1e30),
                        limits::max(),       limits::lowest(),   T(-100),            T(100), T(0.5), T(-0.5)};
    mg::tensor<T, specials_shape> t;
    // From the end, so that the scalar tail holds NaN and the infinities at every vector width.
    for (std::size_t i = 0; i < specials_shape::size; ++i) t[i] = values[(specials_shape::size - 1 - i) % std::size(values)];
    return t;
}
template <class L, class T>
constexpr auto defined_on_specials() {
    return L::forward(mg::no_parameters{}, specials<T>());
}
template <class T>
constexpr bool is_nan(T v) {
    return v != v;
}
}  // namespace

// At compile time: element 36 is NaN, 35 is +inf, 34 is -inf.
static_assert(is_nan(defined_on_specials<mg::relu, float>()[36]));
static_assert(defined_on_specials<mg::relu, double>()[35] == std::numeric_limits<double>::infinity());
static_assert(defined_on_specials<mg::relu, float>()[34] == 0);
static_assert(is_nan(defined_on_specials<mg::leaky_relu<>, float>()[36]));
static_assert(defined_on_specials<mg::leaky_relu<>, double>()[34] == -std::numeric_limits<double>::infinity());
static_assert(is_nan(defined_on_specials<mg::sigmoid, float>()[36]));
static_assert(defined_on_specials<mg::sigmoid, float>()[35] == 1 && defined_on_specials<mg::sigmoid, float>()[34] == 0);
static_assert(is_nan(defined_on_specials<mg::tanh_layer, double>()[36]));
static_assert(defined_on_specials<mg::tanh_layer, float>()[35] == 1 && defined_on_specials<mg::tanh_layer, float>()[34] == -1);
static_assert(is_nan(defined_on_specials<mg::identity, float>()[36]));

namespace {
template <class L, class T>
void check_specials_at_run_time() {
    constexpr auto defined = defined_on_specials<L, T>();
    const auto x = specials<T>();
    const auto run = L::forward(mg::no_parameters{}, x);
    for (std::size_t i = 0; i < specials_shape::size; ++i) {
        const T a = run[i], b = defined[i];
        // Within the vector functions' error (eval/vector_math.hpp) where both are finite.
        const bool agree = std::isfinite(a) && std::isfinite(b) ? std::abs(a - b) <= T(1e-6) * std::max(T(1), std::abs(b))
                                                                : same_value(a, b);
        BOOST_TEST(agree, L::name << "(" << x[i] << "): " << a << " at run time, " << b << " by definition");
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(runtime_activations_give_their_definition_on_non_finite_inputs) {
    check_specials_at_run_time<mg::relu, float>();
    check_specials_at_run_time<mg::relu, double>();
    check_specials_at_run_time<mg::leaky_relu<>, float>();
    check_specials_at_run_time<mg::leaky_relu<std::ratio<1, 5>>, double>();
    check_specials_at_run_time<mg::sigmoid, float>();
    check_specials_at_run_time<mg::sigmoid, double>();
    check_specials_at_run_time<mg::tanh_layer, float>();
    check_specials_at_run_time<mg::tanh_layer, double>();
    check_specials_at_run_time<mg::identity, float>();
}

// The dense layer's fused ReLU (applied in its forward kernel's epilogue) and its fused gradient
// through the ReLU before it (in its input-gradient kernel's epilogue) keep NaN as the ReLU's own
// passes do: a NaN input row, and a NaN weight (a NaN column of the product), give NaN in the
// ReLU's output, and the fused trace and gradients equal the layer-by-layer ones, NaN for NaN.
namespace {
using fused_nan_net = mg::sequential<mg::input<37>, mg::dense<50>, mg::relu, mg::dense<70>, mg::relu, mg::dense<3>>;
static_assert(mg::detail::applies_next_activation<mg::dense<50>, mg::relu>);
static_assert(mg::detail::passes_back_through<mg::dense<70>, mg::relu>);

template <class T, class S>
bool same_tensor(const mg::tensor<T, S>& a, const mg::tensor<T, S>& b) {
    for (std::size_t i = 0; i < S::size; ++i)
        if (!same_value(a[i], b[i])) return false;
    return true;
}

template <class T, std::size_t Rows>
void check_fused_relu_keeps_nan() {
    using net = fused_nan_net;
    using X = mg::shape<Rows, 37>;
    auto p = random_parameters<net, T>();
    auto x = random_tensor<T, X>();
    x[(Rows - 1) * 37 + 36] = std::numeric_limits<T>::quiet_NaN();  // the last row
    p.template layer<1>().weight[5 * 37 + 2] = std::numeric_limits<T>::quiet_NaN();  // output 5 of dense<50>
    // Layer 1 is dense<50>: z1 is the trace's element 2, relu(z1) its element 3.
    const auto trace = net::forward_trace(p, x);
    const auto z1 = mg::dense<50>::forward(p.template layer<1>(), trace.template get<1>());
    const auto& h1 = trace.template get<3>();
    BOOST_TEST(same_tensor(trace.template get<2>(), z1));
    BOOST_TEST(same_tensor(h1, mg::relu::forward(mg::no_parameters{}, z1)));
    for (std::size_t r = 0; r < Rows; ++r) BOOST_TEST(std::isnan(h1[r * 50 + 5]), "row " << r << ": relu of the NaN column");
    BOOST_TEST(row_has_nan<Rows>(h1, Rows - 1));
    // Backward: dense<70> (layer 3) writes dl/dz1 through relu's derivative in its kernel; the
    // same values, NaN for NaN, as relu's own backward pass.
    const auto w = random_tensor<T, mg::shape<Rows, 3>>();
    const auto g = net::backward(p, trace, w);
    mg::no_parameters none;
    const auto d2 = mg::relu::backward(none, trace.template get<2>(), h1, g.activations.template get<3>(), none);
    BOOST_TEST(same_tensor(g.activations.template get<2>(), d2));
    bool weight_gradient_has_nan = false;
    for (const T v : g.parameters.template layer<1>().weight) weight_gradient_has_nan = weight_gradient_has_nan || std::isnan(v);
    BOOST_TEST(weight_gradient_has_nan);
}
}  // namespace

BOOST_AUTO_TEST_CASE(runtime_the_fused_relu_keeps_nan) {
    check_fused_relu_keeps_nan<float, 1>();
    check_fused_relu_keeps_nan<float, 9>();
    check_fused_relu_keeps_nan<double, 4>();
}

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

static_assert(compile_time_gradcheck<mg::dense<3, 2>, mg::shape<3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::dense<2>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);  // a batch of 2
static_assert(compile_time_gradcheck<mg::relu, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::leaky_relu<>, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::sigmoid, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::tanh_layer, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::softmax, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::identity, mg::shape<4>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::dropout<>, mg::shape<6>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::dropout<std::ratio<1, 3>>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::batch_norm<>, mg::shape<3>, mg::shape<4, 3>>() < 1e-7);  // batch-coupled
static_assert(compile_time_gradcheck<mg::batch_norm<>, mg::shape<2, 2, 2>>() < 1e-7);
static_assert(compile_time_gradcheck<mg::chain<mg::dense<3>, mg::tanh_layer, mg::dense<2>>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::residual<mg::chain<mg::dense<3>, mg::sigmoid, mg::dense<3>>>, mg::shape<3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::residual<mg::chain<mg::dense<2>, mg::tanh_layer>, mg::dense<2>>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::residual<mg::batch_norm<>>, mg::shape<2, 3>, mg::shape<2, 2, 3>>() < 1e-7);
static_assert(compile_time_gradcheck<mg::parallel<mg::merge::sum, mg::dense<2>, mg::chain<mg::dense<2>, mg::tanh_layer>>, mg::shape<3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::parallel<mg::merge::concatenate, mg::identity, mg::dense<2>>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::conv2d<2, mg::kernel<2>, mg::padding<1>, mg::stride<2>>, mg::shape<3, 3, 2>, mg::shape<2, 3, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::conv2d<2, mg::kernel<2>, mg::groups<2>, mg::without_bias>, mg::shape<3, 2, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::conv1d<2, mg::kernel<3>, mg::dilation<2>>, mg::shape<5, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::max_pool2d<mg::kernel<2>>, mg::shape<2, 4, 2>, mg::shape<2, 2, 4, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::avg_pool2d<mg::kernel<3>, mg::padding<1>, mg::stride<2>>, mg::shape<3, 3, 2>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::global_avg_pool, mg::shape<2, 2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::flatten, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::random_flip, mg::shape<2, 3, 2>, mg::shape<4, 2, 3, 2>>() < 1e-8);
