// metagrad::sgd: plain stochastic gradient descent, p <- p - learning_rate * g.
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/parameters.hpp"

namespace metagrad {

/// Plain SGD. Stateless, so one value serves any network; `step` is constexpr and allocates
/// nothing. Optimizers take (parameters, gradients of the same type). It has no step count; a
/// checkpoint stores only its name.
template <class T>
struct sgd {
    static constexpr std::string_view name = "sgd";
    static constexpr std::size_t state_copies = 0;  // copies of the parameters it keeps
    T learning_rate{};

    /// The state tensors by name, for checkpoints: none.
    template <class F>
    constexpr void for_each_state(F&&) const {}

    template <class Net>
    constexpr void step(network_parameters<Net, T>& p, const network_parameters<Net, T>& g) const {
        for_each_tensor([lr = learning_rate](auto& w, const auto& dw) { w = w - lr * dw; }, p, g);
    }
};

template <class T>
sgd(T) -> sgd<T>;

}  // namespace metagrad
