// metagrad::sgd_momentum: SGD with (optionally Nesterov) momentum and L2 weight decay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "metagrad/core/parameters.hpp"
#include "metagrad/optim/flush.hpp"

namespace metagrad {

template <class T>
struct sgd_momentum_options {
    T learning_rate = T(0.01);
    T momentum = T(0.9);
    T dampening = T(0);
    T weight_decay = T(0);
    bool nesterov = false;
};

/// SGD with momentum, as PyTorch's `torch.optim.SGD` defines it (so that hyper-parameters carry
/// over): d = g + weight_decay p;  b = d on the first step, else momentum b + (1 - dampening) d;
/// p <- p - learning_rate (d + momentum b) with Nesterov, p - learning_rate b without.
/// The velocity `b` has the parameters' type. Constexpr; `step` allocates nothing. For a large
/// network, make it on the heap: `std::make_unique<sgd_momentum<Net, T>>(options)`.
template <class Net, class T>
struct sgd_momentum {
    static constexpr std::string_view name = "sgd_momentum";
    static constexpr std::size_t state_copies = 1;  // copies of the parameters it keeps
    using parameters_type = network_parameters<Net, T>;

    sgd_momentum_options<T> options{};
    parameters_type velocity{};
    std::uint64_t steps = 0;

    constexpr sgd_momentum() = default;
    constexpr explicit sgd_momentum(sgd_momentum_options<T> o) : options(o) {}

    constexpr void step(parameters_type& p, const parameters_type& g) {
        const sgd_momentum_options<T> o = options;
        const bool first = steps == 0;
        for_each_tensor([&](auto& w, const auto& dw, auto& b) {
            for (std::size_t i = 0; i < w.size; ++i) {
                const T d = dw[i] + o.weight_decay * w[i];
                b[i] = detail::flush_subnormal<T>(first ? d : o.momentum * b[i] + (1 - o.dampening) * d);
                w[i] -= o.learning_rate * (o.nesterov ? d + o.momentum * b[i] : b[i]);
            }
        }, p, g, velocity);
        // Saturates instead of wrapping to 0, which would take the next step for a first one.
        if (steps < std::numeric_limits<std::uint64_t>::max()) ++steps;
    }

    /// The state tensors by name, for checkpoints: `f(name, tensors)`.
    template <class F>
    constexpr void for_each_state(F&& f) {
        f(std::string_view("velocity"), velocity);
    }
    template <class F>
    constexpr void for_each_state(F&& f) const {
        f(std::string_view("velocity"), velocity);
    }
};

}  // namespace metagrad
