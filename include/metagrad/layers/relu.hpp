// metagrad::relu: the rectified linear unit max(0, x).
#pragma once

#include <string_view>

#include "metagrad/layers/activation.hpp"

namespace metagrad {

/// max(0, x), element-wise; its derivative is taken as 0 at x = 0 (the subgradient PyTorch uses).
/// NaN propagates as in PyTorch: relu(NaN) is NaN (not 0, which would let one NaN feature corrupt
/// weights while every loss stays finite), and the gradient passes through a NaN unchanged.
struct relu : elementwise_activation<relu> {
    static constexpr std::string_view name = "relu";
    // `value` and `derivative` are written with operators alone, so they work on vectors as
    // well: a dense layer before it applies it in its forward kernel's epilogue, and a dense
    // layer after it takes the gradient through it in its input-gradient kernel's.
    using provides = hooks<relu, vector_maths_hook, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): the node Relu.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.elementwise("Relu");
    }
    // Tested as `x <= 0`, which NaN fails, so NaN is returned as it is: by selection, not by
    // arithmetic, which clang refuses to produce a NaN by in constant evaluation. Every other
    // input gives what `x > 0 ? x : 0` gave, the sign of zero included.
    template <class T>
    static constexpr T value(T x) {
        return x <= 0 ? T{0} : x;
    }
    // PyTorch's threshold_backward: 0 where x <= 0, else the incoming gradient (also at NaN).
    template <class T>
    static constexpr T derivative(T x, T) {
        return x <= 0 ? T{} : T{} + 1;  // T{} + 1: a vector of ones when T is a vector
    }
};

}  // namespace metagrad
