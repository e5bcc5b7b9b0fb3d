// metagrad::reshape: an expression seen with another shape of the same size (row-major order kept).
#pragma once

#include <cstddef>
#include <utility>

#include "metagrad/core/expression.hpp"

namespace metagrad {

template <class Shape>
struct reshaped_to {};
template <class Shape>
struct reshaped_from {};
template <class To, class From>
inline constexpr bool sizes_agree = false;
template <class To, class From>
    requires(To::size == From::size)
inline constexpr bool sizes_agree<reshaped_to<To>, reshaped_from<From>> = true;

namespace detail {
template <class S, class E>
struct reshape_node {
    using value_type = value_type_of<E>;
    using shape_type = S;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = is_elementwise<E>;

    stored<E> operand;

    constexpr value_type operator[](std::size_t i) const { return operand[i]; }
    constexpr value_type at(std::size_t r, std::size_t c) const
        requires(S::rank == 2)
    {
        return operand[r * S::last + c];
    }

    // A reshaped tensor is the same memory read with other strides (for eval/ kernels).
    static constexpr std::size_t view_row_stride = S::last, view_column_stride = 1, view_size = S::size;
    constexpr const value_type* view_data() const
        requires is_tensor<std::remove_cvref_t<E>>
    {
        return operand.data.data();
    }
};
}  // namespace detail

/// `e` viewed with shape `S` (same number of elements, same row-major order); no copy.
template <shape_type S, expression E>
constexpr auto reshape(E&& e) {
    // A reshape must keep the number of elements.
    static_assert(sizes_agree<reshaped_to<S>, reshaped_from<shape_of<E>>>,
                  "metagrad::reshape: the new shape must have as many elements as the old");
    return detail::reshape_node<S, E&&>{std::forward<E>(e)};
}

/// `e` viewed as a matrix whose rows are its samples: a vector of N becomes 1 x N, a batch
/// B x N stays B x N. Layers written on rows thus serve single samples and batches alike.
template <expression E>
constexpr auto as_rows(E&& e) {
    using S = shape_of<E>;
    return reshape<shape<S::rows, S::last>>(std::forward<E>(e));
}

}  // namespace metagrad
