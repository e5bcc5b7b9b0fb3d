// metagrad::transpose: a matrix seen with rows and columns swapped, without copying.
#pragma once

#include <cstddef>
#include <utility>

#include "metagrad/core/expression.hpp"

namespace metagrad {
namespace detail {
template <class E>
struct transpose_node {
    using value_type = value_type_of<E>;
    using shape_type = shape<shape_of<E>::template extent<1>, shape_of<E>::template extent<0>>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = false;  // reads (c, r) to write (r, c)

    stored<E> operand;

    constexpr value_type at(std::size_t r, std::size_t c) const { return operand.at(c, r); }

    // The operand's memory with its strides swapped, when it has memory (for eval/ kernels).
    static constexpr std::size_t view_row_stride = view_strides<E>::column;
    static constexpr std::size_t view_column_stride = view_strides<E>::row;
    static constexpr std::size_t view_size = shape_of<E>::size;
    constexpr const value_type* view_data() const
        requires requires(const stored<E>& e) { e.view_data(); }
    {
        return operand.view_data();
    }
    constexpr value_type operator[](std::size_t i) const {
        return at(i / shape_type::last, i % shape_type::last);
    }
};
}  // namespace detail

/// The transpose of a rank-2 expression, as a view (no copy, no evaluation).
template <matrix_expression E>
constexpr auto transpose(E&& e) {
    return detail::transpose_node<E&&>{std::forward<E>(e)};
}

}  // namespace metagrad
