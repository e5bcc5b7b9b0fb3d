// metagrad::layer_norm: normalizes each position's features over themselves, with a learned
// scale and shift.
#pragma once

#include <cstddef>
#include <ratio>
#include <string_view>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/parallel.hpp"
#include "metagrad/layers/scale_and_shift.hpp"
#include "metagrad/math/sqrt.hpp"

namespace metagrad {

/// Layer normalization (Ba, Kiros and Hinton, 2016; PyTorch's `LayerNorm(C)` with `C` the last
/// axis): the `C` features of each position (a vector, a time step, a pixel) are normalized with
/// their own mean and biased variance,
///
///     x^ = (x - mean) / sqrt(var + eps),   y = weight * x^ + bias,
///
/// the same in training and inference (no state, and a batch is its samples side by side).
/// `Epsilon` is a `std::ratio`, PyTorch's 1e-5 by default. Normalizing over the last axis only is
/// the form transformers and recurrent networks use; PyTorch's wider `normalized_shape` (several
/// trailing axes) is a `flatten` away for a whole sample.
template <class Epsilon = std::ratio<1, 100000>>
struct layer_norm {
    static constexpr std::string_view name = "layer_norm";

    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = scale_and_shift<T, S::last>;
    template <class S>
    static constexpr std::size_t flops = 2 * S::size;

    /// What the forward pass keeps for the backward pass: the normalized input and each
    /// position's 1 / sqrt(var + eps).
    template <class T, class S, std::size_t B>
    struct cache {
        tensor<T, shape<B * S::size>> normalized{};
        tensor<T, shape<B * S::size / S::last>> inverse_deviation{};
    };

    template <class T>
    static constexpr T epsilon = static_cast<T>(Epsilon::num) / static_cast<T>(Epsilon::den);

    using provides = hooks<layer_norm, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): LayerNormalization over the last axis
    /// (opset 17), features last.
    template <class S, class G>
    static void to_onnx(G& g) {
        g.output(g.node("LayerNormalization", {g.input(onnx_layout::channels_last), g.parameter("weight"), g.parameter("bias")},
                        {G::integer("axis", -1), G::real("epsilon", epsilon<float>)}),
                 onnx_layout::channels_last);
    }

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t features = IO::sample_shape::last;
        constexpr std::size_t positions = IO::input_shape::size / features;
        const auto& p = io.parameters;
        // Each position on its own: positions are split between the threads, every split
        // giving the same values.
        eval::split_between_threads<positions, 1, IO::input_shape::size>([&](std::size_t begin, std::size_t end) {
            for (std::size_t r = begin; r < end; ++r) {
                const T* x = &io.x[r * features];
                T mean{}, variance{};
                for (std::size_t c = 0; c < features; ++c) mean += x[c];
                mean /= static_cast<T>(features);
                for (std::size_t c = 0; c < features; ++c) variance += (x[c] - mean) * (x[c] - mean);
                variance /= static_cast<T>(features);
                const T inverse_deviation = T{1} / math::sqrt(variance + epsilon<T>);
                io.cache.inverse_deviation[r] = inverse_deviation;
                for (std::size_t c = 0; c < features; ++c) {
                    const T normalized = (x[c] - mean) * inverse_deviation;
                    io.cache.normalized[r * features + c] = normalized;
                    io.y[r * features + c] = p.weight[c] * normalized + p.bias[c];
                }
            }
        });
    }

    // With g = weight * dl/dy, each position's dl/dx = (g - mean(g) - x^ mean(g x^)) / sqrt(var + eps),
    // the means over its features: the mean and variance depend on every feature of the position.
    // The parameters' gradients sum over positions: split by features, so that every split sums in
    // the same order.
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t features = IO::sample_shape::last;
        constexpr std::size_t positions = IO::input_shape::size / features;
        const auto& p = io.parameters;
        auto& dp = io.dl_dparameters;
        constexpr std::size_t line = 64 / sizeof(T);
        eval::split_between_threads<features, line, IO::input_shape::size>([&](std::size_t begin, std::size_t end) {
            for (std::size_t c = begin; c < end; ++c) dp.weight[c] = dp.bias[c] = T{};
            for (std::size_t r = 0; r < positions; ++r)
                for (std::size_t c = begin; c < end; ++c) {
                    const T g = io.dl_dy[r * features + c];
                    dp.weight[c] += g * io.cache.normalized[r * features + c];
                    dp.bias[c] += g;
                }
        });
        if constexpr (IO::wants_input_gradient) {
            eval::split_between_threads<positions, 1, IO::input_shape::size>([&](std::size_t begin, std::size_t end) {
                for (std::size_t r = begin; r < end; ++r) {
                    const T* normalized = &io.cache.normalized[r * features];
                    const T* dl_dy = &io.dl_dy[r * features];
                    T mean_g{}, mean_g_normalized{};
                    for (std::size_t c = 0; c < features; ++c) {
                        const T g = p.weight[c] * dl_dy[c];
                        mean_g += g;
                        mean_g_normalized += g * normalized[c];
                    }
                    mean_g /= static_cast<T>(features);
                    mean_g_normalized /= static_cast<T>(features);
                    for (std::size_t c = 0; c < features; ++c)
                        io.dl_dx[r * features + c] =
                            (p.weight[c] * dl_dy[c] - mean_g - normalized[c] * mean_g_normalized) * io.cache.inverse_deviation[r];
                }
            });
        }
    }
};

}  // namespace metagrad
