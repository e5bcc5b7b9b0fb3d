// Helpers shared by the tests: seeded random tensors and parameters, a probe loss, and a small
// separable data set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
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

/// 64 separable samples of 3 classes (4 features, the class's own one high), for training loops;
/// sample `nan_at` (if below 64) gets a NaN feature.
inline metagrad::dataset<float, metagrad::shape<4>> separable_classes(std::size_t nan_at = 64) {
    metagrad::dataset<float, metagrad::shape<4>> d;
    d.classes = 3;
    for (std::size_t i = 0; i < 64; ++i) {
        const auto label = static_cast<std::uint32_t>(i % 3);
        d.labels.push_back(label);
        for (std::size_t k = 0; k < 4; ++k) d.features.push_back(static_cast<float>(k == label) + 0.01f * static_cast<float>((i * 7 + k) % 5));
    }
    if (nan_at < 64) d.features[nan_at * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
    return d;
}

}  // namespace test_support
