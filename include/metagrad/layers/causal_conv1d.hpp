// metagrad::causal_conv1d: a causal, dilated convolution along the time axis of a sequence (each
// output reads the present and past inputs only), which streams one step at a time.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "metagrad/core/broadcast.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/matmul.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/reshape.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/core/transpose.hpp"
#include "metagrad/eval/assign.hpp"
#include "metagrad/eval/matmul_kernel.hpp"
#include "metagrad/eval/simd.hpp"
#include "metagrad/layers/convolution.hpp"
#include "metagrad/layers/sequence_options.hpp"
#include "metagrad/layers/window.hpp"

namespace metagrad {

/// Diagnostic vocabulary: a causal convolution's output channels and options.
template <std::size_t Out, class... Options>
struct causal_conv1d_options {};

namespace detail {
template <class O>
inline constexpr bool is_causal_conv1d_option = std::is_same_v<O, without_bias> || std::is_same_v<O, stateful>;
template <std::size_t H, std::size_t W>
inline constexpr bool is_causal_conv1d_option<kernel<H, W>> = true;
template <std::size_t H, std::size_t W>
inline constexpr bool is_causal_conv1d_option<dilation<H, W>> = true;
}  // namespace detail

template <class O>
inline constexpr bool causal_conv1d_options_are_valid = false;
template <std::size_t Out, class... Options>
    requires(Out > 0 && (detail::is_causal_conv1d_option<Options> && ...) && detail::window_options<false, Options...>::has_kernel &&
             detail::window_options<false, Options...>::none_repeated && detail::window_options<false, Options...>::extents_positive &&
             (std::size_t{0} + ... + (std::is_same_v<Options, stateful> ? 1 : 0)) <= 1)
inline constexpr bool causal_conv1d_options_are_valid<causal_conv1d_options<Out, Options...>> = true;

namespace detail {
// In a class of its own, so that a network of a badly written causal convolution reports this one error.
template <class O>
struct check_causal_conv1d_options {
    // A causal convolution needs `kernel<K>` once; `dilation<D>`, `without_bias` and `stateful` at
    // most once each; no stride, padding or groups (the padding is (K-1)*D zeros before the start).
    static_assert(causal_conv1d_options_are_valid<O>,
                  "metagrad::causal_conv1d: write causal_conv1d<Out, kernel<K>, [dilation<D>], [without_bias], [stateful]> "
                  "with positive extents");
    static constexpr bool value = true;
};
}  // namespace detail

/// A causal, dilated convolution over time (WaveNet's, TCN's), channels last: sequences `<T, C>`
/// become `<T, Out>`, with
///
///     y_t = bias + sum_{k < K} weight[:, k, :] x_{t - (K-1-k) D}
///
/// and inputs before the start zero: PyTorch's `Conv1d(C, Out, K, dilation=D, padding=(K-1)*D)`
/// with its last (K-1)*D outputs dropped (left padding only). Options, in any order: `kernel<K>`
/// (required), `dilation<D>` (1), `without_bias`, `stateful`. Parameters `weight` (`Out x K x C`,
/// channels last like conv1d's: PyTorch's `Out x C x K` with its channel axis moved last,
/// `w.permute(0, 2, 1)`) and `bias` (Out).
///
/// `stateful`: the last (K-1)*D inputs of each sequence of the batch stay in the cache after a
/// call (a ring buffer per sequence) and stand for the zeros before the start at the next call, so
/// consecutive chunks (or single steps: `stream`, infer/stream.hpp) give the whole sequence's
/// outputs. The gradient stops at the chunk's start. `reset_carried_state` and `stream::reset`
/// zero them (and the ring's position) again.
///
/// The forward pass copies each output's K taps (K*C values; past inputs from the ring, or zeros)
/// into the cache as one row (im2col over time) and runs `patches x weight^T + bias` as one
/// product: at run time a stream's (the kernel packed input-major, eval::broadcast_rows_kernel),
/// so that the whole sequence equals it streamed, bit for bit; the backward pass takes the weight gradient from the same
/// patches and the input gradient as the patches' gradients folded back onto the input. Allocates
/// nothing; constexpr.
template <std::size_t Out, class... Options>
struct causal_conv1d {
    static_assert(detail::check_causal_conv1d_options<causal_conv1d_options<Out, Options...>>::value);

private:
    using options = detail::window_options<false, Options...>;
    static constexpr std::size_t at_least_one(std::size_t v) { return v > 0 ? v : 1; }

public:
    static constexpr std::string_view name = "causal_conv1d";
    static constexpr std::size_t out_channels = at_least_one(Out);
    static constexpr std::size_t taps = at_least_one(options::kernel_h), spacing = at_least_one(options::dilation_h);
    /// How many past inputs an output reads beyond its own: (K-1)*D, the receptive field less one.
    static constexpr std::size_t history = (taps - 1) * spacing;
    static constexpr bool has_bias = options::bias;
    static constexpr bool carries_state = (std::is_same_v<Options, stateful> || ...);

    /// The same layer carrying its past inputs between calls: what a stream runs (infer/stream.hpp).
    using streaming_form = std::conditional_t<carries_state, causal_conv1d, causal_conv1d<Out, Options..., stateful>>;
    using provides = hooks<causal_conv1d, streams_hook, stepping_hook, onnx_hook>;

    /// A sequence: time steps by channels.
    template <class S>
    static constexpr bool accepts = [] {
        if constexpr (detail::is_shape<S>)
            return S::rank == 2;
        else
            return false;
    }();

    template <class S>
    using output_shape = shape<S::template extent<0>, out_channels>;

    template <class T, class S>
    using parameters = convolution_parameters<T, shape<out_channels, taps, S::last>, has_bias>;

    /// A multiply and an add per tap and input channel of each output, and the bias.
    template <class S>
    static constexpr std::size_t flops = S::template extent<0> * out_channels * (2 * taps * S::last + (has_bias ? 1 : 0));

    /// In an exported ONNX graph (io/onnx_graph.hpp): Conv on the input channels first, its weight
    /// `Out x C x K` (the channel axis moved second, as conv1d's), dilated, with (K-1)*D zeros
    /// before the start and none after (pads [(K-1)*D, 0]). A `stateful` layer's carried inputs
    /// are no part of a model: it starts from zeros, as after `reset_carried_state`.
    template <class S, class G>
    static void to_onnx(G& g) {
        const typename G::attributes attributes{G::integers("kernel_shape", {taps}), G::integers("strides", {1}),
                                                G::integers("pads", {history, 0}), G::integers("dilations", {spacing})};
        const auto x = g.input(onnx_layout::channels_first);
        const auto weight = g.parameter("weight", {0, 2, 1});
        if constexpr (has_bias)
            g.output(g.node("Conv", {x, weight, g.parameter("bias")}, attributes), onnx_layout::channels_first);
        else
            g.output(g.node("Conv", {x, weight}, attributes), onnx_layout::channels_first);
    }

    /// A stream's parameters (infer/stream.hpp): the kernel input-major (`K*C x Out`, rows padded
    /// with zeros to whole vectors), so that a step's product broadcasts each tap's value over a
    /// row of outputs; in panels (eval::operand_layout), so that each tile reads one run of memory.
    static constexpr eval::operand_layout weight_layout = eval::operand_layout::panels;
    template <class T>
    static constexpr std::size_t padded_outputs = (out_channels + eval::lanes<T> - 1) / eval::lanes<T> * eval::lanes<T>;
    template <class T, class S>
    struct stepping_parameters {
        matrix<T, taps * S::last, padded_outputs<T>> weight{};
        vector<T, padded_outputs<T>> bias{};
    };
    /// What the forward pass of `B` sequences of `S` keeps: each output's taps, row `b * T + t`
    /// (sequence b, step t) of `K*C` values, and (`stateful`) each sequence's last (K-1)*D inputs.
    template <class T, class S, std::size_t B>
    struct cache {
        static constexpr std::size_t steps = S::template extent<0>, channels = S::last;
        static constexpr std::size_t kept = carries_state && history > 0 ? history : 1;
        tensor<T, shape<B * steps, taps * channels>> patches{};
        /// The kernel as a stream packs it, and the outputs with its padding columns (unless
        /// there are none): at run time the forward pass takes a stream's products, so that a
        /// sequence run whole equals it streamed, bit for bit.
        stepping_parameters<T, S> packed{};
        tensor<T, shape<padded_outputs<T> == out_channels ? 1 : B * steps, padded_outputs<T>>> padded_outputs_of_steps{};
        /// A ring per sequence: input x_{-(K-1)D + i} (before this call's first step) at
        /// position (oldest + i) mod (K-1)D.
        tensor<T, shape<B, kept, channels>> past{};
        std::size_t oldest = 0;
    };

    /// The patches' gradients, before they are folded back onto the input.
    template <class T, class S, std::size_t B>
    struct scratch {
        tensor<T, shape<B * S::template extent<0>, taps * S::last>> patch_gradients{};
    };

    /// What one stream carries: the patches of its next (K-1)*D + 1 steps, filled in as their
    /// inputs arrive. A step writes its input once into each patch that will read it (tap j of
    /// the step (K-1-j)*D later) and then reads its own patch where it lies: no taps are copied
    /// into a patch on the step's chain, which now stores each input and loads it once (the
    /// stack of three streamed 44 -> 41 ns a sample, W6, AVX-512). A patch is whole when its
    /// step comes: every tap was written since it was last read, or is a zero before the start.
    template <class T, class S>
    struct carried {
        static constexpr std::size_t slots = history + 1;
        matrix<T, slots, taps * S::last> patches{};
        std::size_t present = 0;  // the slot of the next step's patch
    };
    template <class T, class S>
    static void pack_for_stepping(const parameters<T, S>& p, stepping_parameters<T, S>& q) {
        constexpr std::size_t k = taps * S::last, padded = padded_outputs<T>;
        // In place (no temporary), the padding columns zero.
        for (std::size_t o = 0; o < padded; ++o) {
            for (std::size_t i = 0; i < k; ++i)
                q.weight[eval::broadcast_operand<T, k, padded, weight_layout>::offset(i, o)] = o < out_channels ? p.weight[o * k + i] : T{};
            q.bias[o] = T{};
            if constexpr (has_bias)
                if (o < out_channels) q.bias[o] = p.bias[o];
        }
    }
    /// One step of one stream: the sums of a pass over a sequence at run time, in the same order.
    template <class T, class S>
    static void step(const stepping_parameters<T, S>& q, carried<T, S>& state, const T* x, T* y) {
        constexpr std::size_t c = S::last, k = taps * c, padded = padded_outputs<T>, slots = carried<T, S>::slots;
        const std::size_t present = state.present;
        state.present = present + 1 == slots ? 0 : present + 1;
        // Through a local copy: x might alias the patches, so copied directly each value would
        // be loaded again after every store, one at a time.
        alignas(64) T input[c];
        std::memcpy(input, x, sizeof input);
        for (std::size_t tap = 0; tap < taps; ++tap) {
            const std::size_t ahead = (taps - 1 - tap) * spacing, slot = present + ahead < slots ? present + ahead : present + ahead - slots;
            std::memcpy(&state.patches[slot * k + tap * c], input, sizeof input);
        }
        const T* patch = &state.patches[present * k];
        alignas(64) T out[padded];
        eval::lone_row_kernel<k, padded, weight_layout>(out, patch, q.weight.data.data(), eval::add_column_bias<T>{q.bias.data.data()});
        for (std::size_t o = 0; o < out_channels; ++o) y[o] = out[o];
    }

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        using S = typename IO::sample_shape;
        constexpr std::size_t B = Ctx::batch, rows = B * S::template extent<0>, k = taps * S::last;
        auto& cache = io.cache;
        gather<S, B>(io.x, cache);
        if (!std::is_constant_evaluated()) {
            using T = typename IO::value_type;
            constexpr std::size_t padded = padded_outputs<T>;
            pack_for_stepping(io.parameters, cache.packed);
            const eval::add_column_bias<T> bias{cache.packed.bias.data.data()};
            if constexpr (padded == out_channels) {
                eval::broadcast_rows_kernel<rows, k, padded, k, padded, weight_layout>(io.y.data.data(), cache.patches.data.data(),
                                                                                        cache.packed.weight.data.data(), bias);
            } else {
                auto& wide = cache.padded_outputs_of_steps;
                eval::broadcast_rows_kernel<rows, k, padded, k, padded, weight_layout>(wide.data.data(), cache.patches.data.data(),
                                                                                        cache.packed.weight.data.data(), bias);
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t o = 0; o < out_channels; ++o) io.y[r * out_channels + o] = wide[r * padded + o];
            }
            if constexpr (carries_state && history > 0) remember<S, B>(io.x, cache);
            return;
        }
        const auto weight = reshape<shape<out_channels, k>>(io.parameters.weight);
        if constexpr (has_bias)
            eval::assign_to_fresh(io.y.data, matmul(cache.patches, transpose(weight)) + broadcast_rows<rows>(io.parameters.bias));
        else
            eval::assign_to_fresh(io.y.data, matmul(cache.patches, transpose(weight)));
        if constexpr (carries_state && history > 0) remember<S, B>(io.x, cache);
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        using S = typename IO::sample_shape;
        constexpr std::size_t B = Ctx::batch, rows = B * S::template extent<0>, k = taps * S::last;
        auto& dp = io.dl_dparameters;
        const auto dl_dy = reshape<shape<rows, out_channels>>(io.dl_dy);
        if constexpr (has_bias) dp.bias = column_sums(dl_dy);
        eval::assign_to_fresh(dp.weight.data, matmul(transpose(dl_dy), io.cache.patches));
        if constexpr (IO::wants_input_gradient) {
            eval::assign_to_fresh(io.scratch.patch_gradients.data, matmul(dl_dy, reshape<shape<out_channels, k>>(io.parameters.weight)));
            scatter<S, B>(io.scratch.patch_gradients, io.dl_dx);
        }
    }

private:
    // Row (b, t) of the patches: for each tap k, x_{t - (K-1-k) D} of sequence b; before the
    // start, the carried past input (stateful) or zeros.
    template <class S, std::size_t B, class X, class Cache>
    static constexpr void gather(const X& x, Cache& cache) {
        constexpr std::size_t steps = S::template extent<0>, c = S::last, k = taps * c;
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t t = 0; t < steps; ++t) {
                const std::size_t row = b * steps + t;
                for (std::size_t tap = 0; tap < taps; ++tap) {
                    const std::size_t lag = (taps - 1 - tap) * spacing;
                    auto* to = &cache.patches[row * k + tap * c];
                    if (t >= lag) {
                        const auto* from = &x[(row - lag) * c];
                        for (std::size_t i = 0; i < c; ++i) to[i] = from[i];
                    } else if constexpr (carries_state) {
                        // x_{t - lag} is past input history - (lag - t) of the ring.
                        std::size_t at = cache.oldest + history - (lag - t);
                        if (at >= history) at -= history;
                        const auto* from = &cache.past[(b * history + at) * c];
                        for (std::size_t i = 0; i < c; ++i) to[i] = from[i];
                    } else {
                        for (std::size_t i = 0; i < c; ++i) to[i] = 0;
                    }
                }
            }
    }

    // Keeps each sequence's last (K-1)*D inputs (the carried ones and this call's) for the next call.
    template <class S, std::size_t B, class X, class Cache>
    static constexpr void remember(const X& x, Cache& cache) {
        constexpr std::size_t steps = S::template extent<0>, c = S::last;
        if constexpr (steps >= history) {
            for (std::size_t b = 0; b < B; ++b)
                for (std::size_t i = 0; i < history * c; ++i) cache.past[b * history * c + i] = x[(b * steps + steps - history) * c + i];
            cache.oldest = 0;
        } else {
            // This call's inputs replace the oldest ones, which become the newest.
            for (std::size_t b = 0; b < B; ++b) {
                std::size_t at = cache.oldest;
                for (std::size_t t = 0; t < steps; ++t) {
                    for (std::size_t i = 0; i < c; ++i) cache.past[(b * history + at) * c + i] = x[(b * steps + t) * c + i];
                    if (++at == history) at = 0;
                }
            }
            cache.oldest = (cache.oldest + steps) % history;
        }
    }

    // The transpose of the gathering: each tap's gradient is added to the input it read; taps
    // before the start (zeros, or the carried past) pass nothing on.
    template <class S, std::size_t B, class Patches, class DX>
    static constexpr void scatter(const Patches& patches, DX& dl_dx) {
        constexpr std::size_t steps = S::template extent<0>, c = S::last, k = taps * c;
        for (std::size_t i = 0; i < B * steps * c; ++i) dl_dx[i] = 0;
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t t = 0; t < steps; ++t) {
                const std::size_t row = b * steps + t;
                for (std::size_t tap = 0; tap < taps; ++tap) {
                    const std::size_t lag = (taps - 1 - tap) * spacing;
                    if (t < lag) continue;
                    for (std::size_t i = 0; i < c; ++i) dl_dx[(row - lag) * c + i] += patches[row * k + tap * c + i];
                }
            }
    }
};

}  // namespace metagrad
