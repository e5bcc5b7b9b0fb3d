// metagrad::gelu_tanh: the Gaussian error linear unit, in its tanh form.
#pragma once

#include <string_view>

#include "metagrad/layers/activation.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), element-wise: PyTorch's
/// `GELU(approximate='tanh')` (within about 1e-3 of the erf form, `GELU()`, which metagrad does
/// not have yet). NaN gives NaN.
struct gelu_tanh : elementwise_activation<gelu_tanh> {
    static constexpr std::string_view name = "gelu_tanh";
    template <class T>
    static constexpr T root_two_over_pi = static_cast<T>(0.79788456080286535588);
    template <class T>
    static constexpr T cubic = static_cast<T>(0.044715);
    template <class T>
    static constexpr T value(T x) {
        if (x != x) return x;
        return T{0.5} * x * (T{1} + math::tanh(root_two_over_pi<T> * (x + cubic<T> * x * x * x)));
    }
    // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2), t the tanh above.
    template <class T>
    static constexpr T derivative(T x, T) {
        if (x != x) return x;
        const T t = math::tanh(root_two_over_pi<T> * (x + cubic<T> * x * x * x));
        return T{0.5} * (T{1} + t) + T{0.5} * x * (T{1} - t * t) * root_two_over_pi<T> * (T{1} + T{3} * cubic<T> * x * x);
    }
};

}  // namespace metagrad
