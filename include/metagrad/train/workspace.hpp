// metagrad::workspace: the activations and gradients one training step writes, sized at compile time.
#pragma once

#include <cstring>
#include <type_traits>

#include "metagrad/core/context.hpp"
#include "metagrad/core/network.hpp"

namespace metagrad {

/// What a training step on inputs of shape `X` (a sample or a batch) writes besides the
/// parameters: every activation (and layer cache) of the forward pass and every gradient of the
/// backward pass.
/// Its size is known at compile time; make it once and reuse it, so that a step allocates
/// nothing. A large network's workspace belongs on the heap (`std::make_unique<workspace<...>>()`),
/// a small one may be a local or a constexpr value.
template <class Net, class T, class X>
struct workspace {
    using network_type = Net;
    using input_shape = X;
    using activations_type = typename Net::template activations_for<T, X>;
    using trace_type = typename Net::template trace_for<T, X>;

    trace_type trace{};
    typename Net::template gradients_for<T, X> gradient{};
    /// The key of the next step's random numbers (dropout's masks): each step uses it, then
    /// counts `key.step` on. `train_epoch` sets it from its position, so a resumed run draws
    /// what the uninterrupted one drew.
    random_key key{};
};

/// Starts every `stateful` layer of the workspace (a recurrent layer that carries its state from
/// one step to the next: truncated back-propagation through time over consecutive chunks) from
/// zeros again, for new sequences. The caches hold nothing else that outlives a step.
template <class Net, class T, class X>
constexpr void reset_carried_state(workspace<Net, T, X>& ws) {
    using caches = decltype(ws.trace.caches);
    static_assert(std::is_trivially_copyable_v<caches>);
    // In place: a convolution's cache (its patches) may be megabytes, too large for a temporary.
    if (std::is_constant_evaluated())
        ws.trace.caches = caches{};
    else
        std::memset(static_cast<void*>(&ws.trace.caches), 0, sizeof(caches));
}

}  // namespace metagrad
