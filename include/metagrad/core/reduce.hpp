// metagrad reductions: sums, dot products, maxima, and row or column sums of a matrix.
#pragma once

#include <cstddef>
#include <utility>

#include "metagrad/core/elementwise.hpp"
#include "metagrad/core/expression.hpp"

namespace metagrad {

/// The sum of all elements (evaluated now: a reduction is a scalar, not a lazy node).
template <expression E>
constexpr value_type_of<E> sum(const E& e) {
    value_type_of<E> total{};
    for (std::size_t i = 0; i < shape_of<E>::size; ++i) total += e[i];
    return total;
}

/// The largest element.
template <expression E>
constexpr value_type_of<E> max(const E& e) {
    value_type_of<E> best = e[0];
    for (std::size_t i = 1; i < shape_of<E>::size; ++i)
        if (e[i] > best) best = e[i];
    return best;
}

/// `sum_i a[i] b[i]`; the shapes must agree.
template <expression A, expression B>
constexpr value_type_of<A> dot(const A& a, const B& b) {
    return sum(a * b);
}

namespace detail {
/// The sums of a rank-2 expression along one axis: `Axis` 0 sums each column over the rows,
/// `Axis` 1 sums each row over the columns.
template <std::size_t Axis, class E>
struct axis_sums_node {
    static constexpr std::size_t summed = shape_of<E>::template extent<Axis>;
    using value_type = value_type_of<E>;
    using shape_type = shape<shape_of<E>::template extent<1 - Axis>>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = false;

    stored<E> operand;

    constexpr value_type operator[](std::size_t i) const {
        value_type total{};
        for (std::size_t k = 0; k < summed; ++k) total += Axis == 0 ? operand.at(k, i) : operand.at(i, k);
        return total;
    }
};
}  // namespace detail

/// The vector of column sums of a rank-2 expression: `sum over r of e(r, c)` (a bias gradient
/// summed over a batch), lazily.
template <matrix_expression E>
constexpr auto column_sums(E&& e) {
    return detail::axis_sums_node<0, E&&>{std::forward<E>(e)};
}

/// The vector of row sums of a rank-2 expression: `sum over c of e(r, c)` (a per-sample total
/// over a batch of rows), lazily.
template <matrix_expression E>
constexpr auto row_sums(E&& e) {
    return detail::axis_sums_node<1, E&&>{std::forward<E>(e)};
}

}  // namespace metagrad
