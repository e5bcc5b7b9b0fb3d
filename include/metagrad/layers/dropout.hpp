// metagrad::dropout: in training, zeroes each element with probability p and scales the rest by
// 1 / (1 - p) (inverted dropout); in inference, the identity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ratio>
#include <string_view>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// Diagnostic vocabulary: a dropout probability, as a ratio.
template <std::intmax_t Num, std::intmax_t Den>
struct dropout_probability {};
template <class P>
inline constexpr bool is_a_probability_below_one = false;
template <std::intmax_t Num, std::intmax_t Den>
    requires(Num >= 0 && Den > 0 && Num < Den)
inline constexpr bool is_a_probability_below_one<dropout_probability<Num, Den>> = true;

namespace detail {
// In a class of its own, so that a network of a bad dropout reports this one error.
template <class P>
struct check_dropout_probability {
    // The probability of dropping an element must be in [0, 1): at 1 nothing would pass.
    static_assert(is_a_probability_below_one<P>, "metagrad::dropout: the probability must be at least 0 and below 1");
    static constexpr bool value = true;
};
}  // namespace detail

/// Inverted dropout (PyTorch's `nn.Dropout(p)`): in training each element is zeroed with
/// probability `P` (a `std::ratio`, 1/2 by default, as PyTorch's) and the others are multiplied
/// by 1 / (1 - P), so that inference, where the layer is the identity, needs no rescaling.
///
/// The mask is drawn from the pass context's counter-based numbers (core/context.hpp): element
/// `i` of a batch is dropped when the top 32 bits of `ctx.random_bits(i)` are below P * 2^32, so a run is reproducible bit for bit,
/// on any number of threads and after a resume (the key is the run's seed and the step's
/// number). The mask is kept in the layer's cache (one scalar per element: 0 or the scale) for
/// the backward pass: dl/dx = mask * dl/dy.
template <class P = std::ratio<1, 2>>
struct dropout {
    static_assert(detail::check_dropout_probability<dropout_probability<P::num, P::den>>::value);
    static constexpr std::string_view name = "dropout";

    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t flops = S::size;
    /// In inference the identity: the inference form leaves it out.
    using provides = hooks<dropout, identity_in_inference_hook, streams_hook>;

    /// The probability of dropping an element, and the scale of the elements kept.
    template <class T>
    static constexpr T probability = static_cast<T>(P::num) / static_cast<T>(P::den);
    template <class T>
    static constexpr T scale = T{1} / (T{1} - probability<T>);

    /// An element is dropped when the top 32 bits of its random number, read as a fraction of
    /// 2^32, fall below P: probability P rounded down to a multiple of 2^-32.
    static constexpr std::uint64_t drop_below = (static_cast<std::uint64_t>(P::num) << 32) / static_cast<std::uint64_t>(P::den);

    /// The mask of one pass over `B` samples: 0 where an element was dropped, else the scale.
    template <class T, class S, std::size_t B>
    struct cache {
        tensor<T, shape<B * S::size>> mask{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx& ctx, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t n = IO::input_shape::size;
        if constexpr (!Ctx::training || P::num == 0) {
            io.y = io.x;
        } else {
            // Integers only, so the loop vectorizes and the test is exact in every phase.
            for (std::size_t i = 0; i < n; ++i) {
                const T kept = (ctx.random_bits(i) >> 32) < drop_below ? T{} : scale<T>;
                io.cache.mask[i] = kept;
                io.y[i] = io.x[i] * kept;
            }
        }
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) {
            constexpr std::size_t n = IO::input_shape::size;
            if constexpr (!Ctx::training || P::num == 0)
                io.dl_dx = io.dl_dy;
            else
                for (std::size_t i = 0; i < n; ++i) io.dl_dx[i] = io.dl_dy[i] * io.cache.mask[i];
        }
    }
};

}  // namespace metagrad
