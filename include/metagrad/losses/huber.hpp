// metagrad::huber: squared error near the target, absolute error far from it.
#pragma once

#include <cstddef>
#include <ratio>
#include <string_view>

#include "metagrad/core/tensor.hpp"
#include "metagrad/losses/loss.hpp"

namespace metagrad {

/// l = mean over every element of 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta), with
/// d = prediction - target (PyTorch's `HuberLoss(delta)`, mean reduction); `Delta` a `std::ratio`,
/// 1 by default. dl/dp = d / size where |d| <= delta, else delta sign(d) / size: outliers pull with
/// a bounded force.
template <class Delta = std::ratio<1>>
struct huber {
    static constexpr std::string_view name = "huber";
    template <class T>
    static constexpr T delta = static_cast<T>(Delta::num) / static_cast<T>(Delta::den);
    template <class T, class P, class Q>
    static constexpr T value(const tensor<T, P>& p, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            T total{};
            for (std::size_t i = 0; i < P::size; ++i) {
                const T d = p[i] - t[i], magnitude = d > 0 ? d : -d;
                total += magnitude <= delta<T> ? T{0.5} * d * d : delta<T> * (magnitude - T{0.5} * delta<T>);
            }
            return total / static_cast<T>(P::size);
        } else {
            return T{};
        }
    }
    template <class T, class P, class Q>
    static constexpr tensor<T, P> gradient(const tensor<T, P>& p, const tensor<T, Q>& t) {
        tensor<T, P> g;
        if constexpr (detail::check_loss_shapes<P, Q>())
            for (std::size_t i = 0; i < P::size; ++i) {
                const T d = p[i] - t[i];
                const T clipped = d > delta<T> ? delta<T> : d < -delta<T> ? -delta<T> : d;
                g[i] = clipped / static_cast<T>(P::size);
            }
        return g;
    }
};

}  // namespace metagrad
