// metagrad::per_step: a layer made for vectors, applied to each time step of a sequence.
#pragma once

#include <string_view>

#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/shape.hpp"

namespace metagrad {

/// `Layer` (one that takes vectors: `dense<Out>`) applied to every time step of a sequence
/// `<T, Features>` with the same parameters, giving `<T, Out>`: PyTorch's `Linear` on a
/// `(batch, T, features)` tensor, Keras's `TimeDistributed(Dense)`. `dense<Out>` alone refuses a
/// sequence, so that forgetting a `flatten` before it stays a compile error. The layer's own
/// passes already treat their input as rows of features; this only lets a sequence in. Its fused
/// run-time paths, declared for vectors, are not used.
template <class Layer>
struct per_step : Layer {
    static constexpr std::string_view name = layer_name<Layer>;
    template <class S>
    static constexpr bool accepts = S::rank == 2 && detail::layer_works<Layer, shape<S::last>>;
    using provides = hooks<per_step, streams_hook>;
};

}  // namespace metagrad
