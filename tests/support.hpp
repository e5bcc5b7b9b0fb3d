// Helpers shared by the tests: seeded random tensors and parameters, and a probe loss.
#pragma once

#include <cstddef>
#include <random>

#include "metagrad/metagrad.hpp"

namespace test_support {

/// Seeded, so that every run tests the same values.
inline std::mt19937& generator() {
    static std::mt19937 g(20261128);
    return g;
}

/// Uniform in [-1, 1], but at least `gap` away from 0 (so that no ReLU kink is within a finite
/// difference step of an input).
template <class T>
T random_value(T gap = T{0}) {
    std::uniform_real_distribution<double> d(static_cast<double>(gap), 1.0);
    std::bernoulli_distribution sign(0.5);
    const double v = d(generator());
    return static_cast<T>(sign(generator()) ? v : -v);
}

template <class T, class S>
metagrad::tensor<T, S> random_tensor(T gap = T{0}) {
    metagrad::tensor<T, S> t;
    for (auto& v : t) v = random_value<T>(gap);
    return t;
}

template <class Net, class T>
typename Net::template parameters<T> random_parameters() {
    typename Net::template parameters<T> p;
    metagrad::for_each_tensor([](auto& w) { for (auto& v : w) v = random_value<T>(); }, p);
    return p;
}

/// Random values in the layers' state, all positive (batch norm's running variance must be).
template <class P>
void randomize_state(P& p) {
    metagrad::for_each_state_tensor([](auto& s) { for (auto& v : s) v = 1 + random_value<typename P::value_type>() / 2; }, p);
}

/// l = <prediction, target>: its gradient is the target, so a random target seeds a backward
/// pass with a random vector (the general vector-Jacobian product).
struct probe_loss {
    template <class T, class S>
    static constexpr T value(const metagrad::tensor<T, S>& p, const metagrad::tensor<T, S>& t) {
        return metagrad::dot(p, t);
    }
    template <class T, class S>
    static constexpr metagrad::tensor<T, S> gradient(const metagrad::tensor<T, S>&, const metagrad::tensor<T, S>& t) {
        return t;
    }
};

/// Gradient-check tolerance by element type: finite differences in float are good to ~1e-4.
template <class T>
inline constexpr T tolerance = sizeof(T) <= 4 ? T(2e-3) : T(1e-7);

}  // namespace test_support
