// metagrad::log_softmax: the logarithm of the normalized exponentials along the last axis.
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/layer.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"

namespace metagrad {

/// y_j = x_j - log sum_k e^{x_k} along the last axis (PyTorch's `LogSoftmax(dim=-1)`), computed
/// after subtracting the row's maximum; with `nll_loss` it is softmax cross-entropy in two steps.
struct log_softmax {
    static constexpr std::string_view name = "log_softmax";
    using provides = hooks<log_softmax, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): LogSoftmax over the last axis, features last.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.output(g.node("LogSoftmax", {g.input(onnx_layout::channels_last)}, {G::integer("axis", -1)}), onnx_layout::channels_last);
    }
    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = no_parameters;
    template <class S>
    static constexpr std::size_t flops = 4 * S::size;

    template <class T, class S>
    static constexpr tensor<T, S> forward(const no_parameters&, const tensor<T, S>& x) {
        constexpr std::size_t n = S::last;
        tensor<T, S> y;
        for (std::size_t r = 0; r < S::rows; ++r) {
            T top = x[r * n];
            for (std::size_t j = 1; j < n; ++j) top = x[r * n + j] > top ? x[r * n + j] : top;
            T total{};
            for (std::size_t j = 0; j < n; ++j) total += math::exp(x[r * n + j] - top);
            const T shift = top + math::log(total);
            for (std::size_t j = 0; j < n; ++j) y[r * n + j] = x[r * n + j] - shift;
        }
        return y;
    }
    // dl/dx_j = dl/dy_j - softmax_j * sum_k dl/dy_k, with softmax_j = e^{y_j}.
    template <class T, class S>
    static constexpr tensor<T, S> backward(const no_parameters&, const tensor<T, S>&, const tensor<T, S>& y,
                                           const tensor<T, S>& dl_dy, no_parameters&) {
        constexpr std::size_t n = S::last;
        tensor<T, S> dx;
        for (std::size_t r = 0; r < S::rows; ++r) {
            T total{};
            for (std::size_t j = 0; j < n; ++j) total += dl_dy[r * n + j];
            for (std::size_t j = 0; j < n; ++j) dx[r * n + j] = dl_dy[r * n + j] - math::exp(y[r * n + j]) * total;
        }
        return dx;
    }
};

}  // namespace metagrad
