// metagrad::workspace: the activations and gradients one training step writes, sized at compile time.
#pragma once

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

}  // namespace metagrad
