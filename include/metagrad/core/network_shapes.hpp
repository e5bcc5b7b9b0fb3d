// metagrad::composable and the shape fold: the shapes between a network's layers, computed from
// the layer types, with the shape after a rejected layer marked unknown.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

#include "metagrad/core/layer.hpp"
#include "metagrad/core/shape.hpp"

namespace metagrad {

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

}  // namespace metagrad
