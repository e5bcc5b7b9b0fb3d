// metagrad::sigmoid: the logistic function 1 / (1 + e^-x).
#pragma once

#include <string_view>
#include <type_traits>

#include "metagrad/layers/activation.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

/// 1 / (1 + e^-x), element-wise, stable for large |x|; derivative y (1 - y). NaN gives NaN, in
/// constant evaluation too.
struct sigmoid : elementwise_activation<sigmoid> {
    static constexpr std::string_view name = "sigmoid";
    using provides = hooks<sigmoid, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): the node Sigmoid.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.elementwise("Sigmoid");
    }
    template <class T>
    static constexpr T value(T x) {
        // NaN is returned before any arithmetic on it: clang refuses to produce a NaN by
        // arithmetic in constant evaluation.
        return x != x ? x : math::sigmoid(x);
    }
    // float at run time: eval/vector_math.hpp, within 2 ulp over the whole float range.
    template <class T, eval::float_vector V = eval::simd<T>>
        requires std::is_same_v<T, float>
    static V vector_value(V x) {
        return eval::sigmoid(x);
    }
    template <class T>
    static constexpr T derivative(T, T y) {
        return y * (T{1} - y);
    }
};

}  // namespace metagrad
