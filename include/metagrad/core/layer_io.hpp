// metagrad::forward_io and metagrad::backward_io: the tensors a layer's passes read and write,
// and the empty parameters, state and cache of layers that have none.
#pragma once

#include <cstddef>
#include <type_traits>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// The parameters of a layer that has none (activations). Every parameter struct lists its
/// tensors once, as (name, member) pairs in `fields` (core/fields.hpp), which is all the
/// framework needs to update, zero, count, compare and save them.
struct no_parameters {
    static constexpr auto fields = metagrad::fields();
    friend constexpr bool operator==(const no_parameters&, const no_parameters&) = default;
};

/// The state of a layer that carries none between steps (every layer but batch norm so far).
struct no_state {
    static constexpr auto fields = metagrad::fields();
    friend constexpr bool operator==(const no_state&, const no_state&) = default;
};

/// The cache of a layer that keeps nothing for its backward pass beyond its input and output.
struct no_cache {};

/// What a layer's `forward(ctx, io)` reads and writes, made by the network for each layer and
/// each pass. `x` holds `ctx.batch` samples of shape `sample_shape` one after another; its type's
/// shape is `batch_of<B, sample_shape>` for a batch and `sample_shape` itself for one sample, so
/// a layer that needs the batch apart reads `ctx.batch` and the sample shape, not `x`'s rank.
/// `state` is writable in training mode only (const in inference); `cache` is the layer's
/// `cache<T, S, B>` in the workspace, which the backward pass of the same batch reads.
template <class T, class Sample, class X, class Y, class Parameters, class State, class Cache>
struct forward_io {
    using value_type = T;
    using sample_shape = Sample;
    using input_shape = X;
    using output_shape = Y;

    const tensor<T, X>& x;
    tensor<T, Y>& y;
    const Parameters& parameters;
    State& state;
    Cache& cache;
};

/// Tensors a layer keeps in its cache, of sample shapes `Shapes...`, for a pass over `B` samples
/// of shape `S`, in the form the pass's input has: `get<I, X>()` for a pass whose input has shape
/// `X`. A pass of one sample may come as the sample (`X` is `S`) or as a batch of one
/// (`shape<1, ...>`); for B = 1 both forms are kept (one sample's worth each).
template <class T, class S, std::size_t B, class... Shapes>
struct pass_buffers {
    boost::hana::tuple<tensor<T, batch_of<B, Shapes>>...> batch{};
    std::conditional_t<B == 1, boost::hana::tuple<tensor<T, Shapes>...>, boost::hana::tuple<>> sample{};

    template <std::size_t I, class X>
    constexpr auto& get() {
        if constexpr (std::is_same_v<X, S>)
            return boost::hana::at_c<I>(sample);
        else
            return boost::hana::at_c<I>(batch);
    }
    template <std::size_t I, class X>
    constexpr const auto& get() const {
        if constexpr (std::is_same_v<X, S>)
            return boost::hana::at_c<I>(sample);
        else
            return boost::hana::at_c<I>(batch);
    }
};

/// The io types above: what a layer's io-form passes take (`template <class Ctx, pass_io IO>`),
/// which keeps them apart from the value-returning `forward(p, x)` a layer may also have.
template <class IO>
concept pass_io = requires {
    typename IO::sample_shape;
    typename IO::input_shape;
    typename IO::output_shape;
};

/// What a layer's `backward(ctx, io)` reads and writes: from `dl_dy`, it writes
/// `dl_dparameters` (every member: they are not zeroed before) and, when
/// `wants_input_gradient`, `dl_dx` (training skips it before the first layer with parameters).
/// `y`, `state` and `cache` are those the forward pass of the same batch left; `scratch` is the
/// layer's `scratch<T, S, B>`, buffers of its own for this pass.
template <class T, class Sample, class X, class Y, class Parameters, class State, class Cache, class Scratch, bool InputGradient>
struct backward_io {
    using value_type = T;
    using sample_shape = Sample;
    using input_shape = X;
    using output_shape = Y;
    static constexpr bool wants_input_gradient = InputGradient;

    const tensor<T, X>& x;
    const tensor<T, Y>& y;
    const tensor<T, Y>& dl_dy;
    const Parameters& parameters;
    const State& state;
    const Cache& cache;
    Parameters& dl_dparameters;
    tensor<T, X>& dl_dx;
    Scratch& scratch;
};

}  // namespace metagrad
