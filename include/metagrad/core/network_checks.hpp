// metagrad::check_layers and its vocabulary: what can be wrong at a position of a network, and
// the one error that says which layer, which side and which shape.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

#include "metagrad/core/layer.hpp"
#include "metagrad/core/network_shapes.hpp"
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

/// Diagnostic vocabulary: a hook a layer declares (core/layer_traits.hpp) and the sample shape it
/// was checked on.
template <class Hook, class Shape>
struct declared_hook {};
/// True when the layer at a position has the members its declared hook expects.
template <class Layer, class Hook>
inline constexpr bool hook_matches = false;
template <std::size_t I, class L, class Hook, class S>
inline constexpr bool hook_matches<layer_at<I, L>, declared_hook<Hook, S>> = Hook::template works_for<L, S>;

namespace detail {
/// Stands in the hook assertion when it passes.
struct passing_hook {
    template <class L, class S>
    static constexpr bool works_for = true;
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
enum class layer_problem { none, not_a_layer, input_mismatch, rejects_shape, incomplete, broken_hook };

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
    else if constexpr (!std::is_void_v<typename first_broken_hook<L, In>::type>)
        return layer_problem::broken_hook;
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
    using hooked = layer_at<0, passing_layer>;
    using hook = declared_hook<passing_hook, shape<1>>;
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

template <std::size_t I, class L, class In>
struct diagnosis<layer_problem::broken_hook, I, L, In> : diagnosis<layer_problem::none, I, L, In> {
    using hooked = layer_at<I, L>;
    using hook = declared_hook<typename first_broken_hook<L, In>::type, In>;
};

/// The first layer neither is metagrad::input<...> nor fixes its input shape like dense<In, Out>.
template <class InputShape>
struct check_first_layer_fixes_input {
    static_assert(!std::is_same_v<InputShape, unknown_shape>,
                  "metagrad::sequential: the first layer must fix the input shape: start with input<...> or dense<In, Out>");
    static constexpr bool value = true;
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
    // The layer declares a hook in `provides` (core/layer_traits.hpp) whose members it lacks, or
    // has with another signature, for the shape it receives:
    static_assert(hook_matches<typename D::hooked, typename D::hook>,
                  "metagrad::sequential: a hook a layer declares must have the signature the hook expects");
    static constexpr bool value = true;
};
}  // namespace detail

/// What the network gives back for a network whose layers did not compose, or for an input it
/// cannot take. That mistake has been diagnosed already; the result's `output()`, indexing and
/// comparison quietly give values so that the user's next line does not add a second, unrelated
/// error.
template <class T>
struct invalid_network {
    constexpr T operator[](std::size_t) const { return T{}; }
    constexpr invalid_network output() const { return {}; }
    friend constexpr bool operator==(const invalid_network&, const invalid_network&) = default;
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

}  // namespace metagrad
