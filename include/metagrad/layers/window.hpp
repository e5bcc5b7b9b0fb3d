// metagrad window options: the kernel, stride, padding and dilation of convolutions and pooling,
// written as types in any order (`conv2d<32, kernel<3>, padding<1>>`), and the geometry they give.
#pragma once

#include <cstddef>
#include <type_traits>

#include "metagrad/core/shape.hpp"

namespace metagrad {

/// A window's height and width (`kernel<3>` is 3 x 3; a one-dimensional layer reads the first).
template <std::size_t H, std::size_t W = H>
struct kernel {};
/// How far the window moves between outputs (1 for convolutions, the kernel for pooling).
template <std::size_t H, std::size_t W = H>
struct stride {};
/// Zeros added on each side of the input (PyTorch's `padding`, symmetric).
template <std::size_t H, std::size_t W = H>
struct padding {};
/// The spacing of the window's taps (1: adjacent).
template <std::size_t H, std::size_t W = H>
struct dilation {};
/// Channels split into `G` independent groups (`G` = channels: depthwise).
template <std::size_t G>
struct groups {};
/// A convolution without a bias (when batch norm follows, whose shift replaces it).
struct without_bias {};

namespace detail {
/// The value of one kind of option among `Options...`, or the default. `found` counts the
/// options of that kind, so that a repeated one is an error.
template <template <std::size_t, std::size_t> class Kind, std::size_t DefaultH, std::size_t DefaultW, class... Options>
struct pair_option {
    template <class O>
    struct read {
        static constexpr std::size_t count = 0, h = 0, w = 0;
    };
    template <std::size_t H, std::size_t W>
    struct read<Kind<H, W>> {
        static constexpr std::size_t count = 1, h = H, w = W;
    };
    static constexpr std::size_t found = (std::size_t{0} + ... + read<Options>::count);
    static constexpr std::size_t h = found == 0 ? DefaultH : (std::size_t{0} + ... + read<Options>::h);
    static constexpr std::size_t w = found == 0 ? DefaultW : (std::size_t{0} + ... + read<Options>::w);
};

template <class O>
inline constexpr std::size_t groups_in = 0;
template <std::size_t G>
inline constexpr std::size_t groups_in<groups<G>> = G;
template <class O>
inline constexpr bool is_groups = false;
template <std::size_t G>
inline constexpr bool is_groups<groups<G>> = true;

template <class O>
inline constexpr bool is_window_option = false;
template <std::size_t H, std::size_t W>
inline constexpr bool is_window_option<kernel<H, W>> = true;
template <std::size_t H, std::size_t W>
inline constexpr bool is_window_option<stride<H, W>> = true;
template <std::size_t H, std::size_t W>
inline constexpr bool is_window_option<padding<H, W>> = true;
template <std::size_t H, std::size_t W>
inline constexpr bool is_window_option<dilation<H, W>> = true;

/// The options of a sliding window, read from a list in any order. `StrideIsKernel`: pooling's
/// default stride is its kernel, a convolution's is 1.
template <bool StrideIsKernel, class... Options>
struct window_options {
    using kernel_option = pair_option<kernel, 0, 0, Options...>;
    static constexpr std::size_t kernel_h = kernel_option::h, kernel_w = kernel_option::w;
    using stride_option = pair_option<stride, StrideIsKernel ? kernel_h : 1, StrideIsKernel ? kernel_w : 1, Options...>;
    using padding_option = pair_option<padding, 0, 0, Options...>;
    using dilation_option = pair_option<dilation, 1, 1, Options...>;
    static constexpr std::size_t stride_h = stride_option::h, stride_w = stride_option::w;
    static constexpr std::size_t padding_h = padding_option::h, padding_w = padding_option::w;
    static constexpr std::size_t dilation_h = dilation_option::h, dilation_w = dilation_option::w;
    static constexpr std::size_t group_count = (std::size_t{0} + ... + (is_groups<Options> ? 1 : 0));
    static constexpr std::size_t groups = group_count == 0 ? 1 : (std::size_t{0} + ... + groups_in<Options>);
    static constexpr bool bias = !(std::is_same_v<Options, without_bias> || ...);

    /// Each option given at most once, with a kernel, and no extent zero.
    static constexpr bool has_kernel = kernel_option::found == 1;
    static constexpr bool none_repeated = kernel_option::found <= 1 && stride_option::found <= 1 &&
                                          padding_option::found <= 1 && dilation_option::found <= 1 && group_count <= 1 &&
                                          (std::size_t{0} + ... + (std::is_same_v<Options, without_bias> ? 1 : 0)) <= 1;
    static constexpr bool extents_positive =
        kernel_h > 0 && kernel_w > 0 && stride_h > 0 && stride_w > 0 && dilation_h > 0 && dilation_w > 0 && groups > 0;
};

/// Where a window of `Kernel` taps spaced `Dilation` apart, moved by `Stride` over `In` values
/// padded by `Padding` on each side, fits: `count` outputs (0 when it does not fit once).
template <std::size_t In, std::size_t Kernel, std::size_t Stride, std::size_t Padding, std::size_t Dilation>
struct window_axis {
    static constexpr std::size_t span = Dilation * (Kernel - 1) + 1;
    static constexpr std::size_t padded = In + 2 * Padding;
    static constexpr std::size_t count = padded < span ? 0 : (padded - span) / Stride + 1;
};

/// The geometry of a window over a sample of H x W positions of C channels, and the loops over
/// it that convolution and pooling share. A one-dimensional layer has H = 1 and a kernel of
/// height 1.
template <std::size_t H, std::size_t W, std::size_t C, std::size_t Kh, std::size_t Kw, std::size_t Sh, std::size_t Sw,
          std::size_t Ph, std::size_t Pw, std::size_t Dh, std::size_t Dw>
struct window_geometry {
    static constexpr std::size_t height = H, width = W, channels = C;
    static constexpr std::size_t out_height = window_axis<H, Kh, Sh, Ph, Dh>::count;
    static constexpr std::size_t out_width = window_axis<W, Kw, Sw, Pw, Dw>::count;
    static constexpr std::size_t positions = out_height * out_width;  // outputs per sample and channel
    static constexpr std::size_t taps = Kh * Kw;
    static constexpr bool fits = out_height > 0 && out_width > 0;
    /// No padding and no overlap is needed to read every tap in place: each output is one input.
    static constexpr bool pointwise = Kh == 1 && Kw == 1 && Sh == 1 && Sw == 1 && Ph == 0 && Pw == 0;

    /// Calls `f(row, first_input, oy, ox)` for each output position (oy, ox) of samples [first,
    /// last): `row` counts output positions across the batch (a row of im2col's patches, of a
    /// channels-last output), `first_input` is the sample's first input position.
    template <class F>
    static constexpr void for_each_output(std::size_t first, std::size_t last, F f) {
        for (std::size_t b = first; b < last; ++b)
            for (std::size_t oy = 0; oy < out_height; ++oy)
                for (std::size_t ox = 0; ox < out_width; ++ox) f((b * out_height + oy) * out_width + ox, b * H * W, oy, ox);
    }

    /// Calls `f(tap, input_position)` for each tap of the window of output position
    /// (oy, ox) that falls inside the input (`input_position` = iy * W + ix), and
    /// `outside(tap)` for each tap in the padding.
    template <class F, class Outside>
    static constexpr void for_each_tap(std::size_t oy, std::size_t ox, F f, Outside outside) {
        for (std::size_t ky = 0; ky < Kh; ++ky) {
            // Unsigned: a tap above the input wraps to a large value and fails the bound.
            const std::size_t iy = oy * Sh + ky * Dh - Ph;
            for (std::size_t kx = 0; kx < Kw; ++kx) {
                const std::size_t ix = ox * Sw + kx * Dw - Pw;
                if (iy < H && ix < W)
                    f(ky * Kw + kx, iy * W + ix);
                else
                    outside(ky * Kw + kx);
            }
        }
    }
};

/// Options `O` (a `window_options`) read for a layer over `Axes` spatial axes (1 or 2): a
/// one-dimensional layer sees a sample `<L, C>` as H = 1 and reads each option's first extent.
/// Zero extents are reported by the layer's own check; here they read as 1, so that its message
/// stays the only error.
template <std::size_t Axes, class O>
struct window_on_axes {
    static constexpr std::size_t at_least_one(std::size_t v) { return v > 0 ? v : 1; }
    static constexpr std::size_t kernel_h = Axes == 2 ? at_least_one(O::kernel_h) : 1;
    static constexpr std::size_t kernel_w = at_least_one(Axes == 2 ? O::kernel_w : O::kernel_h);
    static constexpr std::size_t stride_h = Axes == 2 ? at_least_one(O::stride_h) : 1;
    static constexpr std::size_t stride_w = at_least_one(Axes == 2 ? O::stride_w : O::stride_h);
    static constexpr std::size_t padding_h = Axes == 2 ? O::padding_h : 0, padding_w = Axes == 2 ? O::padding_w : O::padding_h;
    static constexpr std::size_t dilation_h = Axes == 2 ? at_least_one(O::dilation_h) : 1;
    static constexpr std::size_t dilation_w = at_least_one(Axes == 2 ? O::dilation_w : O::dilation_h);

    /// Samples of rank Axes + 1 only (and not the chain's stand-in for a shape it could not work out).
    template <class S>
    static constexpr bool rank_fits = [] {
        if constexpr (is_shape<S>)
            return S::rank == Axes + 1;
        else
            return false;
    }();
    template <class S>
    using geometry_on = window_geometry<(Axes == 2 ? S::extents[0] : 1), S::extents[S::rank - 2], S::last, kernel_h, kernel_w,
                                        stride_h, stride_w, padding_h, padding_w, dilation_h, dilation_w>;
    // What a layer is merely probed with (`layer<L>` tries a vector) gets a stand-in of `Channels`
    // channels on which the window fits, so that every member names a type; the network's checks
    // reject the shape through `accepts`.
    template <std::size_t Channels>
    using stand_in = std::conditional_t<Axes == 2, shape<dilation_h * kernel_h, dilation_w * kernel_w, Channels>,
                                        shape<dilation_w * kernel_w, Channels>>;

    /// The window as ONNX attributes (kernel_shape, strides, pads, dilations) of graph `G`'s
    /// (io/onnx_graph.hpp): what an exported convolution and pooling layer share.
    template <class G>
    static auto onnx_attributes() {
        if constexpr (Axes == 2)
            return G::window({kernel_h, kernel_w}, {stride_h, stride_w}, {padding_h, padding_w}, {dilation_h, dilation_w});
        else
            return G::window({kernel_w}, {stride_w}, {padding_w}, {dilation_w});
    }
};

}  // namespace detail
}  // namespace metagrad
