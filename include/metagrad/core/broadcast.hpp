// metagrad::broadcast_rows: a vector repeated as every row of a matrix (adding a bias to a batch).
#pragma once

#include <cstddef>
#include <utility>

#include "metagrad/core/expression.hpp"

namespace metagrad {
namespace detail {
template <std::size_t Rows, class E>
struct broadcast_rows_node {
    using value_type = value_type_of<E>;
    using shape_type = shape<Rows, shape_of<E>::size>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = false;  // element (r, c) reads element c
    using operand_type = E;

    stored<E> operand;

    constexpr value_type at(std::size_t, std::size_t c) const { return operand[c]; }
    constexpr value_type operator[](std::size_t i) const { return operand[i % shape_type::last]; }
};
}  // namespace detail

/// A Rows x N expression whose every row is the N-vector `e`.
template <std::size_t Rows, expression E>
    requires(shape_of<E>::rank == 1)
constexpr auto broadcast_rows(E&& e) {
    return detail::broadcast_rows_node<Rows, E&&>{std::forward<E>(e)};
}

}  // namespace metagrad
