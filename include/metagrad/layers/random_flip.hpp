// metagrad::random_flip: in training, mirrors each image left to right with probability 1/2 (data
// augmentation inside the network); in inference, the identity.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// Augmentation as a layer (PyTorch's `RandomHorizontalFlip`, Keras' `RandomFlip("horizontal")`):
/// in training each sample `<H, W, C>` is mirrored along W with probability 1/2, drawn from the
/// pass context's counter-based numbers (sample `b` is flipped when the top bit of
/// `ctx.random_bits(b)` is set), so a run is reproducible bit for bit on any number of threads
/// and after a resume; in inference it is the identity. The choice is kept in the cache for the
/// backward pass, which mirrors the gradient back. Put it first, before the layers that learn.
struct random_flip {
    static constexpr std::string_view name = "random_flip";
    template <class S>
    static constexpr bool accepts = S::rank == 3;
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t flops = 0;
    /// In inference the identity: the inference form leaves it out.
    using provides = hooks<random_flip, identity_in_inference_hook>;

    /// Whether each sample of the pass was mirrored.
    template <class T, class S, std::size_t B>
    struct cache {
        std::array<bool, B> flipped{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx& ctx, const IO& io) {
        constexpr std::size_t samples = IO::input_shape::size / IO::sample_shape::size;
        for (std::size_t b = 0; b < samples; ++b) {
            const bool flip = Ctx::training && (ctx.random_bits(b) >> 63) != 0;
            io.cache.flipped[b] = flip;
            mirror<typename IO::sample_shape>(io.x, io.y, b, flip);
        }
    }
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) {
            constexpr std::size_t samples = IO::input_shape::size / IO::sample_shape::size;
            for (std::size_t b = 0; b < samples; ++b) mirror<typename IO::sample_shape>(io.dl_dy, io.dl_dx, b, io.cache.flipped[b]);
        }
    }

private:
    // Sample b of `to` from sample b of `from`, columns reversed when `flip` (its own inverse).
    template <class S, class From, class To>
    static constexpr void mirror(const From& from, To& to, std::size_t b, bool flip) {
        constexpr std::size_t h = S::extents[0], w = S::extents[1], c = S::extents[2];
        const std::size_t first = b * S::size;
        for (std::size_t y = 0; y < h; ++y)
            for (std::size_t x = 0; x < w; ++x) {
                const std::size_t source = first + (y * w + (flip ? w - 1 - x : x)) * c, target = first + (y * w + x) * c;
                for (std::size_t i = 0; i < c; ++i) to[target + i] = from[source + i];
            }
    }
};

}  // namespace metagrad
