// metagrad::tanh_layer: the hyperbolic tangent as a layer.
#pragma once

#include <string_view>
#include <type_traits>

#include "metagrad/layers/activation.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

/// tanh(x), element-wise; derivative 1 - y^2. (Named `tanh_layer` because `metagrad::tanh` is
/// the element-wise function on expressions.)
struct tanh_layer : elementwise_activation<tanh_layer> {
    static constexpr std::string_view name = "tanh";
    using provides = hooks<tanh_layer, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): the node Tanh.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.elementwise("Tanh");
    }
    template <class T>
    static constexpr T value(T x) {
        return math::tanh(x);
    }
    // float at run time: eval/vector_math.hpp, within 4 ulp (6 without FMA; tanh) or 2 ulp (sigmoid).
    template <class T, eval::float_vector V = eval::simd<T>>
        requires std::is_same_v<T, float>
    static V vector_value(V x) {
        return eval::tanh(x);
    }
    template <class T>
    static constexpr T derivative(T, T y) {
        return T{1} - y * y;
    }
};

}  // namespace metagrad
