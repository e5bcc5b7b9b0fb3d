// metagrad::network and metagrad::sequential: a list of layer types as one network type, with its
// shapes inferred and checked at compile time and its forward and backward passes generated.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/layer.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// Diagnostic vocabulary: printed by the compiler beside a failed check on a network, so that the
/// message says which layer (0-based position), which side and which shape.
template <std::size_t Layer, class Shape>
struct output_of_layer {};
template <std::size_t Layer, class Shape>
struct input_of_layer {};
template <class Shape>
struct network_input {};
template <std::size_t Position, class Type>
struct layer_at {};

/// True when the shape flowing out of one place is the shape the next layer takes in.
template <class From, class To>
inline constexpr bool layers_connect = false;
template <std::size_t I, std::size_t J, class S>
inline constexpr bool layers_connect<output_of_layer<I, S>, input_of_layer<J, S>> = true;
template <std::size_t J, class S>
inline constexpr bool layers_connect<network_input<S>, input_of_layer<J, S>> = true;

/// True when the type at a position of a network is a layer.
template <class Position>
inline constexpr bool is_a_layer = false;
template <std::size_t I, class L>
inline constexpr bool is_a_layer<layer_at<I, L>> = layer<L>;

/// True when the layer at a position takes the shape it is given.
template <class Layer, class Given>
inline constexpr bool takes_shape = false;
template <std::size_t I, class L, class Given, template <std::size_t, class> class Role, std::size_t J>
inline constexpr bool takes_shape<layer_at<I, L>, Role<J, Given>> = layer_accepts<L, Given>;
template <std::size_t I, class L, class Given>
inline constexpr bool takes_shape<layer_at<I, L>, network_input<Given>> = layer_accepts<L, Given>;

/// True when the layer at a position provides the layer members for the shape it receives.
template <class Layer, class Received>
inline constexpr bool works_on = false;
template <std::size_t I, class L, class S>
inline constexpr bool works_on<layer_at<I, L>, input_of_layer<I, S>> = layer_for<L, S>;

namespace detail {
/// Marks a shape that could not be computed because an earlier layer was rejected; every later
/// check passes on it, so that one mistake gives one error.
struct unknown_shape {};

template <class L, class S>
inline constexpr bool fixed_input_matches = true;
template <has_fixed_input L, class S>
inline constexpr bool fixed_input_matches<L, S> = std::is_same_v<S, typename L::input_shape>;

/// Whether layer `L` can be placed where shape `S` arrives; where not, the shapes after it are
/// unknown. A concept, so that the conjunction stops at the first failure: nothing is asked of a
/// type that is not a layer, or of an unknown shape.
template <class L, class S>
concept layer_works = !std::is_same_v<S, unknown_shape> && layer<L> && fixed_input_matches<L, S> &&
                      layer_accepts<L, S> && layer_for<L, S>;

template <class L, class S>
struct next_shape {
    using type = unknown_shape;
};
template <class L, class S>
    requires layer_works<L, S>
struct next_shape<L, S> {
    using type = typename L::template output_shape<S>;
};

// The shapes between layers, by a left fold over the layer list: a fold expression rather than
// recursive templates, so depth costs one instantiation per layer.
template <class... S>
struct shape_list {};
template <class L>
struct layer_tag {};
template <class Current, class Before>
struct shape_chain {};
template <class Current, class... Before, class L>
auto operator+(shape_chain<Current, shape_list<Before...>>, layer_tag<L>)
    -> shape_chain<typename next_shape<L, Current>::type, shape_list<Before..., Current>>;

template <class Chain>
struct all_shapes;
template <class Last, class... Before>
struct all_shapes<shape_chain<Last, shape_list<Before...>>> {
    using type = std::tuple<Before..., Last>;
};

template <class In, class... Layers>
using shapes_of = typename all_shapes<decltype((shape_chain<In, shape_list<>>{} + ... + layer_tag<Layers>{}))>::type;

/// One layer's parameters, or none where the layer could not be placed (already diagnosed).
template <class L, class T, class S>
struct parameters_at {
    using type = no_parameters;
};
template <class L, class T, class S>
    requires layer_works<L, S>
struct parameters_at<L, T, S> {
    using type = typename L::template parameters<T, S>;
};

template <std::size_t I, class From>
struct role_before {
    using type = output_of_layer<I - 1, From>;
};
template <class From>
struct role_before<0, From> {
    using type = network_input<From>;
};

/// What can be wrong at one position of a network, in the order it is checked.
enum class layer_problem { none, not_a_layer, input_mismatch, rejects_shape, incomplete };

template <class L, class In>
constexpr layer_problem problem_of() {
    if constexpr (std::is_same_v<In, unknown_shape>)
        return layer_problem::none;  // after an earlier problem: that is the one to report
    else if constexpr (!layer<L>)
        return layer_problem::not_a_layer;
    else if constexpr (!fixed_input_matches<L, In>)
        return layer_problem::input_mismatch;
    else if constexpr (!layer_accepts<L, In>)
        return layer_problem::rejects_shape;
    else if constexpr (!layer_for<L, In>)
        return layer_problem::incomplete;
    else
        return layer_problem::none;
}

struct problem_at {
    std::size_t position;
    layer_problem kind;
};

/// The first position whose layer does not work where it stands (`position` is the depth when
/// every layer does). No assertion inside: the network type states the one error itself.
template <class Shapes, class... Layers, std::size_t... I>
constexpr problem_at first_problem(std::index_sequence<I...>) {
    problem_at found{sizeof...(Layers), layer_problem::none};
    const layer_problem kinds[] = {problem_of<Layers, std::tuple_element_t<I, Shapes>>()..., layer_problem::none};
    for (std::size_t i = sizeof...(Layers); i-- > 0;)
        if (kinds[i] != layer_problem::none) found = {i, kinds[i]};
    return found;
}

/// Stands in the assertions of `check_layers` that pass: a layer that takes every shape. (Core
/// names no layer of layers/.)
struct passing_layer {
    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = no_parameters;
    template <class T, class S>
    static constexpr tensor<T, S> forward(const no_parameters&, const tensor<T, S>& x) {
        return x;
    }
    template <class T, class S>
    static constexpr tensor<T, S> backward(const no_parameters&, const tensor<T, S>&, const tensor<T, S>&,
                                           const tensor<T, S>& dl_dy, no_parameters&) {
        return dl_dy;
    }
};

/// The types the assertions of `check_layers` name: for the problem found, its position, layer
/// and shapes; for every other kind, a pair that passes. So each assertion is one template-id,
/// which both compilers print beside the message.
template <layer_problem Kind, std::size_t I, class L, class In>
struct diagnosis {
    using not_layer = layer_at<0, passing_layer>;
    using connect_from = network_input<shape<1>>;
    using connect_to = input_of_layer<0, shape<1>>;
    using taking = layer_at<0, passing_layer>;
    using given = network_input<shape<1>>;
    using working = layer_at<0, passing_layer>;
    using received = input_of_layer<0, shape<1>>;
};
template <std::size_t I, class L, class In>
struct diagnosis<layer_problem::not_a_layer, I, L, In> : diagnosis<layer_problem::none, I, L, In> {
    using not_layer = layer_at<I, L>;
};
template <std::size_t I, class L, class In>
struct diagnosis<layer_problem::input_mismatch, I, L, In> : diagnosis<layer_problem::none, I, L, In> {
    using connect_from = typename role_before<I, In>::type;
    using connect_to = input_of_layer<I, typename L::input_shape>;
};
template <std::size_t I, class L, class In>
struct diagnosis<layer_problem::rejects_shape, I, L, In> : diagnosis<layer_problem::none, I, L, In> {
    using taking = layer_at<I, L>;
    using given = typename role_before<I, In>::type;
};
template <std::size_t I, class L, class In>
struct diagnosis<layer_problem::incomplete, I, L, In> : diagnosis<layer_problem::none, I, L, In> {
    using working = layer_at<I, L>;
    using received = input_of_layer<I, In>;
};

/// The checks of a layer list, in a class of their own: the network type asserts on `value`, so
/// the error appears where the user first names the network, and a failure here leaves the
/// network type usable (clang would drop a class whose own assertion fails, and every later use
/// would add an error).
template <class D>
struct check_layers {
    // This type in the network's list is not a layer (see metagrad::layer in core/layer.hpp):
    static_assert(is_a_layer<typename D::not_layer>, "metagrad::sequential: every type in the list must be a layer");
    // The layer at this position takes another shape than the previous one gives:
    static_assert(layers_connect<typename D::connect_from, typename D::connect_to>,
                  "metagrad::sequential: each layer's input must match the previous layer's output");
    // The layer at this position cannot take the shape the previous layer gives:
    static_assert(takes_shape<typename D::taking, typename D::given>,
                  "metagrad::sequential: a layer cannot take the shape its predecessor gives");
    // The layer's output_shape, parameters, forward or backward do not work for the shape it
    // receives (see metagrad::layer_for in core/layer.hpp):
    static_assert(works_on<typename D::working, typename D::received>,
                  "metagrad::sequential: a layer must define its members for the shape it receives");
    static constexpr bool value = true;
};

/// The shape of activation `S` when the network input has shape `X` (a sample or a batch).
template <class X, class Sample, class S>
struct with_batch_of {
    using type = S;  // X is a single sample
};
template <std::size_t B, std::size_t... E, class Sample, class S>
    requires(!std::is_same_v<shape<B, E...>, Sample> && std::is_same_v<shape<E...>, Sample>)
struct with_batch_of<shape<B, E...>, Sample, S> {
    using type = batch_of<B, S>;
};

template <class T, class Shapes, class LayerTuple, class Sequence>
struct parameter_tuple_of;
template <class T, class Shapes, class... L, std::size_t... I>
struct parameter_tuple_of<T, Shapes, std::tuple<L...>, std::index_sequence<I...>> {
    using type = boost::hana::tuple<typename parameters_at<L, T, std::tuple_element_t<I, Shapes>>::type...>;
};
}  // namespace detail

/// Whether `Layers...` compose on inputs of shape `In`, asked without failing (a network of them
/// would compile): every type is a layer and each takes what the previous one gives.
template <class In, class... Layers>
inline constexpr bool composable =
    !std::is_same_v<std::tuple_element_t<sizeof...(Layers), detail::shapes_of<In, Layers...>>, detail::unknown_shape>;

/// The same for a `sequential`, whose input shape comes from its first layer.
template <class... Layers>
inline constexpr bool sequential_composable = false;
template <class First, class... Rest>
    requires detail::has_fixed_input<First>
inline constexpr bool sequential_composable<First, Rest...> = composable<typename First::input_shape, First, Rest...>;

/// What the network gives back for a network whose layers did not compose. That mistake has been
/// diagnosed already; indexing the result quietly gives 0 so that the user's next line does not
/// add a second, unrelated error.
template <class T>
struct invalid_network {
    constexpr T operator[](std::size_t) const { return T{}; }
    template <class... I>
    constexpr T operator()(I...) const {
        return T{};
    }
};

template <class Shape>
struct network_takes {};
template <class Shape>
struct argument_given {};
template <class Takes, class Given>
inline constexpr bool input_fits = false;
template <class S>
inline constexpr bool input_fits<network_takes<S>, argument_given<S>> = true;
template <std::size_t B, std::size_t... E>
inline constexpr bool input_fits<network_takes<shape<E...>>, argument_given<shape<B, E...>>> = true;

/// Every activation of one forward pass: `get<0>()` is the input, `get<I>()` the output of layer
/// `I - 1` (the input of layer `I`), `output()` the network's output. A backward pass returns
/// the gradient of the loss with respect to each of them in the same type.
template <class T, class... Shapes>
struct activations {
    boost::hana::tuple<tensor<T, Shapes>...> values{};

    template <std::size_t I>
    constexpr auto& get() {
        return boost::hana::at_c<I>(values);
    }
    template <std::size_t I>
    constexpr const auto& get() const {
        return boost::hana::at_c<I>(values);
    }
    constexpr auto& input() { return get<0>(); }
    constexpr const auto& input() const { return get<0>(); }
    constexpr auto& output() { return get<sizeof...(Shapes) - 1>(); }
    constexpr const auto& output() const { return get<sizeof...(Shapes) - 1>(); }
};

/// Whether a backward pass computes dl/d(input) (gradient checks, adversarial inputs) or skips
/// it (training, where only parameter gradients are needed).
enum class input_gradient { compute, skip };

/// The result of a backward pass: dl/dp for every parameter (same type as the parameters) and
/// dl/da for every activation `a` of the forward pass.
template <class Parameters, class Activations>
struct gradients {
    Parameters parameters{};
    Activations activations{};
};

namespace detail {
template <class T, class X, class In, class Shapes>
struct activations_of;
template <class T, class X, class In, class... S>
struct activations_of<T, X, In, std::tuple<S...>> {
    using type = activations<T, typename with_batch_of<X, In, S>::type...>;
};

// A layer's passes written into tensors the network owns: `forward_into` and `backward_into`
// where the layer has them (no temporary, no copy of a batch-sized tensor), otherwise the
// value-returning `forward` and `backward` every layer has.
template <class L, class P, class X, class Y>
constexpr void layer_forward_into(const P& p, const X& x, Y& y) {
    if constexpr (writes_into<L>)
        L::forward_into(p, x, y);
    else
        y = L::forward(p, x);
}
// Whether layer L (a dense layer) applies activation A, the layer after it, in its own kernel:
// A says its `value` works on vectors, L can write both outputs at once. Both must declare
// `writes_into` themselves: a class derived from either, which may override its passes, keeps
// them.
template <class L, class A>
concept applies_next_activation = writes_into<L> && writes_into<A> && requires { requires A::fuses_into_products; } &&
                                  requires { &L::template forward_activated_into<A, float, shape<1>, no_parameters>; };

// Whether layer L (a dense layer) takes the gradient through activation A, the layer before
// it, in its input-gradient kernel: A says its `derivative` works on vectors, L can write both
// gradients at once. As above, both must declare `writes_into` themselves.
template <class L, class A>
concept passes_back_through = writes_into<L> && writes_into<A> && requires { requires A::fuses_into_products; } &&
                              requires { &L::template input_gradient_through<A, float, shape<1>, no_parameters>; };

template <class L, class P, class X, class Y>
constexpr void layer_backward_into(const P& p, const X& x, const Y& y, const Y& dl_dy, P& dl_dp, X& dl_dx) {
    if constexpr (writes_into<L>)
        L::backward_into(p, x, y, dl_dy, dl_dp, dl_dx);
    else
        dl_dx = L::backward(p, x, y, dl_dy, dl_dp);
}
}  // namespace detail

template <class InputShape, class... Layers>
struct network;

namespace detail {
template <class In, class LayerTuple, std::size_t Begin, class Sequence>
struct slice_of;
template <class In, class LayerTuple, std::size_t Begin, std::size_t... I>
struct slice_of<In, LayerTuple, Begin, std::index_sequence<I...>> {
    using type = network<In, std::tuple_element_t<Begin + I, LayerTuple>...>;
};
}  // namespace detail

/// A network of `Layers...` taking samples of shape `InputShape`. The type is the whole
/// description: shapes between layers are computed and checked at compile time, parameters are
/// a value of type `parameters<T>`, and forward and backward passes are generated from the list
/// (no tape, no virtual call, no heap). Every function is constexpr. Inputs may be a sample of
/// `InputShape` or a batch `shape<B, InputShape...>`; parameters are shared across a batch.
template <class InputShape, class... Layers>
struct network {
    static constexpr std::size_t depth = sizeof...(Layers);
    static_assert(depth > 0, "metagrad::sequential: a network needs at least one layer");

    // The first layer neither is metagrad::input<...> nor fixes its input shape like dense<In, Out>.
    static_assert(!std::is_same_v<InputShape, detail::unknown_shape>,
                  "metagrad::sequential: the first layer must fix the input shape: start with input<...> or dense<In, Out>");

    using input_shape = InputShape;
    /// `shape_at<I>`: the sample shape entering layer `I`; `shape_at<depth>` is the output's.
    using shapes = detail::shapes_of<InputShape, Layers...>;
    template <std::size_t I>
    using shape_at = std::tuple_element_t<I, shapes>;
    using output_shape = shape_at<depth>;
    template <std::size_t I>
    using layer_type = std::tuple_element_t<I, std::tuple<Layers...>>;

private:
    static constexpr detail::problem_at problem = detail::first_problem<shapes, Layers...>(std::make_index_sequence<depth>{});
    using diagnosis = detail::diagnosis<problem.kind, problem.position,
                                        std::tuple_element_t<(problem.position < depth ? problem.position : 0), std::tuple<Layers...>>,
                                        shape_at<problem.position>>;

public:
    // Checks every layer where the network type is first used; only the first problem is reported.
    static_assert(detail::check_layers<diagnosis>::value);

    /// Whether the layers compose; when they do not, a static_assert has said where.
    static constexpr bool valid =
        problem.kind == detail::layer_problem::none && !std::is_same_v<InputShape, detail::unknown_shape>;

    template <class T>
    using parameter_tuple =
        typename detail::parameter_tuple_of<T, shapes, std::tuple<Layers...>, std::make_index_sequence<depth>>::type;

    template <class T>
    using parameters = network_parameters<network, T>;

    /// The number of scalar parameters (the same for every element type).
    static constexpr std::size_t parameter_count = detail::total_scalars<parameter_tuple<float>>::value;

    /// The activations of a forward pass on input shape `X` (sample or batch).
    template <class T, class X>
    using activations_for = typename detail::activations_of<T, X, InputShape, shapes>::type;

    /// The sub-network of layers [Begin, End), taking what layer Begin takes.
    template <std::size_t Begin, std::size_t End>
        requires(Begin < End && End <= depth)
    using slice = typename detail::slice_of<shape_at<Begin>, std::tuple<Layers...>, Begin,
                                            std::make_index_sequence<End - Begin>>::type;

    /// The parameters of `slice<Begin, End>`, copied out of `p`.
    template <std::size_t Begin, std::size_t End, class T>
    static constexpr auto slice_parameters(const parameters<T>& p) {
        typename slice<Begin, End>::template parameters<T> out;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((out.template layer<I>() = p.template layer<Begin + I>()), ...);
        }(std::make_index_sequence<End - Begin>{});
        return out;
    }

    /// Runs every layer and keeps every activation (what a backward pass needs).
    template <class T, class X>
    static constexpr auto forward_trace(const parameters<T>& p, const tensor<T, X>& x) {
        if constexpr (!valid) {
            return invalid_network<T>{};
        } else {
            // The argument is neither a sample of the network's input shape nor a batch of them.
            static_assert(input_fits<network_takes<InputShape>, argument_given<X>>,
                          "metagrad::network: the input must be a sample of the network's input shape or a batch of them");
            if constexpr (input_fits<network_takes<InputShape>, argument_given<X>>) {
                activations_for<T, X> a;
                forward_trace_into(p, x, a);
                return a;
            }
        }
    }

    /// `forward_trace` into activations the caller owns (a workspace allocated once, so that a
    /// large network's activations need not live on the stack).
    template <class T, class X>
    static constexpr void forward_trace_into(const parameters<T>& p, const tensor<T, X>& x, activations_for<T, X>& a) {
        // Through eval/ (core/tensor.hpp's `evaluate_into`), which splits a batch-sized copy
        // between the kernel threads; nothing to copy when the caller loaded its input into the
        // trace itself.
        if (&a.input() != &x) evaluate_into(detail::fresh_destination{}, a.input(), x);
        const auto step = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            if constexpr (fused_with_next<I>) {
                // This layer writes the next one's output too (a dense layer and its ReLU).
                layer_type<I>::template forward_activated_into<layer_type<I + 1>>(p.template layer<I>(), a.template get<I>(),
                                                                                  a.template get<I + 1>(), a.template get<I + 2>());
            } else if constexpr (!fused_with_previous<I>) {
                detail::layer_forward_into<layer_type<I>>(p.template layer<I>(), a.template get<I>(), a.template get<I + 1>());
            }
        };
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            // Left to right: a fold over the comma operator sequences the layers.
            (step(std::integral_constant<std::size_t, I>{}), ...);
        }(std::make_index_sequence<depth>{});
    }

    /// The network's output for `x` (a sample or a batch). It keeps every activation on the way,
    /// as `forward_trace` does: an inference path with two buffers belongs to the run-time kernels.
    template <class T, class X>
    static constexpr auto forward(const parameters<T>& p, const tensor<T, X>& x) {
        if constexpr (!valid)
            return invalid_network<T>{};
        else
            return forward_trace(p, x).output();
    }

    /// The backward pass: from dl/d(output), the gradients of every parameter and activation.
    /// Generated as a reverse fold over the layers; each layer's vector-Jacobian product feeds
    /// the one before it.
    template <class T, class... S>
    static constexpr auto backward(const parameters<T>& p, const activations<T, S...>& a,
                                   const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput) {
        gradients<parameters<T>, activations<T, S...>> g;
        backward_into(p, a, dl_doutput, g);
        return g;
    }

    /// `backward` into gradients the caller owns. With `input_gradient::skip`, the gradients of
    /// activations before the first layer with parameters are left as they were, and that layer,
    /// if it can compute its parameter gradients alone (`backward_parameters`), does only that:
    /// training never needs them.
    template <input_gradient Input = input_gradient::compute, class T, class... S>
    static constexpr void backward_into(const parameters<T>& p, const activations<T, S...>& a,
                                        const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput,
                                        gradients<parameters<T>, activations<T, S...>>& g) {
        backward_steps<Input>(p, a, dl_doutput, g, no_update{});
    }

    /// The backward pass of a training step with plain SGD, the step fused in: each layer's
    /// parameters take their step p <- p - learning_rate * dl/dp as soon as the layer has computed
    /// its input gradient (from the parameters before the step), while they are still in cache.
    /// A layer with `backward_sgd_into` (dense) takes the step inside its weight-gradient kernel,
    /// and its parameter gradients are never stored in `g`; other layers' are. Input gradients
    /// before the first layer with parameters are skipped, as with `input_gradient::skip`.
    template <class T, class... S>
    static constexpr void backward_sgd_into(parameters<T>& p, const activations<T, S...>& a,
                                            const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput,
                                            gradients<parameters<T>, activations<T, S...>>& g, T learning_rate) {
        backward_steps<input_gradient::skip>(p, a, dl_doutput, g, sgd_update<T>{learning_rate});
    }

private:
    // Whether layer I also computes layer I + 1 in its forward pass (detail::applies_next_activation).
    template <std::size_t I>
    static constexpr bool fused_with_next = [] {
        if constexpr (I + 1 < depth)
            return detail::applies_next_activation<layer_type<I>, layer_type<I + 1>>;
        else
            return false;
    }();
    template <std::size_t I>
    static constexpr bool fused_with_previous = [] {
        if constexpr (I > 0)
            return fused_with_next<I - 1>;
        else
            return false;
    }();

    // Whether layer I computes the gradient through layer I - 1 too (detail::passes_back_through).
    template <std::size_t I>
    static constexpr bool passes_back_to_previous = [] {
        if constexpr (I > 0 && I < depth)
            return detail::passes_back_through<layer_type<I>, layer_type<I - 1>>;
        else
            return false;
    }();

    struct no_update {};
    template <class T>
    struct sgd_update {
        T learning_rate;
    };

    // The position of the first layer with parameters (`depth` if none has any).
    template <class T>
    static constexpr std::size_t first_trainable = [] {
        std::size_t first = depth;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((first = first == depth && !std::is_same_v<std::remove_cvref_t<decltype(std::declval<parameters<T>&>().template layer<I>())>,
                                                        no_parameters>
                          ? I
                          : first),
             ...);
        }(std::make_index_sequence<depth>{});
        return first;
    }();

    // The reverse fold over the layers shared by both backward passes; `Params` is const unless
    // `update` takes steps.
    template <input_gradient Input, class Params, class T, class... S, class Update>
    static constexpr void backward_steps(Params& p, const activations<T, S...>& a,
                                         const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput,
                                         gradients<parameters<T>, activations<T, S...>>& g, Update update) {
        if (&g.activations.output() != &dl_doutput) g.activations.output() = dl_doutput;
        constexpr std::size_t first = first_trainable<T>;
        const auto step = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using L = layer_type<I>;
            auto& layer_p = p.template layer<I>();
            auto& dl_dp = g.parameters.template layer<I>();
            const auto& x = a.template get<I>();
            const auto& y = a.template get<I + 1>();
            const auto& dl_dy = g.activations.template get<I + 1>();
            auto& dl_dx = g.activations.template get<I>();
            constexpr bool input_needed = Input == input_gradient::compute || I > first;
            // Whether this layer's step runs at all: nothing before the first layer with
            // parameters is needed for training.
            constexpr bool runs = Input == input_gradient::compute || I >= first;
            // This layer's input-gradient kernel also takes the gradient through the activation
            // before it, whose own step then has nothing left to do. (That step runs exactly when
            // this layer's input gradient is needed.)
            constexpr bool through_previous = passes_back_to_previous<I> && input_needed;
            constexpr bool done_by_next = passes_back_to_previous<I + 1> && runs;
            // The layer's own passes: parameter gradients alone where the input's are not needed.
            // (`writes_into<L>`: only a layer's own; a class derived from dense that overrides
            // `backward` keeps it.)
            const auto backward_pass = [&] {
                if constexpr (!input_needed && writes_into<L> && requires { L::backward_parameters(layer_p, x, y, dl_dy, dl_dp); })
                    L::backward_parameters(layer_p, x, y, dl_dy, dl_dp);
                else
                    detail::layer_backward_into<L>(layer_p, x, y, dl_dy, dl_dp, dl_dx);
            };
            // dl/dx and dl/d(the activation's input) from the weights before any step.
            const auto input_gradient_through = [&] {
                if constexpr (through_previous)
                    L::template input_gradient_through<layer_type<I - 1>>(layer_p, dl_dy, dl_dx, a.template get<I - 1>(), x,
                                                                          g.activations.template get<I - 1>());
            };
            if constexpr (!runs || done_by_next) {
                // Nothing to do here (see `runs`), or done by the layer after this one.
            } else if constexpr (std::is_same_v<Update, sgd_update<T>>) {
                // (The condition on `Update` first: clang checks `update.learning_rate` in a
                // branch discarded only by a condition on I.)
                if constexpr (through_previous) {
                    input_gradient_through();
                    L::template backward_sgd_into<false>(layer_p, x, y, dl_dy, update.learning_rate, dl_dx);
                } else if constexpr (writes_into<L> &&
                                     requires { L::template backward_sgd_into<input_needed>(layer_p, x, y, dl_dy, std::declval<T>(), dl_dx); }) {
                    L::template backward_sgd_into<input_needed>(layer_p, x, y, dl_dy, update.learning_rate, dl_dx);
                } else {
                    backward_pass();
                    detail::for_each_member([lr = update.learning_rate](auto& w, const auto& dw) { w = w - lr * dw; }, layer_p, dl_dp);
                }
            } else if constexpr (through_previous) {
                input_gradient_through();
                L::backward_parameters(layer_p, x, y, dl_dy, dl_dp);
            } else {
                backward_pass();
            }
        };
        [&]<std::size_t... R>(std::index_sequence<R...>) {
            (step(std::integral_constant<std::size_t, depth - 1 - R>{}), ...);
        }(std::make_index_sequence<depth>{});
    }
};

namespace detail {
template <class... Layers>
struct first_input_shape {
    using type = unknown_shape;
};
template <class First, class... Rest>
    requires has_fixed_input<First>
struct first_input_shape<First, Rest...> {
    using type = typename First::input_shape;
};
}  // namespace detail

/// A network whose input shape is fixed by its first layer (`input<...>` or `dense<In, Out>`):
/// `sequential<dense<4, 3>, relu, dense<3, 2>, relu, dense<2, 1>>`.
template <class... Layers>
using sequential = network<typename detail::first_input_shape<Layers...>::type, Layers...>;

}  // namespace metagrad
