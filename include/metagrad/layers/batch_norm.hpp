// metagrad::batch_norm: normalizes each feature (channel) over the batch, with a learned scale and
// shift, and running statistics for inference.
#pragma once

#include <cstddef>
#include <ratio>
#include <string_view>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/parallel.hpp"
#include "metagrad/layers/scale_and_shift.hpp"
#include "metagrad/math/sqrt.hpp"

namespace metagrad {

/// Batch norm's state: the running mean and (unbiased) variance of each feature, updated by every
/// training pass and used in inference; they start at 0 and 1, as PyTorch's buffers.
template <class T, std::size_t C>
struct batch_norm_state {
    vector<T, C> running_mean{};
    vector<T, C> running_var = vector<T, C>::filled(T{1});

    static constexpr auto fields =
        metagrad::fields(field<"running_mean">(&batch_norm_state::running_mean), field<"running_var">(&batch_norm_state::running_var));
    friend constexpr bool operator==(const batch_norm_state&, const batch_norm_state&) = default;
};

/// Batch normalization (Ioffe and Szegedy, 2015; PyTorch's `BatchNorm1d` on vectors and, with
/// images channels last, `BatchNorm2d`): each feature of the last axis is normalized over every
/// other axis and the batch. In training, with the batch's mean and biased variance:
///
///     x^ = (x - mean) / sqrt(var + eps),   y = weight * x^ + bias,
///     running_mean <- (1 - momentum) running_mean + momentum mean,
///     running_var  <- (1 - momentum) running_var  + momentum var * N / (N - 1)
///
/// (N values per feature); in inference, with the running statistics instead, and the state is
/// left as it is. `Momentum` and `Epsilon` are `std::ratio`s, PyTorch's 0.1 and 1e-5 by default.
/// A training pass needs more than one value per feature (a batch, or a sample with spatial
/// axes): a single vector is a compile error there, as PyTorch's is a run-time one.
template <class Momentum = std::ratio<1, 10>, class Epsilon = std::ratio<1, 100000>>
struct batch_norm {
    static constexpr std::string_view name = "batch_norm";

    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = scale_and_shift<T, S::last>;
    template <class T, class S>
    using state = batch_norm_state<T, S::last>;
    template <class S>
    static constexpr std::size_t flops = 2 * S::size;

    /// What training keeps for the backward pass: the normalized input and each feature's
    /// 1 / sqrt(var + eps).
    template <class T, class S, std::size_t B>
    struct cache {
        tensor<T, shape<B * S::size>> normalized{};
        vector<T, S::last> inverse_deviation{};
    };

    template <class T>
    static constexpr T momentum = static_cast<T>(Momentum::num) / static_cast<T>(Momentum::den);
    template <class T>
    static constexpr T epsilon = static_cast<T>(Epsilon::num) / static_cast<T>(Epsilon::den);

    // Each feature's statistics and values are computed apart from the others': features are
    // split between the threads in whole cache lines, and every split gives the same values.
    template <class T, std::size_t Features, std::size_t Values, class F>
    static constexpr void over_features(F f) {
        constexpr std::size_t line = 64 / sizeof(T);
        eval::split_between_threads<Features, line, Features * Values>(f);
    }

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t features = IO::sample_shape::last;
        constexpr std::size_t values = IO::input_shape::size / features;  // N per feature
        const auto& p = io.parameters;
        if constexpr (Ctx::training) {
            // Batch statistics need two values of a feature at least.
            static_assert(values > 1, "metagrad::batch_norm: a training pass needs more than one value per feature (a batch)");
            over_features<T, features, values>([&](std::size_t begin, std::size_t end) {
                vector<T, features> mean{}, variance{};
                for (std::size_t r = 0; r < values; ++r)
                    for (std::size_t c = begin; c < end; ++c) mean[c] += io.x[r * features + c];
                for (std::size_t c = begin; c < end; ++c) mean[c] /= static_cast<T>(values);
                for (std::size_t r = 0; r < values; ++r)
                    for (std::size_t c = begin; c < end; ++c) {
                        const T d = io.x[r * features + c] - mean[c];
                        variance[c] += d * d;
                    }
                for (std::size_t c = begin; c < end; ++c) {
                    variance[c] /= static_cast<T>(values);
                    io.cache.inverse_deviation[c] = T{1} / math::sqrt(variance[c] + epsilon<T>);
                    io.state.running_mean[c] = (T{1} - momentum<T>) * io.state.running_mean[c] + momentum<T> * mean[c];
                    io.state.running_var[c] = (T{1} - momentum<T>) * io.state.running_var[c] +
                                              momentum<T> * variance[c] * static_cast<T>(values) / static_cast<T>(values - 1);
                }
                for (std::size_t r = 0; r < values; ++r)
                    for (std::size_t c = begin; c < end; ++c) {
                        const std::size_t i = r * features + c;
                        const T normalized = (io.x[i] - mean[c]) * io.cache.inverse_deviation[c];
                        io.cache.normalized[i] = normalized;
                        io.y[i] = p.weight[c] * normalized + p.bias[c];
                    }
            });
        } else {
            // One multiply-add per element: the running statistics folded into a scale and shift.
            vector<T, features> scale, shift;
            inference_scale_and_shift(p, io.state, scale, shift);
            over_features<T, features, values>([&](std::size_t begin, std::size_t end) {
                for (std::size_t r = 0; r < values; ++r)
                    for (std::size_t c = begin; c < end; ++c) io.y[r * features + c] = io.x[r * features + c] * scale[c] + shift[c];
            });
        }
    }

    /// Inference as y = scale * x + shift per feature: scale = weight / sqrt(running_var + eps),
    /// shift = bias - running_mean * scale. The inference form folds these into the layer before.
    template <class P, class State, class V>
    static constexpr void inference_scale_and_shift(const P& p, const State& state, V& scale, V& shift) {
        using T = typename V::value_type;
        for (std::size_t c = 0; c < V::shape_type::size; ++c) {
            scale[c] = p.weight[c] / math::sqrt(state.running_var[c] + epsilon<T>);
            shift[c] = p.bias[c] - state.running_mean[c] * scale[c];
        }
    }
    using provides = hooks<batch_norm, scale_and_shift_in_inference_hook, onnx_hook, streams_hook>;

    /// In an exported ONNX graph (io/onnx_graph.hpp): BatchNormalization in inference, on the
    /// running statistics, over the channels (first, where samples have spatial axes).
    template <class S, class G>
    static void to_onnx(G& g) {
        const auto x = g.input(onnx_layout::channels_first);
        g.output(g.node("BatchNormalization",
                        {x, g.parameter("weight"), g.parameter("bias"), g.parameter("running_mean"), g.parameter("running_var")},
                        {G::real("epsilon", epsilon<float>)}),
                 onnx_layout::channels_first);
    }

    // In training the batch's statistics depend on every input, so each dl/dx gathers the whole
    // feature's gradients: dl/dx = weight / sqrt(var + eps) * (dl/dy - mean(dl/dy) - x^ mean(dl/dy x^)).
    // In inference the statistics are constants and dl/dx = weight / sqrt(running_var + eps) dl/dy.
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t features = IO::sample_shape::last;
        constexpr std::size_t values = IO::input_shape::size / features;
        const auto& p = io.parameters;
        auto& dp = io.dl_dparameters;
        over_features<T, features, values>([&](std::size_t begin, std::size_t end) {
            vector<T, features> inverse_deviation;
            const auto normalized = [&](std::size_t r, std::size_t c) {
                const std::size_t i = r * features + c;
                if constexpr (Ctx::training)
                    return io.cache.normalized[i];
                else
                    return (io.x[i] - io.state.running_mean[c]) * inverse_deviation[c];
            };
            for (std::size_t c = begin; c < end; ++c) {
                if constexpr (Ctx::training)
                    inverse_deviation[c] = io.cache.inverse_deviation[c];
                else
                    inverse_deviation[c] = T{1} / math::sqrt(io.state.running_var[c] + epsilon<T>);
                dp.weight[c] = T{};
                dp.bias[c] = T{};
            }
            for (std::size_t r = 0; r < values; ++r)
                for (std::size_t c = begin; c < end; ++c) {
                    const T g = io.dl_dy[r * features + c];
                    dp.weight[c] += g * normalized(r, c);
                    dp.bias[c] += g;
                }
            if constexpr (IO::wants_input_gradient) {
                for (std::size_t r = 0; r < values; ++r)
                    for (std::size_t c = begin; c < end; ++c) {
                        const std::size_t i = r * features + c;
                        T g = io.dl_dy[i];
                        // dp.bias is the sum of dl/dy, dp.weight the sum of dl/dy x^.
                        if constexpr (Ctx::training)
                            g -= (dp.bias[c] + normalized(r, c) * dp.weight[c]) / static_cast<T>(values);
                        io.dl_dx[i] = p.weight[c] * inverse_deviation[c] * g;
                    }
            }
        });
    }
};

}  // namespace metagrad
