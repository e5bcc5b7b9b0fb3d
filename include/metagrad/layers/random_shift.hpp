// metagrad::random_shift: in training, moves each image by a few pixels at random, filling with
// zeros (data augmentation inside the network); in inference, the identity.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// Augmentation as a layer (PyTorch's `RandomCrop(size, padding=Pixels)` with zero padding,
/// Keras' `RandomTranslation` with zero fill): in training each sample `<H, W, C>` is moved by
/// (dy, dx), each drawn uniformly from [-Pixels, Pixels], so output (i, j) is input (i + dy,
/// j + dx), or zero where that falls outside. The shifts come from the pass context's
/// counter-based numbers (sample `b`'s 64 bits give dy from the high half, dx from the low), so a
/// run is reproducible bit for bit on any number of threads and after a resume; they are kept in
/// the cache for the backward pass, which moves the gradient back. In inference the identity.
template <std::size_t Pixels>
struct random_shift {
    static_assert(Pixels > 0, "metagrad::random_shift<Pixels>: Pixels is at least 1");
    static constexpr std::string_view name = "random_shift";
    /// Images larger than the shift both ways (a shift by the whole image would leave zeros only).
    template <class S>
    static constexpr bool accepts = [] {
        if constexpr (S::rank == 3)
            return S::extents[0] > Pixels && S::extents[1] > Pixels;
        else
            return false;
    }();
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t flops = 0;
    /// In inference the identity: the inference form leaves it out.
    using provides = hooks<random_shift, identity_in_inference_hook>;

    /// Each sample's shift.
    template <class T, class S, std::size_t B>
    struct cache {
        std::array<std::int32_t, B> dy{}, dx{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx& ctx, const IO& io) {
        constexpr std::size_t samples = IO::input_shape::size / IO::sample_shape::size;
        for (std::size_t b = 0; b < samples; ++b) {
            std::int32_t dy = 0, dx = 0;
            if constexpr (Ctx::training) {
                const std::uint64_t bits = ctx.random_bits(b);
                dy = draw(bits >> 32), dx = draw(bits & 0xffffffffu);
            }
            io.cache.dy[b] = dy, io.cache.dx[b] = dx;
            move<typename IO::sample_shape>(io.x, io.y, b, dy, dx);
        }
    }
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) {
            constexpr std::size_t samples = IO::input_shape::size / IO::sample_shape::size;
            // The inverse move: input (i + dy, j + dx) gets output (i, j)'s gradient, and the
            // inputs that no output read get zero.
            for (std::size_t b = 0; b < samples; ++b)
                move<typename IO::sample_shape>(io.dl_dy, io.dl_dx, b, -io.cache.dy[b], -io.cache.dx[b]);
        }
    }

private:
    // A 32-bit number to [-Pixels, Pixels] by multiply and shift (no modulo bias to speak of).
    static constexpr std::int32_t draw(std::uint64_t bits32) {
        return static_cast<std::int32_t>((bits32 * (2 * Pixels + 1)) >> 32) - static_cast<std::int32_t>(Pixels);
    }
    // Sample b of `to`: (i, j) from (i + dy, j + dx) of `from`, zero outside. A move and the move
    // by (-dy, -dx) are each other's transposes, which is what the backward pass needs.
    template <class S, class From, class To>
    static constexpr void move(const From& from, To& to, std::size_t b, std::int32_t dy, std::int32_t dx) {
        constexpr std::int64_t h = S::extents[0], w = S::extents[1], c = S::extents[2];
        const std::size_t first = b * S::size;
        for (std::int64_t y = 0; y < h; ++y)
            for (std::int64_t x = 0; x < w; ++x) {
                const std::int64_t sy = y + dy, sx = x + dx;
                const std::size_t target = first + static_cast<std::size_t>((y * w + x) * c);
                const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                const std::size_t source = inside ? first + static_cast<std::size_t>((sy * w + sx) * c) : 0;
                for (std::int64_t i = 0; i < c; ++i) to[target + static_cast<std::size_t>(i)] = inside ? from[source + static_cast<std::size_t>(i)] : 0;
            }
    }
};

}  // namespace metagrad
