// metagrad::binary_cross_entropy_with_logits: cross-entropy of independent yes/no targets
// against sigmoid(logits).
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/tensor.hpp"
#include "metagrad/losses/loss.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

/// l = mean over every element of -(t log s(x) + (1 - t) log(1 - s(x))), s the sigmoid, x the
/// logits and t targets in [0, 1] (PyTorch's `BCEWithLogitsLoss()`, mean reduction), computed
/// stably as max(x, 0) - x t + log(1 + e^-|x|); dl/dx = (s(x) - t) / size.
struct binary_cross_entropy_with_logits {
    static constexpr std::string_view name = "binary_cross_entropy_with_logits";
    template <class T, class P, class Q>
    static constexpr T value(const tensor<T, P>& p, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            T total{};
            for (std::size_t i = 0; i < P::size; ++i) {
                const T x = p[i], magnitude = x > 0 ? x : -x;
                total += (x > 0 ? x : T{0}) - x * t[i] + math::log1p(math::exp(-magnitude));
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
            for (std::size_t i = 0; i < P::size; ++i) g[i] = (math::sigmoid(p[i]) - t[i]) / static_cast<T>(P::size);
        return g;
    }
};

}  // namespace metagrad
