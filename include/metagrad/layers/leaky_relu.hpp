// metagrad::leaky_relu: x for positive x, a small slope times x otherwise.
#pragma once

#include <ratio>
#include <string_view>

#include "metagrad/layers/activation.hpp"

namespace metagrad {

/// x if x > 0, else slope * x; `Slope` is a `std::ratio` (clang 14 takes no floating-point
/// template arguments), 1/100 by default as in PyTorch. NaN propagates: leaky_relu(NaN) is NaN.
template <class Slope = std::ratio<1, 100>>
struct leaky_relu : elementwise_activation<leaky_relu<Slope>> {
    static constexpr std::string_view name = "leaky_relu";
    using provides = hooks<leaky_relu, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): LeakyRelu with alpha = the slope.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.elementwise("LeakyRelu", {G::real("alpha", slope<float>)});
    }
    template <class T>
    static constexpr T slope = static_cast<T>(Slope::num) / static_cast<T>(Slope::den);

    // Tested as `x <= 0` so that NaN is returned by selection: clang refuses a NaN produced by
    // arithmetic (slope * NaN) in constant evaluation. Otherwise the values of `x > 0 ? x : ...`.
    template <class T>
    static constexpr T value(T x) {
        return x <= 0 ? slope<T> * x : x;
    }
    template <class T>
    static constexpr T derivative(T x, T) {
        return x > 0 ? T{1} : slope<T>;
    }
};

}  // namespace metagrad
