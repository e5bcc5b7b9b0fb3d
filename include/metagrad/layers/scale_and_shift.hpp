// metagrad::scale_and_shift: the trained parameters of a normalization layer (batch norm, layer
// norm): one scale and one shift per feature.
#pragma once

#include <cstddef>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// `weight` (the scale, gamma) and `bias` (the shift, beta), one per feature, named as PyTorch's.
/// They start at 1 and 0 whatever the initializer: a normalization layer starts as the identity
/// on normalized values.
template <class T, std::size_t C>
struct scale_and_shift {
    vector<T, C> weight = vector<T, C>::filled(T{1});
    vector<T, C> bias{};

    static constexpr auto fields = metagrad::fields(field<"weight">(&scale_and_shift::weight), field<"bias">(&scale_and_shift::bias));
    static constexpr bool initialized_by_scheme = false;
    friend constexpr bool operator==(const scale_and_shift&, const scale_and_shift&) = default;
};

/// Folds a per-feature scale and shift applied after a layer into the layer itself, for a layer
/// whose output feature `c` is row `c` of its `weight` (the rows in the weight's leading axis)
/// applied to its input, plus `bias[c]` where it has a bias (dense layers, convolutions):
/// scale * (w_c . x + b_c) + shift = (scale w_c) . x + (scale b_c + shift). `folded` has a bias.
template <class From, class To, class V>
constexpr void absorb_into_rows(const From& p, const V& scale, const V& shift, To& folded) {
    using weight_type = decltype(From::weight);
    constexpr std::size_t rows = V::shape_type::size;
    constexpr std::size_t row = weight_type::shape_type::size / rows;
    static_assert(row * rows == weight_type::shape_type::size, "metagrad::absorb_into_rows: one scale per row of the weight");
    for (std::size_t c = 0; c < rows; ++c) {
        for (std::size_t k = 0; k < row; ++k) folded.weight[c * row + k] = p.weight[c * row + k] * scale[c];
        if constexpr (requires { p.bias; })
            folded.bias[c] = p.bias[c] * scale[c] + shift[c];
        else
            folded.bias[c] = shift[c];
    }
}

}  // namespace metagrad
