// metagrad::expression: the concept every lazy tensor expression (and every tensor) satisfies.
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

#include "metagrad/core/shape.hpp"

namespace metagrad {

/// A lazy tensor expression: it names its element type and shape and yields element `i`
/// (row-major flat index) on demand. Tensors are expressions too. Expressions are evaluated
/// only when assigned to a tensor, in one loop (`eval/assign.hpp`).
///
/// Rank-2 expressions also yield `at(row, column)`, which structural nodes (transpose,
/// matmul, broadcast) use so that no index is divided at run time.
template <class E>
concept expression = requires(const std::remove_cvref_t<E>& e, std::size_t i) {
    typename std::remove_cvref_t<E>::value_type;
    typename std::remove_cvref_t<E>::shape_type;
    requires std::remove_cvref_t<E>::is_metagrad_expression;
    { e[i] } -> std::convertible_to<typename std::remove_cvref_t<E>::value_type>;
};

template <expression E>
using value_type_of = typename std::remove_cvref_t<E>::value_type;
template <expression E>
using shape_of = typename std::remove_cvref_t<E>::shape_type;

/// An expression with exactly two extents (a matrix or a batch of vectors).
template <class E>
concept matrix_expression = expression<E> && shape_of<E>::rank == 2;

template <class T, shape_type S>
struct tensor;

namespace detail {
template <class E>
inline constexpr bool is_tensor = false;
template <class T, class S>
inline constexpr bool is_tensor<tensor<T, S>> = true;

/// How a node keeps an operand: a named tensor by reference (it outlives the expression
/// statement, and copying it would defeat the point), anything else by value, so that
/// `auto e = a + f();` never refers to a dead temporary.
template <class E>
using stored = std::conditional_t<std::is_lvalue_reference_v<E> && is_tensor<std::remove_cvref_t<E>>,
                                  const std::remove_cvref_t<E>&, std::remove_cvref_t<E>>;

/// Whether an expression answers `at(row, column)` (rank-2 nodes do).
template <class E>
concept has_at = requires(const std::remove_cvref_t<E>& e, std::size_t i) { e.at(i, i); };

/// Whether an expression reads a matrix straight from memory (a tensor, a reshaped tensor, a
/// transpose of one): the run-time kernels in eval/ then read its elements at `view_data()`,
/// element (r, c) at `r * view_row_stride + c * view_column_stride`.
template <class E>
concept in_memory = requires(const std::remove_cvref_t<E>& e) {
    { e.view_data() } -> std::convertible_to<const typename std::remove_cvref_t<E>::value_type*>;
    std::remove_cvref_t<E>::view_row_stride;
    std::remove_cvref_t<E>::view_column_stride;
    std::remove_cvref_t<E>::view_size;
};

/// The strides of an expression in memory (zero for one that is not).
template <class E>
struct view_strides {
    static constexpr std::size_t row = 0, column = 0;
};
template <in_memory E>
struct view_strides<E> {
    static constexpr std::size_t row = std::remove_cvref_t<E>::view_row_stride;
    static constexpr std::size_t column = std::remove_cvref_t<E>::view_column_stride;
};

/// Whether element `i` of the expression depends only on element `i` of each operand, so that
/// assigning it to one of its own operands is safe without a temporary.
template <expression E>
inline constexpr bool is_elementwise = std::remove_cvref_t<E>::elementwise;
}  // namespace detail

/// Diagnostic vocabulary: these templates only exist to be printed by the compiler beside a
/// failed `static_assert`, so that the message carries which operand had which shape.
template <class Shape>
struct left_operand {};
template <class Shape>
struct right_operand {};
template <class Shape>
struct destination {};
template <class Shape>
struct source {};

template <class Left, class Right>
inline constexpr bool shapes_agree = false;
template <template <class> class L, template <class> class R, class S>
inline constexpr bool shapes_agree<L<S>, R<S>> = true;

}  // namespace metagrad
