// metagrad::gelu and gelu_tanh: the Gaussian error linear unit, exact and in its tanh form.
#pragma once

#include <string_view>

#include "metagrad/layers/activation.hpp"
#include "metagrad/math/erf.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

/// x Phi(x), Phi the standard normal distribution function, element-wise: PyTorch's `GELU()`
/// (Hendrycks and Gimpel, 2016). Written as 0.5 x erfc(-x / sqrt 2), which keeps its digits in
/// the left tail where 1 + erf(x / sqrt 2) cancels. NaN gives NaN, and so does -inf (-inf times
/// 0), as in PyTorch.
struct gelu : elementwise_activation<gelu> {
    static constexpr std::string_view name = "gelu";
    using provides = hooks<gelu, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): 0.5 x (1 + Erf(x / sqrt 2)), since Gelu is
    /// opset 20's (Debian's onnx stops at 17). Within 1e-7 of the erfc form in the left tail.
    template <class S, class G>
    static void to_onnx(G& g) {
        const auto x = g.input();
        const auto erf = g.node("Erf", {g.node("Mul", {x, g.constant({one_over_root_two<float>})})});
        const auto phi2 = g.node("Add", {erf, g.constant({1.0f})});  // 2 Phi(x)
        g.output(g.node("Mul", {g.node("Mul", {x, phi2}), g.constant({0.5f})}));
    }
    template <class T>
    static constexpr T one_over_root_two = static_cast<T>(0.70710678118654752440);
    template <class T>
    static constexpr T one_over_root_two_pi = static_cast<T>(0.39894228040143267794);
    template <class T>
    static constexpr T value(T x) {
        return T{0.5} * x * math::erfc(-x * one_over_root_two<T>);
    }
    // d/dx = Phi(x) + x phi(x), phi the normal density e^(-x^2/2) / sqrt(2 pi).
    template <class T>
    static constexpr T derivative(T x, T) {
        return T{0.5} * math::erfc(-x * one_over_root_two<T>) + x * one_over_root_two_pi<T> * math::exp(T{-0.5} * x * x);
    }
};

/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), element-wise: PyTorch's
/// `GELU(approximate='tanh')`, within about 1e-3 of `gelu`, and cheaper. NaN gives NaN.
struct gelu_tanh : elementwise_activation<gelu_tanh> {
    static constexpr std::string_view name = "gelu_tanh";
    using provides = hooks<gelu_tanh, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): the formula above in Mul, Add and Tanh nodes.
    template <class S, class G>
    static void to_onnx(G& g) {
        const auto x = g.input();
        const auto cube = g.node("Mul", {g.node("Mul", {x, x}), x});
        const auto inner = g.node("Add", {x, g.node("Mul", {cube, g.constant({cubic<float>})})});
        const auto t = g.node("Tanh", {g.node("Mul", {inner, g.constant({root_two_over_pi<float>})})});
        const auto half_x = g.node("Mul", {x, g.constant({0.5f})});
        g.output(g.node("Mul", {half_x, g.node("Add", {t, g.constant({1.0f})})}));
    }
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
