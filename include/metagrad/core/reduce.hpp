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
template <class E>
struct column_sums_node {
    static constexpr std::size_t rows = shape_of<E>::template extent<0>;
    using value_type = value_type_of<E>;
    using shape_type = shape<shape_of<E>::template extent<1>>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = false;

    stored<E> operand;

    constexpr value_type operator[](std::size_t c) const {
        value_type total{};
        for (std::size_t r = 0; r < rows; ++r) total += operand.at(r, c);
        return total;
    }
};

template <class E>
struct row_sums_node {
    static constexpr std::size_t columns = shape_of<E>::template extent<1>;
    using value_type = value_type_of<E>;
    using shape_type = shape<shape_of<E>::template extent<0>>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = false;

    stored<E> operand;

    constexpr value_type operator[](std::size_t r) const {
        value_type total{};
        for (std::size_t c = 0; c < columns; ++c) total += operand.at(r, c);
        return total;
    }
};
}  // namespace detail

/// The vector of row sums of a rank-2 expression: `sum over c of e(r, c)` (a per-sample total
/// over a batch of rows), lazily.
template <matrix_expression E>
constexpr auto row_sums(E&& e) {
    return detail::row_sums_node<E&&>{std::forward<E>(e)};
}

/// The vector of column sums of a rank-2 expression: `sum over r of e(r, c)` (a bias gradient
/// summed over a batch), lazily.
template <matrix_expression E>
constexpr auto column_sums(E&& e) {
    return detail::column_sums_node<E&&>{std::forward<E>(e)};
}

}  // namespace metagrad
