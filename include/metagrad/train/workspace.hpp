// metagrad::workspace: the activations and gradients one training step writes, sized at compile time.
#pragma once

#include "metagrad/core/network.hpp"

namespace metagrad {

/// What a training step on inputs of shape `X` (a sample or a batch) writes besides the
/// parameters: every activation of the forward pass and every gradient of the backward pass.
/// Its size is known at compile time; make it once and reuse it, so that a step allocates
/// nothing. A large network's workspace belongs on the heap (`std::make_unique<workspace<...>>()`),
/// a small one may be a local or a constexpr value.
template <class Net, class T, class X>
struct workspace {
    using network_type = Net;
    using input_shape = X;
    using activations_type = typename Net::template activations_for<T, X>;

    activations_type trace{};
    gradients<typename Net::template parameters<T>, activations_type> gradient{};
};

}  // namespace metagrad
