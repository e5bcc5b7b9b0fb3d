// metagrad::conv2d and metagrad::conv1d: convolutions over channels-last images and sequences.
#pragma once

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "metagrad/core/broadcast.hpp"
#include "metagrad/core/fields.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/matmul.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/reshape.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/core/transpose.hpp"
#include "metagrad/eval/assign.hpp"
#include "metagrad/eval/parallel.hpp"
#include "metagrad/layers/scale_and_shift.hpp"
#include "metagrad/layers/window.hpp"

namespace metagrad {

/// A convolution's parameters: `weight` (`Out x kh x kw x In/groups` for conv2d, `Out x k x
/// In/groups` for conv1d: each output channel's kernel, channels last like the images) and
/// `bias` (Out). PyTorch stores `Out x In/groups x kh x kw`; the names are PyTorch's, and a
/// PyTorch weight is this one with its channel axis moved last (docs/layers.md).
template <class T, class WeightShape, bool Bias>
struct convolution_parameters {
    tensor<T, WeightShape> weight{};
    vector<T, WeightShape::template extent<0>> bias{};

    static constexpr auto fields = metagrad::fields(field<"weight">(&convolution_parameters::weight),
                                                    field<"bias">(&convolution_parameters::bias));
    friend constexpr bool operator==(const convolution_parameters&, const convolution_parameters&) = default;
};
template <class T, class WeightShape>
struct convolution_parameters<T, WeightShape, false> {
    tensor<T, WeightShape> weight{};

    static constexpr auto fields = metagrad::fields(field<"weight">(&convolution_parameters::weight));
    friend constexpr bool operator==(const convolution_parameters&, const convolution_parameters&) = default;
};

/// Diagnostic vocabulary: a convolution's output channels and options.
template <std::size_t Out, class... Options>
struct convolution_options {};
template <class O>
inline constexpr bool convolution_options_are_valid = false;
template <std::size_t Out, class... Options>
    requires(Out > 0 && ((detail::is_window_option<Options> || detail::is_groups<Options> ||
                          std::is_same_v<Options, without_bias>) && ...) &&
             detail::window_options<false, Options...>::has_kernel && detail::window_options<false, Options...>::none_repeated &&
             detail::window_options<false, Options...>::extents_positive &&
             Out % detail::window_options<false, Options...>::groups == 0)
inline constexpr bool convolution_options_are_valid<convolution_options<Out, Options...>> = true;

namespace detail {
// In a class of its own, so that a network of a badly written convolution reports this one error.
template <class O>
struct check_convolution_options {
    // A convolution needs `kernel<...>` once; each other option (stride, padding, dilation,
    // groups, without_bias) at most once; every extent positive; outputs a multiple of groups.
    static_assert(convolution_options_are_valid<O>,
                  "metagrad::conv2d/conv1d: write conv2d<Out, kernel<kh, kw>, [stride<..>], [padding<..>], "
                  "[dilation<..>], [groups<G>], [without_bias]> with positive extents and Out a multiple of G");
    static constexpr bool value = true;
};

/// The maths of a convolution over `Axes` spatial axes (1 or 2) with `Out` output channels.
/// A sample is `<H, W, C>` (conv2d) or `<L, C>` (conv1d, seen as H = 1); the kernels are
/// `Out x taps x C/G`. With one group, the forward pass is one matrix product: the patches of a
/// batch, copied into the cache as `B*H'*W'` rows of `taps*C` values (im2col), times the kernels
/// transposed, plus the bias. The backward pass takes the weight gradient from the same patches
/// and the input gradient as patch gradients folded back onto the input. A 1x1 convolution
/// with stride 1 reads the input as its own patches. Grouped convolutions (depthwise included)
/// use direct loops.
template <std::size_t Axes, std::size_t Out, class O>
struct convolution_maths {
    using window = window_on_axes<Axes, O>;
    static constexpr std::size_t out_channels = window::at_least_one(Out), group_count = window::at_least_one(O::groups);
    static constexpr std::size_t kernel_h = window::kernel_h, kernel_w = window::kernel_w;

    /// A sample of rank Axes + 1 whose channels split into the groups and on which the window fits.
    template <class S>
    static constexpr bool accepts = [] {
        if constexpr (window::template rank_fits<S>)
            return S::last % group_count == 0 && window::template geometry_on<S>::fits;
        else
            return false;
    }();

    template <class S>
    using geometry = typename window::template geometry_on<std::conditional_t<accepts<S>, S, typename window::template stand_in<group_count>>>;
    template <class S>
    static constexpr std::size_t channels_per_group = geometry<S>::channels / group_count;
    template <class S>
    static constexpr std::size_t patch = geometry<S>::taps * channels_per_group<S>;  // one output's inputs

    template <class S>
    using output_shape = std::conditional_t<Axes == 2, shape<geometry<S>::out_height, geometry<S>::out_width, out_channels>,
                                            shape<geometry<S>::out_width, out_channels>>;

    template <class S>
    using weight_shape = std::conditional_t<Axes == 2, shape<out_channels, kernel_h, kernel_w, channels_per_group<S>>,
                                            shape<out_channels, kernel_w, channels_per_group<S>>>;
    template <class T, class S>
    using parameters = convolution_parameters<T, weight_shape<S>, O::bias>;

    /// A scale and shift per output channel after the layer (batch norm in inference), folded
    /// into its kernels and bias (the inference form; the folded layer has a bias).
    template <class P, class V, class Folded>
    static constexpr void absorb_scale_and_shift(const P& p, const V& scale, const V& shift, Folded& folded) {
        absorb_into_rows(p, scale, shift, folded);
    }

    /// In an exported ONNX graph (io/onnx_graph.hpp): Conv on the input channels first, its
    /// weight's channel axis moved second (ONNX's Out x In/groups x kh x kw, PyTorch's layout).
    template <class S, class G>
    static void to_onnx(G& g) {
        auto attributes = window::template onnx_attributes<G>();
        attributes.push_back(G::integer("group", group_count));
        const auto x = g.input(onnx_layout::channels_first);
        const auto weight = Axes == 2 ? g.parameter("weight", {0, 3, 1, 2}) : g.parameter("weight", {0, 2, 1});
        if constexpr (O::bias)
            g.output(g.node("Conv", {x, weight, g.parameter("bias")}, attributes), onnx_layout::channels_first);
        else
            g.output(g.node("Conv", {x, weight}, attributes), onnx_layout::channels_first);
    }

    /// A multiply and an add per tap and input channel of each output, and the bias.
    template <class S>
    static constexpr std::size_t flops = (2 * patch<S> + (O::bias ? 1 : 0)) * out_channels * geometry<S>::positions;

    // The patches (im2col) are copied when there is one group and the window is not pointwise.
    template <class S>
    static constexpr bool copies_patches = group_count == 1 && !geometry<S>::pointwise;

    // The weight gradient sums over every output position of the batch. Its product is taken
    // with the longer of (outputs, patch) as its columns, which the kernels fill with vectors:
    // a first layer's patch of 9 values is the rows of the transposed gradient.
    template <class S>
    static constexpr bool narrow_patches = group_count == 1 && patch<S> < out_channels;

    /// What the forward pass keeps: the batch's patches, `B*H'*W'` rows of `taps*C`, and the
    /// kernels transposed (`taps*C x Out`), whose rows of outputs fill the product's vectors.
    template <class T, class S, std::size_t B>
    struct cache {
        tensor<T, shape<copies_patches<S> ? B * geometry<S>::positions * patch<S> : 1>> patches{};
        tensor<T, shape<group_count == 1 ? patch<S> : 1, group_count == 1 ? out_channels : 1>> kernels{};
    };
    /// What the backward pass writes for itself: the gradient of each patch, before it is folded
    /// back onto the input.
    template <class T, class S, std::size_t B>
    struct scratch {
        tensor<T, shape<copies_patches<S> ? B * geometry<S>::positions * patch<S> : 1>> patch_gradients{};
        tensor<T, shape<narrow_patches<S> ? patch<S> : 1, narrow_patches<S> ? out_channels : 1>> kernel_gradients{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        using S = typename IO::sample_shape;
        using G = geometry<S>;
        constexpr std::size_t samples = IO::input_shape::size / S::size, rows = samples * G::positions, k = patch<S>;
        const auto& p = io.parameters;
        if constexpr (group_count > 1) {
            grouped_forward<S, samples>(io);
        } else {
            io.cache.kernels = transpose(reshape<shape<out_channels, k>>(p.weight));
            if constexpr (copies_patches<S>) {
                gather_patches<S, samples>(io.x, io.cache.patches);
                product_plus_bias<rows, k>(io.y, reshape<shape<rows, k>>(io.cache.patches), io.cache.kernels, p);
            } else {
                product_plus_bias<rows, k>(io.y, reshape<shape<rows, k>>(io.x), io.cache.kernels, p);
            }
        }
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        using S = typename IO::sample_shape;
        using G = geometry<S>;
        constexpr std::size_t samples = IO::input_shape::size / S::size, rows = samples * G::positions, k = patch<S>;
        auto& dp = io.dl_dparameters;
        if constexpr (group_count > 1) {
            grouped_backward<S, samples>(io);
        } else {
            const auto dl_dy = reshape<shape<rows, out_channels>>(io.dl_dy);
            const auto weight = reshape<shape<out_channels, k>>(io.parameters.weight);
            if constexpr (O::bias) dp.bias = column_sums(dl_dy);
            if constexpr (copies_patches<S>) {
                const auto patches = reshape<shape<rows, k>>(io.cache.patches);
                if constexpr (narrow_patches<S>) {
                    io.scratch.kernel_gradients = matmul(transpose(patches), dl_dy);
                    eval::assign_to_fresh(dp.weight.data, transpose(io.scratch.kernel_gradients));
                } else {
                    eval::assign_to_fresh(dp.weight.data, matmul(transpose(dl_dy), patches));
                }
                if constexpr (IO::wants_input_gradient) {
                    eval::assign_to_fresh(io.scratch.patch_gradients.data, matmul(dl_dy, weight));
                    scatter_patches<S, samples>(io.scratch.patch_gradients, io.dl_dx);
                }
            } else {
                eval::assign_to_fresh(dp.weight.data, matmul(transpose(dl_dy), reshape<shape<rows, k>>(io.x)));
                if constexpr (IO::wants_input_gradient) eval::assign_to_fresh(io.dl_dx.data, matmul(dl_dy, weight));
            }
        }
    }

private:
    template <std::size_t Rows, std::size_t K, class Y, class Patches, class Kernels, class P>
    static constexpr void product_plus_bias(Y& y, const Patches& patches, const Kernels& kernels, const P& p) {
        if constexpr (O::bias)
            eval::assign_to_fresh(y.data, matmul(patches, kernels) + broadcast_rows<Rows>(p.bias));
        else
            eval::assign_to_fresh(y.data, matmul(patches, kernels));
    }

    // Row (sample, output position) of the patches holds, for each tap, the input's channels at
    // that tap, or zeros where the tap falls in the padding.
    template <class S, std::size_t Samples, class X, class Patches>
    static constexpr void gather_patches(const X& x, Patches& patches) {
        using G = geometry<S>;
        constexpr std::size_t c = G::channels, k = patch<S>;
        // Samples are independent: split between the threads.
        eval::split_between_threads<Samples, 1, Samples * G::positions * k>([&](std::size_t first, std::size_t last) {
            G::for_each_output(first, last, [&](std::size_t row, std::size_t in, std::size_t oy, std::size_t ox) {
                G::for_each_tap(
                    oy, ox,
                    [&](std::size_t tap, std::size_t at) {
                        for (std::size_t i = 0; i < c; ++i) patches[row * k + tap * c + i] = x[(in + at) * c + i];
                    },
                    [&](std::size_t tap) {
                        for (std::size_t i = 0; i < c; ++i) patches[row * k + tap * c + i] = 0;
                    });
            });
        });
    }

    // The transpose of the gathering: each patch gradient is added back where its values came from.
    template <class S, std::size_t Samples, class Patches, class X>
    static constexpr void scatter_patches(const Patches& patches, X& dl_dx) {
        using G = geometry<S>;
        constexpr std::size_t c = G::channels, k = patch<S>, sample = G::height * G::width * c;
        // A sample's patches fold back onto that sample alone: split between the threads.
        eval::split_between_threads<Samples, 1, Samples * G::positions * k>([&](std::size_t first, std::size_t last) {
            for (std::size_t i = first * sample; i < last * sample; ++i) dl_dx[i] = 0;
            G::for_each_output(first, last, [&](std::size_t row, std::size_t in, std::size_t oy, std::size_t ox) {
                G::for_each_tap(
                    oy, ox,
                    [&](std::size_t tap, std::size_t at) {
                        for (std::size_t i = 0; i < c; ++i) dl_dx[(in + at) * c + i] += patches[row * k + tap * c + i];
                    },
                    [](std::size_t) {});
            });
        });
    }

    // Grouped convolutions: output channel o of group g = o / (Out/G) reads input channels
    // [g*C/G, (g+1)*C/G) only.
    template <class S, std::size_t Samples, class IO>
    static constexpr void grouped_forward(const IO& io) {
        using G = geometry<S>;
        using T = typename IO::value_type;
        constexpr std::size_t c = G::channels, cg = channels_per_group<S>, og = out_channels / group_count;
        const auto& w = io.parameters.weight;
        G::for_each_output(0, Samples, [&](std::size_t row, std::size_t in, std::size_t oy, std::size_t ox) {
            for (std::size_t o = 0; o < out_channels; ++o) {
                T sum{};
                if constexpr (O::bias) sum = io.parameters.bias[o];
                const std::size_t first = (o / og) * cg;
                G::for_each_tap(
                    oy, ox,
                    [&](std::size_t tap, std::size_t at) {
                        for (std::size_t i = 0; i < cg; ++i) sum += io.x[(in + at) * c + first + i] * w[(o * G::taps + tap) * cg + i];
                    },
                    [](std::size_t) {});
                io.y[row * out_channels + o] = sum;
            }
        });
    }

    template <class S, std::size_t Samples, class IO>
    static constexpr void grouped_backward(const IO& io) {
        using G = geometry<S>;
        using T = typename IO::value_type;
        constexpr std::size_t c = G::channels, cg = channels_per_group<S>, og = out_channels / group_count;
        const auto& w = io.parameters.weight;
        auto& dp = io.dl_dparameters;
        for (auto& v : dp.weight) v = 0;
        if constexpr (O::bias)
            for (auto& v : dp.bias) v = 0;
        if constexpr (IO::wants_input_gradient)
            for (auto& v : io.dl_dx) v = 0;
        G::for_each_output(0, Samples, [&](std::size_t row, std::size_t in, std::size_t oy, std::size_t ox) {
            for (std::size_t o = 0; o < out_channels; ++o) {
                const T g = io.dl_dy[row * out_channels + o];
                if constexpr (O::bias) dp.bias[o] += g;
                const std::size_t first = (o / og) * cg;
                G::for_each_tap(
                    oy, ox,
                    [&](std::size_t tap, std::size_t at) {
                        for (std::size_t i = 0; i < cg; ++i) {
                            const std::size_t xi = (in + at) * c + first + i, wi = (o * G::taps + tap) * cg + i;
                            dp.weight[wi] += g * io.x[xi];
                            if constexpr (IO::wants_input_gradient) io.dl_dx[xi] += g * w[wi];
                        }
                    },
                    [](std::size_t) {});
            }
        });
    }
};
/// `Conv<Out, Options...>` without `without_bias`: what a convolution becomes when it absorbs a
/// scale and shift.
template <class Option>
using option_kept_with_bias = std::conditional_t<std::is_same_v<Option, without_bias>, std::tuple<>, std::tuple<Option>>;
template <template <std::size_t, class...> class Conv, std::size_t Out, class Options>
struct rebuilt_convolution;
template <template <std::size_t, class...> class Conv, std::size_t Out, class... Options>
struct rebuilt_convolution<Conv, Out, std::tuple<Options...>> {
    using type = Conv<Out, Options...>;
};
template <template <std::size_t, class...> class Conv, std::size_t Out, class... Options>
using with_bias = typename rebuilt_convolution<Conv, Out, decltype(std::tuple_cat(std::declval<option_kept_with_bias<Options>>()...))>::type;
}  // namespace detail

/// A two-dimensional convolution (PyTorch's `nn.Conv2d`, channels last): samples `<H, W, C>`
/// become `<H', W', Out>`, with H' = (H + 2 padding - dilation (kh - 1) - 1) / stride + 1 and
/// likewise W'. Options, in any order: `kernel<kh, kw>` (required; `kernel<3>` is 3 x 3),
/// `stride<..>` (1), `padding<..>` (0, zeros on each side), `dilation<..>` (1), `groups<G>` (1;
/// C and Out must be multiples of G, G = C is depthwise), `without_bias`.
template <std::size_t Out, class... Options>
struct conv2d : detail::convolution_maths<2, Out, detail::window_options<false, Options...>> {
    static_assert(detail::check_convolution_options<convolution_options<Out, Options...>>::value);
    static constexpr std::string_view name = "conv2d";
    using provides = hooks<conv2d, absorbs_scale_and_shift_hook, onnx_hook>;
    using absorbed_scale_and_shift = detail::with_bias<conv2d, Out, Options...>;
};

/// A one-dimensional convolution (PyTorch's `nn.Conv1d`, channels last): samples `<L, C>` become
/// `<L', Out>`. The same options as conv2d; each reads its first extent (`kernel<5>`).
template <std::size_t Out, class... Options>
struct conv1d : detail::convolution_maths<1, Out, detail::window_options<false, Options...>> {
    static_assert(detail::check_convolution_options<convolution_options<Out, Options...>>::value);
    static constexpr std::string_view name = "conv1d";
    using provides = hooks<conv1d, absorbs_scale_and_shift_hook, onnx_hook>;
    using absorbed_scale_and_shift = detail::with_bias<conv1d, Out, Options...>;
};

}  // namespace metagrad
