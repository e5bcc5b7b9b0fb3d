// metagrad::elu: the exponential linear unit.
#pragma once

#include <ratio>
#include <string_view>

#include "metagrad/layers/activation.hpp"
#include "metagrad/math/exp.hpp"

namespace metagrad {

/// x for x > 0, alpha (e^x - 1) otherwise, element-wise (PyTorch's `ELU(alpha)`); `Alpha` a
/// `std::ratio`, 1 by default. Its derivative is 1 for x > 0, y + alpha otherwise. NaN gives NaN.
template <class Alpha = std::ratio<1>>
struct elu : elementwise_activation<elu<Alpha>> {
    static constexpr std::string_view name = "elu";
    using provides = hooks<elu, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): Elu with its alpha.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.elementwise("Elu", {G::real("alpha", alpha<float>)});
    }
    template <class T>
    static constexpr T alpha = static_cast<T>(Alpha::num) / static_cast<T>(Alpha::den);
    template <class T>
    static constexpr T value(T x) {
        return x > 0 || x != x ? x : alpha<T> * math::expm1(x);
    }
    template <class T>
    static constexpr T derivative(T x, T y) {
        return x > 0 ? T{1} : x != x ? x : y + alpha<T>;
    }
};

}  // namespace metagrad
