// metagrad::shape: a tensor's extents as a type, with the compile-time algebra layers need.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace metagrad {

/// The extents of a tensor, outermost first (row-major). `shape<3>` is a vector of 3,
/// `shape<2, 3>` a 2x3 matrix, `shape<64, 784>` a batch of 64 samples of 784 features.
/// Every member is a constant; nothing here exists at run time.
template <std::size_t... Extents>
struct shape {
    static_assert(sizeof...(Extents) > 0, "metagrad::shape: a shape needs at least one extent");
    static_assert(((Extents > 0) && ...), "metagrad::shape: every extent must be positive");

    static constexpr std::size_t rank = sizeof...(Extents);
    static constexpr std::size_t size = (Extents * ...);
    static constexpr std::array<std::size_t, rank> extents{Extents...};
    /// The last extent: the feature axis that layers act on.
    static constexpr std::size_t last = extents[rank - 1];
    /// The number of rows when the shape is seen as a matrix of `last` columns.
    static constexpr std::size_t rows = size / last;

    template <std::size_t I>
        requires(I < rank)
    static constexpr std::size_t extent = extents[I];
};

namespace detail {
template <class S>
inline constexpr bool is_shape = false;
template <std::size_t... E>
inline constexpr bool is_shape<shape<E...>> = true;

template <class S, std::size_t N>
struct with_last_impl;
template <std::size_t N, std::size_t... E>
struct with_last_impl<shape<E...>, N> {
    // Replace the last extent: expand the pack with its last position swapped.
    template <std::size_t... I>
    static auto pick(std::index_sequence<I...>)
        -> shape<(I + 1 == sizeof...(E) ? N : shape<E...>::extents[I])...>;
    using type = decltype(pick(std::make_index_sequence<sizeof...(E)>{}));
};

template <std::size_t B, class S>
struct prepend_impl;
template <std::size_t B, std::size_t... E>
struct prepend_impl<B, shape<E...>> {
    using type = shape<B, E...>;
};

template <class S>
struct drop_first_impl;
template <std::size_t F, std::size_t... E>
struct drop_first_impl<shape<F, E...>> {
    using type = shape<E...>;
};
}  // namespace detail

/// True for `metagrad::shape<...>`.
template <class S>
concept shape_type = detail::is_shape<S>;

/// `S` with its last (feature) extent replaced by `N`: how a dense layer maps shapes.
template <shape_type S, std::size_t N>
using with_last = typename detail::with_last_impl<S, N>::type;

/// `S` with a leading batch extent `B`.
template <std::size_t B, shape_type S>
using batch_of = typename detail::prepend_impl<B, S>::type;

/// `S` without its leading extent (a batch's sample shape).
template <shape_type S>
    requires(S::rank > 1)
using drop_first = typename detail::drop_first_impl<S>::type;

/// The number of samples of shape `S` in a tensor of shape `X`: `B` for `batch_of<B, S>`, 1 for
/// `S` itself (a single sample).
template <class X, class S>
inline constexpr std::size_t batch_extent = 1;
template <std::size_t B, std::size_t... E>
inline constexpr std::size_t batch_extent<shape<B, E...>, shape<E...>> = B;

namespace detail {
template <class X, class S, class Out>
struct like_batch {
    using type = Out;  // X is a single sample
};
template <std::size_t B, std::size_t... E, class Out>
struct like_batch<shape<B, E...>, shape<E...>, Out> {
    using type = batch_of<B, Out>;
};
}  // namespace detail

/// Shape `Out` (of a sample) held the way `X` holds samples of shape `S`: with `X`'s batch
/// extent when `X` is a batch of them, as it is when `X` is one sample.
template <class X, class S, class Out>
using with_batch_of_shape = typename detail::like_batch<X, S, Out>::type;

/// Shapes are equal when their extents are: `same_shape<shape<2,3>, shape<2,3>>`.
template <class A, class B>
inline constexpr bool same_shape = std::is_same_v<A, B>;

}  // namespace metagrad
