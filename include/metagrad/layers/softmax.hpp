// metagrad::softmax: normalized exponentials along the last axis.
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/layer.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/math/exp.hpp"

namespace metagrad {

/// y_j = e^{x_j} / sum_k e^{x_k} along the last axis (each sample of a batch separately),
/// computed after subtracting the row's maximum so that large inputs do not overflow.
/// For training a classifier prefer `softmax_cross_entropy` on logits: it is fused and stabler.
struct softmax {
    static constexpr std::string_view name = "softmax";
    using provides = hooks<softmax, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): Softmax over the last axis, features last.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.output(g.node("Softmax", {g.input(onnx_layout::channels_last)}, {G::integer("axis", -1)}), onnx_layout::channels_last);
    }

    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = no_parameters;

    template <class T, class S>
    static constexpr tensor<T, S> forward(const no_parameters&, const tensor<T, S>& x) {
        constexpr std::size_t n = S::last;
        tensor<T, S> y;
        for (std::size_t r = 0; r < S::rows; ++r) {
            T top = x[r * n];
            for (std::size_t j = 1; j < n; ++j) top = x[r * n + j] > top ? x[r * n + j] : top;
            T total{};
            for (std::size_t j = 0; j < n; ++j) total += (y[r * n + j] = math::exp(x[r * n + j] - top));
            for (std::size_t j = 0; j < n; ++j) y[r * n + j] /= total;
        }
        return y;
    }

    // The Jacobian is diag(y) - y y^T, so dl/dx = y * (dl/dy - <dl/dy, y>) row by row.
    template <class T, class S>
    static constexpr tensor<T, S> backward(const no_parameters&, const tensor<T, S>&, const tensor<T, S>& y,
                                           const tensor<T, S>& dl_dy, no_parameters&) {
        constexpr std::size_t n = S::last;
        tensor<T, S> dx;
        for (std::size_t r = 0; r < S::rows; ++r) {
            T inner{};
            for (std::size_t j = 0; j < n; ++j) inner += dl_dy[r * n + j] * y[r * n + j];
            for (std::size_t j = 0; j < n; ++j) dx[r * n + j] = y[r * n + j] * (dl_dy[r * n + j] - inner);
        }
        return dx;
    }
};

}  // namespace metagrad
