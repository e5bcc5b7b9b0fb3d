// metagrad pooling: the maximum or mean of each channel over a sliding window (max_pool2d,
// avg_pool2d and their one-dimensional forms), and over every position (global_avg_pool).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/parallel.hpp"
#include "metagrad/layers/window.hpp"

namespace metagrad {

/// Diagnostic vocabulary: a pooling layer's options.
template <class... Options>
struct pooling_options {};
template <class O>
inline constexpr bool pooling_options_are_valid = false;
template <class... Options>
    requires((detail::is_window_option<Options> && ...) && detail::window_options<true, Options...>::has_kernel &&
             detail::window_options<true, Options...>::none_repeated && detail::window_options<true, Options...>::extents_positive &&
             2 * detail::window_options<true, Options...>::padding_h <= detail::window_options<true, Options...>::kernel_h &&
             2 * detail::window_options<true, Options...>::padding_w <= detail::window_options<true, Options...>::kernel_w)
inline constexpr bool pooling_options_are_valid<pooling_options<Options...>> = true;

namespace detail {
template <class O>
struct check_pooling_options {
    // A pooling layer needs `kernel<...>` once; stride (the kernel by default), padding and
    // dilation at most once; every extent positive; padding at most half the kernel, so that
    // every window reads an input, as PyTorch requires.
    static_assert(pooling_options_are_valid<O>,
                  "metagrad::max_pool/avg_pool: write max_pool2d<kernel<kh, kw>, [stride<..>], [padding<..>], [dilation<..>]> "
                  "with positive extents and padding at most half the kernel");
    static constexpr bool value = true;
};

enum class pooling_kind { maximum, mean };

/// The maths of pooling over `Axes` spatial axes (1 or 2): each channel of each output position
/// is the maximum, or the mean, of that channel over the window's taps. The mean divides by the
/// number of taps, padding included (PyTorch's default `count_include_pad`); the maximum ignores
/// the padding, keeps the first of equal values, and passes NaN on as PyTorch does.
template <std::size_t Axes, pooling_kind Kind, class O>
struct pooling_maths {
    using window = window_on_axes<Axes, O>;

    /// A sample of rank Axes + 1 on which the window fits.
    template <class S>
    static constexpr bool accepts = [] {
        if constexpr (window::template rank_fits<S>)
            return window::template geometry_on<S>::fits;
        else
            return false;
    }();
    template <class S>
    using geometry = typename window::template geometry_on<std::conditional_t<accepts<S>, S, typename window::template stand_in<1>>>;

    template <class S>
    using output_shape = std::conditional_t<Axes == 2, shape<geometry<S>::out_height, geometry<S>::out_width, geometry<S>::channels>,
                                            shape<geometry<S>::out_width, geometry<S>::channels>>;
    template <class S>
    static constexpr std::size_t flops = geometry<S>::taps * geometry<S>::positions * geometry<S>::channels;

    /// In an exported ONNX graph (io/onnx_graph.hpp): MaxPool, or AveragePool counting the
    /// padding, on the input channels first; a dilated mean (AveragePool has no dilations before
    /// opset 19) as a depthwise Conv whose weights are all 1 / taps.
    template <class S, class G>
    static void to_onnx(G& g) {
        using W = window;
        auto attributes = W::template onnx_attributes<G>();
        const auto x = g.input(onnx_layout::channels_first);
        constexpr std::size_t channels = geometry<S>::channels, taps = geometry<S>::taps;
        if constexpr (Kind == pooling_kind::maximum) {
            g.output(g.node("MaxPool", {x}, attributes), onnx_layout::channels_first);
        } else if constexpr (W::dilation_h == 1 && W::dilation_w == 1) {
            attributes.pop_back();  // the dilations, last of `window`'s
            attributes.push_back(G::integer("count_include_pad", 1));
            g.output(g.node("AveragePool", {x}, attributes), onnx_layout::channels_first);
        } else {
            const auto weight = Axes == 2 ? g.filled(1.0f / static_cast<float>(taps), {channels, 1, W::kernel_h, W::kernel_w})
                                          : g.filled(1.0f / static_cast<float>(taps), {channels, 1, W::kernel_w});
            attributes.push_back(G::integer("group", channels));
            g.output(g.node("Conv", {x, weight}, attributes), onnx_layout::channels_first);
        }
    }

    /// Max pooling keeps, for each output, where its maximum was (an index into the batch's input).
    template <class T, class S, std::size_t B>
    struct cache {
        std::array<std::uint32_t, Kind == pooling_kind::maximum ? B * geometry<S>::positions * geometry<S>::channels : 0> argmax{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        using S = typename IO::sample_shape;
        using G = geometry<S>;
        using T = typename IO::value_type;
        constexpr std::size_t c = G::channels, samples = IO::input_shape::size / S::size;
        static_assert(IO::input_shape::size < (std::size_t{1} << 32), "metagrad::max_pool: an input of 2^32 values or more");
        // Samples are independent: split between the threads.
        eval::split_between_threads<samples, 1, IO::input_shape::size>([&](std::size_t first, std::size_t last) {
            G::for_each_output(first, last, [&](std::size_t row, std::size_t in, std::size_t oy, std::size_t ox) {
                if constexpr (Kind == pooling_kind::mean) {
                    for (std::size_t i = 0; i < c; ++i) io.y[row * c + i] = T{};
                    G::for_each_tap(
                        oy, ox,
                        [&](std::size_t, std::size_t at) {
                            for (std::size_t i = 0; i < c; ++i) io.y[row * c + i] += io.x[(in + at) * c + i];
                        },
                        [](std::size_t) {});
                    for (std::size_t i = 0; i < c; ++i) io.y[row * c + i] /= static_cast<T>(G::taps);
                } else {
                    // The running maximum of each channel and where it was, in registers;
                    // selects rather than branches, so the channels' loop vectorizes.
                    std::array<T, c> best{};
                    std::array<std::uint32_t, c> where{};
                    bool first_tap = true;
                    G::for_each_tap(
                        oy, ox,
                        [&](std::size_t, std::size_t at) {
                            const std::size_t from = (in + at) * c;
                            for (std::size_t i = 0; i < c; ++i) {
                                const T v = io.x[from + i];
                                // Greater, or NaN where the best so far is not: NaN wins.
                                const bool take = first_tap || v > best[i] || (v != v && best[i] == best[i]);
                                best[i] = take ? v : best[i];
                                where[i] = take ? static_cast<std::uint32_t>(from + i) : where[i];
                            }
                            first_tap = false;
                        },
                        [](std::size_t) {});
                    for (std::size_t i = 0; i < c; ++i) {
                        io.y[row * c + i] = best[i];
                        io.cache.argmax[row * c + i] = where[i];
                    }
                }
            });
        });
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) {
            using S = typename IO::sample_shape;
            using G = geometry<S>;
            using T = typename IO::value_type;
            constexpr std::size_t c = G::channels, samples = IO::input_shape::size / S::size, per_output = G::positions * c;
            // A sample's gradients go to that sample's inputs alone: split between the threads.
            eval::split_between_threads<samples, 1, IO::input_shape::size>([&](std::size_t first, std::size_t last) {
                for (std::size_t i = first * S::size; i < last * S::size; ++i) io.dl_dx[i] = T{};
                if constexpr (Kind == pooling_kind::maximum) {
                    for (std::size_t i = first * per_output; i < last * per_output; ++i) io.dl_dx[io.cache.argmax[i]] += io.dl_dy[i];
                } else {
                    G::for_each_output(first, last, [&](std::size_t row, std::size_t in, std::size_t oy, std::size_t ox) {
                        G::for_each_tap(
                            oy, ox,
                            [&](std::size_t, std::size_t at) {
                                for (std::size_t i = 0; i < c; ++i)
                                    io.dl_dx[(in + at) * c + i] += io.dl_dy[row * c + i] / static_cast<T>(G::taps);
                            },
                            [](std::size_t) {});
                    });
                }
            });
        }
    }
};
}  // namespace detail

/// Max pooling over images `<H, W, C>` (PyTorch's `nn.MaxPool2d`): options `kernel<kh, kw>`
/// (required), `stride<..>` (the kernel), `padding<..>` (0; at most half the kernel),
/// `dilation<..>` (1).
template <class... Options>
struct max_pool2d : detail::pooling_maths<2, detail::pooling_kind::maximum, detail::window_options<true, Options...>> {
    static_assert(detail::check_pooling_options<pooling_options<Options...>>::value);
    static constexpr std::string_view name = "max_pool2d";
    using provides = hooks<max_pool2d, onnx_hook>;
};
/// Mean pooling over images `<H, W, C>` (PyTorch's `nn.AvgPool2d`, padding counted): the options of max_pool2d.
template <class... Options>
struct avg_pool2d : detail::pooling_maths<2, detail::pooling_kind::mean, detail::window_options<true, Options...>> {
    static_assert(detail::check_pooling_options<pooling_options<Options...>>::value);
    static constexpr std::string_view name = "avg_pool2d";
    using provides = hooks<avg_pool2d, onnx_hook>;
};
/// Max pooling over sequences `<L, C>` (`nn.MaxPool1d`); options read their first extent.
template <class... Options>
struct max_pool1d : detail::pooling_maths<1, detail::pooling_kind::maximum, detail::window_options<true, Options...>> {
    static_assert(detail::check_pooling_options<pooling_options<Options...>>::value);
    static constexpr std::string_view name = "max_pool1d";
    using provides = hooks<max_pool1d, onnx_hook>;
};
/// Mean pooling over sequences `<L, C>` (`nn.AvgPool1d`).
template <class... Options>
struct avg_pool1d : detail::pooling_maths<1, detail::pooling_kind::mean, detail::window_options<true, Options...>> {
    static_assert(detail::check_pooling_options<pooling_options<Options...>>::value);
    static constexpr std::string_view name = "avg_pool1d";
    using provides = hooks<avg_pool1d, onnx_hook>;
};

/// The mean of each channel over every position (PyTorch's `AdaptiveAvgPool2d(1)` then
/// `flatten`): `<..., C>` becomes `<C>`. Takes images, sequences, any rank of two or more.
struct global_avg_pool {
    static constexpr std::string_view name = "global_avg_pool";
    template <class S>
    static constexpr bool accepts = S::rank >= 2;
    template <class S>
    using output_shape = shape<S::last>;
    template <class S>
    static constexpr std::size_t flops = S::size;
    using provides = hooks<global_avg_pool, onnx_hook>;

    /// In an exported ONNX graph (io/onnx_graph.hpp): ReduceMean over every axis but the batch's
    /// and the channels', in the layout it comes in.
    template <class S, class G>
    static void to_onnx(G& g) {
        const std::size_t first = g.current().layout == onnx_layout::channels_first ? 2 : 1;
        const auto axes = [&]<std::size_t... I>(std::index_sequence<I...>) {
            return G::integers("axes", {(first + I)...});
        }(std::make_index_sequence<S::rank - 1>{});
        g.output(g.node("ReduceMean", {g.input()}, {axes, G::integer("keepdims", 0)}), onnx_layout::channels_last);
    }

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        using S = typename IO::sample_shape;
        using T = typename IO::value_type;
        constexpr std::size_t c = S::last, positions = S::rows, samples = IO::input_shape::size / S::size;
        for (std::size_t b = 0; b < samples; ++b) {
            for (std::size_t i = 0; i < c; ++i) io.y[b * c + i] = T{};
            for (std::size_t r = 0; r < positions; ++r)
                for (std::size_t i = 0; i < c; ++i) io.y[b * c + i] += io.x[(b * positions + r) * c + i];
            for (std::size_t i = 0; i < c; ++i) io.y[b * c + i] /= static_cast<T>(positions);
        }
    }
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) {
            using S = typename IO::sample_shape;
            using T = typename IO::value_type;
            constexpr std::size_t c = S::last, positions = S::rows, samples = IO::input_shape::size / S::size;
            for (std::size_t b = 0; b < samples; ++b)
                for (std::size_t r = 0; r < positions; ++r)
                    for (std::size_t i = 0; i < c; ++i)
                        io.dl_dx[(b * positions + r) * c + i] = io.dl_dy[b * c + i] / static_cast<T>(positions);
        }
    }
};

}  // namespace metagrad
