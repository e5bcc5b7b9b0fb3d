// metagrad::softmax_cross_entropy: cross-entropy of class probabilities against softmax(logits).
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/tensor.hpp"
#include "metagrad/losses/loss.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"

namespace metagrad {

/// Takes logits z (no softmax layer before it) and target probabilities t (one-hot or soft):
/// l = -sum_j t_j log softmax(z)_j = sum_j t_j (lse(z) - z_j), with lse(z) = m + log sum_k e^{z_k - m},
/// m = max z, so that large logits neither overflow nor lose the answer.
/// dl/dz_j = (sum_k t_k) softmax(z)_j - t_j. A batch's loss is the mean of its samples'.
struct softmax_cross_entropy {
    static constexpr std::string_view name = "softmax_cross_entropy";

    template <class T, class P, class Q>
    static constexpr T value(const tensor<T, P>& z, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            constexpr std::size_t n = P::last;
            T total{};
            for (std::size_t r = 0; r < P::rows; ++r) {
                const T lse = log_sum_exp(z, r);
                for (std::size_t j = 0; j < n; ++j) total += t[r * n + j] * (lse - z[r * n + j]);
            }
            return total / static_cast<T>(P::rows);
        } else {
            return T{};
        }
    }

    template <class T, class P, class Q>
    static constexpr tensor<T, P> gradient(const tensor<T, P>& z, const tensor<T, Q>& t) {
        tensor<T, P> g;
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            constexpr std::size_t n = P::last;
            for (std::size_t r = 0; r < P::rows; ++r) {
                const T lse = log_sum_exp(z, r);
                T mass{};
                for (std::size_t j = 0; j < n; ++j) mass += t[r * n + j];
                for (std::size_t j = 0; j < n; ++j)
                    g[r * n + j] = (mass * math::exp(z[r * n + j] - lse) - t[r * n + j]) / static_cast<T>(P::rows);
            }
        }
        return g;
    }

private:
    template <class T, class P>
    static constexpr T log_sum_exp(const tensor<T, P>& z, std::size_t r) {
        constexpr std::size_t n = P::last;
        T top = z[r * n];
        for (std::size_t j = 1; j < n; ++j) top = z[r * n + j] > top ? z[r * n + j] : top;
        T total{};
        for (std::size_t j = 0; j < n; ++j) total += math::exp(z[r * n + j] - top);
        return top + math::log(total);
    }
};

}  // namespace metagrad
