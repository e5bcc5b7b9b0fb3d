// metagrad::pass_context: what a layer's passes are told besides their tensors: the batch extent,
// the mode (training or inference) and a counter-based source of random numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace metagrad {

/// The mode of a pass, chosen at compile time: `if constexpr (ctx.training)` costs nothing and
/// stays constexpr. Training passes update layers' state (batch norm's running statistics) and
/// draw random numbers (dropout); inference passes do neither. `train_step` and `forward_trace`
/// run in training, `forward`, `predictor` and `evaluate` in inference.
struct training_mode {};
struct inference_mode {};

/// The key of a pass's random numbers: the run's seed and the step's number. `train_epoch` sets
/// it from its seed and its position (so a resumed run draws what the uninterrupted one drew);
/// a workspace step without it counts its own steps from 0.
struct random_key {
    std::uint64_t seed = 0;
    std::uint64_t step = 0;
    friend constexpr bool operator==(const random_key&, const random_key&) = default;
};

namespace detail {
/// splitmix64's output function: a bijection of 64-bit words whose every output bit depends on
/// every input bit, cheap enough to run once per drawn element.
constexpr std::uint64_t mix_bits(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
}  // namespace detail

/// What the network passes to a layer's `forward(ctx, io)` and `backward(ctx, io)` (core/layer_io.hpp):
///
/// - `ctx.batch`: the number of samples in the pass (1 for a single sample), a compile-time
///   constant, apart from the sample shape the layer was declared for;
/// - `ctx.training`: whether the mode is `training_mode`;
/// - `ctx.random_bits(i)`, `ctx.uniform<T>(i)`: the random numbers of element `i` of this layer
///   in this step. Counter-based: a number is a hash of (seed, step, layer, element), no
///   generator state is carried, so the same element draws the same number on any number of
///   threads, in constant evaluation, and after a resume from a checkpoint that restored the step.
template <std::size_t Batch, class Mode>
struct pass_context {
    static_assert(std::is_same_v<Mode, training_mode> || std::is_same_v<Mode, inference_mode>,
                  "metagrad::pass_context: the mode is training_mode or inference_mode");
    using mode = Mode;
    static constexpr std::size_t batch = Batch;
    static constexpr bool training = std::is_same_v<Mode, training_mode>;

    random_key key{};
    /// Which layer runs: its position in the network (a stream of its own for each layer).
    std::uint64_t layer = 0;

    constexpr pass_context() = default;
    constexpr pass_context(random_key k, std::uint64_t position)
        : key(k), layer(position), stream_(detail::mix_bits(detail::mix_bits(detail::mix_bits(k.seed) ^ k.step) ^ position)) {}

    /// 64 random bits for element `element` of this layer in this step: the element-th output
    /// of SplitMix64 seeded with a hash of (seed, step, layer).
    constexpr std::uint64_t random_bits(std::uint64_t element) const {
        return detail::mix_bits(stream_ + element * 0x9e3779b97f4a7c15u);
    }
    /// Uniform in [0, 1), from the top bits (24 for float, 53 for double): exact, the same everywhere.
    template <class T>
    constexpr T uniform(std::uint64_t element) const {
        if constexpr (sizeof(T) == sizeof(float))
            return static_cast<T>(random_bits(element) >> 40) * T(0x1.0p-24);
        else
            return static_cast<T>(random_bits(element) >> 11) * T(0x1.0p-53);
    }

    /// The same pass for the layer at `position`.
    constexpr pass_context at_layer(std::uint64_t position) const { return {key, position}; }
    /// The same pass for the layer at `position` inside this one (a chain's, a residual block's):
    /// a stream apart from every top-level layer's and from its siblings'.
    constexpr pass_context inside(std::uint64_t position) const {
        return {key, detail::mix_bits(layer ^ 0x6a09e667f3bcc909u) + position};
    }

private:
    std::uint64_t stream_ = detail::mix_bits(detail::mix_bits(detail::mix_bits(0)));
};

}  // namespace metagrad
