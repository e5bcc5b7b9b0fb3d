// metagrad::matmul: the matrix product of two rank-2 expressions, lazily.
#pragma once

#include <cstddef>
#include <utility>

#include "metagrad/core/expression.hpp"

namespace metagrad {

/// Diagnostic vocabulary for products: which extent of which operand.
template <std::size_t Columns>
struct columns_of_left {};
template <std::size_t Rows>
struct rows_of_right {};

template <class Left, class Right>
inline constexpr bool inner_extents_agree = false;
template <std::size_t N>
inline constexpr bool inner_extents_agree<columns_of_left<N>, rows_of_right<N>> = true;

namespace detail {
template <class A, class B>
struct matmul_node {
    static constexpr std::size_t rows = shape_of<A>::template extent<0>;
    static constexpr std::size_t inner = shape_of<A>::template extent<1>;
    static constexpr std::size_t columns = shape_of<B>::template extent<1>;

    using value_type = value_type_of<A>;
    using shape_type = shape<rows, columns>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = false;  // each element reads a row and a column
    static constexpr bool is_matrix_product = true;

    stored<A> left;
    stored<B> right;

    // (A B)_rc = sum_k A_rk B_kc. This is the reference definition; fast kernels for the
    // run-time path belong in eval/, selected from this node's type.
    constexpr value_type at(std::size_t r, std::size_t c) const {
        value_type sum{};
        for (std::size_t k = 0; k < inner; ++k) sum += left.at(r, k) * right.at(k, c);
        return sum;
    }
    constexpr value_type operator[](std::size_t i) const { return at(i / columns, i % columns); }
};
}  // namespace detail

/// The matrix product `a b` of an R x K and a K x C expression, an R x C expression. Evaluated
/// when assigned; assigning it to one of its operands is safe (a temporary is made).
template <matrix_expression A, matrix_expression B>
constexpr auto matmul(A&& a, B&& b) {
    // The inner extents of a matrix product differ: the left operand's columns are named first.
    static_assert(inner_extents_agree<columns_of_left<shape_of<A>::template extent<1>>,
                                      rows_of_right<shape_of<B>::template extent<0>>>,
                  "metagrad::matmul: the columns of the left operand must equal the rows of the right");
    return detail::matmul_node<A&&, B&&>{std::forward<A>(a), std::forward<B>(b)};
}

}  // namespace metagrad
