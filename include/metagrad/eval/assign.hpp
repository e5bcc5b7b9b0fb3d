// metagrad::eval::assign: how an expression is written into a tensor. The one place that
// decides how expressions run; a faster path for some expression types plugs in here.
#pragma once

#include <cstddef>

#include "metagrad/core/expression.hpp"

namespace metagrad::eval {

/// Writes every element of `e` into `out` (which must not be an operand of a non-element-wise
/// `e`; `assign` makes a temporary when it might be). One fused loop: no temporaries for
/// element-wise trees, constant-evaluable.
template <class Data, expression E>
constexpr void assign_to_fresh(Data& out, const E& e) {
    using S = shape_of<E>;
    if constexpr (S::rank == 2 && detail::has_at<E>) {
        // Structural nodes answer (row, column) directly: no division per element.
        constexpr std::size_t rows = S::template extent<0>, columns = S::template extent<1>;
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < columns; ++c) out[r * columns + c] = e.at(r, c);
    } else {
        for (std::size_t i = 0; i < S::size; ++i) out[i] = e[i];
    }
}

/// `out = e`, safe when `e` reads `out`: element-wise expressions are written in place,
/// others (a matrix product, a transpose) are evaluated into a temporary first.
template <class Tensor, expression E>
constexpr void assign(Tensor& out, const E& e) {
    if constexpr (detail::is_elementwise<E>) {
        assign_to_fresh(out.data, e);
    } else {
        typename Tensor::storage_type tmp{};
        assign_to_fresh(tmp, e);
        out.data = tmp;
    }
}

}  // namespace metagrad::eval
