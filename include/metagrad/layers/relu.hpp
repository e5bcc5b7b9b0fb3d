// metagrad::relu: the rectified linear unit max(0, x).
#pragma once

#include <string_view>

#include "metagrad/layers/activation.hpp"

namespace metagrad {

/// max(0, x), element-wise; its derivative is taken as 0 at x = 0 (the subgradient PyTorch uses).
struct relu : elementwise_activation<relu> {
    static constexpr std::string_view name = "relu";
    // `value` and `derivative` are written with operators alone, so they work on vectors as
    // well: a dense layer before it applies it in its forward kernel's epilogue, and a dense
    // layer after it takes the gradient through it in its input-gradient kernel's.
    static constexpr bool fuses_into_products = true;
    template <class T>
    static constexpr T value(T x) {
        return x > 0 ? x : T{0};
    }
    template <class T>
    static constexpr T derivative(T x, T) {
        return x > 0 ? T{} + 1 : T{};  // T{} + 1: a vector of ones when T is a vector
    }
};

}  // namespace metagrad
