// metagrad::softplus: the smooth ReLU log(1 + e^x).
#pragma once

#include <string_view>

#include "metagrad/layers/activation.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

/// log(1 + e^x), element-wise (PyTorch's `Softplus()` with beta 1, computed stably: max(x, 0) +
/// log(1 + e^-|x|), so large x give x and not infinity); its derivative is sigmoid(x). NaN gives NaN.
struct softplus : elementwise_activation<softplus> {
    static constexpr std::string_view name = "softplus";
    using provides = hooks<softplus, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): the node Softplus.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.elementwise("Softplus");
    }
    template <class T>
    static constexpr T value(T x) {
        if (x != x) return x;
        const T positive = x > 0 ? x : T{0}, magnitude = x > 0 ? x : -x;
        return positive + math::log1p(math::exp(-magnitude));
    }
    template <class T>
    static constexpr T derivative(T x, T) {
        return x != x ? x : math::sigmoid(x);
    }
};

}  // namespace metagrad
