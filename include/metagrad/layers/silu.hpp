// metagrad::silu: the sigmoid-weighted linear unit x * sigmoid(x) (also called swish).
#pragma once

#include <string_view>

#include "metagrad/layers/activation.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

/// x * sigmoid(x), element-wise (PyTorch's `SiLU`); its derivative s (1 + x (1 - s)) with
/// s = sigmoid(x). NaN gives NaN.
struct silu : elementwise_activation<silu> {
    static constexpr std::string_view name = "silu";
    using provides = hooks<silu, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): x * Sigmoid(x) (opset 17 has no SiLU).
    template <class S, class G>
    static void to_onnx(G& g) {
        const auto x = g.input();
        g.output(g.node("Mul", {x, g.node("Sigmoid", {x})}));
    }
    template <class T>
    static constexpr T value(T x) {
        return x != x ? x : x * math::sigmoid(x);
    }
    template <class T>
    static constexpr T derivative(T x, T) {
        if (x != x) return x;
        const T s = math::sigmoid(x);
        return s * (T{1} + x * (T{1} - s));
    }
};

}  // namespace metagrad
