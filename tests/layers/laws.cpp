// The laws every layer obeys, stated once and applied to every layer type (include/metagrad/layers/):
// generated gradients equal finite differences (parameters and input, float and double, several
// shapes); the backward pass is the transpose of the forward linearization (dot-product test);
// a batch is its samples side by side; output shapes follow the layer's shape algebra; NaN and
// infinities propagate as PyTorch's layers propagate them, on every path (vectors, scalar tails,
// the dense layer's fused ReLU); and all of it is constant-evaluable, non-finite values included
// where the compilers allow them.
// This file: the dense layer, the activations, dropout, batch norm, layer norm and the layers made of layers
// (laws_images.cpp: convolution, pooling and the other image and sequence layers).
#include <ratio>
#include <tuple>

#include "laws_case.hpp"

namespace mg = metagrad;

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
    // Layer norm: each position's features over themselves (a sequence of 3 positions), and a vector.
    layer_case<mg::layer_norm<>, mg::shape<3, 4>, double, mg::shape<3, 4>>,
    layer_case<mg::layer_norm<std::ratio<1, 1000>>, mg::shape<5>, float, mg::shape<5>>,
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
               mg::shape<9>>>;

#include "laws.hpp"


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
static_assert(compile_time_gradcheck<mg::layer_norm<>, mg::shape<2, 3>>() < 1e-7);  // feature-coupled
static_assert(compile_time_gradcheck<mg::chain<mg::dense<3>, mg::tanh_layer, mg::dense<2>>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::residual<mg::chain<mg::dense<3>, mg::sigmoid, mg::dense<3>>>, mg::shape<3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::residual<mg::chain<mg::dense<2>, mg::tanh_layer>, mg::dense<2>>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::residual<mg::batch_norm<>>, mg::shape<2, 3>, mg::shape<2, 2, 3>>() < 1e-7);
static_assert(compile_time_gradcheck<mg::parallel<mg::merge::sum, mg::dense<2>, mg::chain<mg::dense<2>, mg::tanh_layer>>, mg::shape<3>>() < 1e-8);
static_assert(compile_time_gradcheck<mg::parallel<mg::merge::concatenate, mg::identity, mg::dense<2>>, mg::shape<3>, mg::shape<2, 3>>() < 1e-8);
