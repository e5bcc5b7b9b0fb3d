// metagrad::nll_loss: the negative log-likelihood of log-probabilities.
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/tensor.hpp"
#include "metagrad/losses/loss.hpp"

namespace metagrad {

/// l = -sum_j t_j p_j per sample, the mean over a batch's samples, for log-probabilities p (the
/// output of `log_softmax`) and class probabilities t (one-hot: PyTorch's `NLLLoss()` on class
/// indices); dl/dp = -t / samples. `log_softmax` then `nll_loss` is `softmax_cross_entropy` in
/// two steps.
struct nll_loss {
    static constexpr std::string_view name = "nll_loss";
    template <class T, class P, class Q>
    static constexpr T value(const tensor<T, P>& p, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            T total{};
            for (std::size_t i = 0; i < P::size; ++i) total -= t[i] * p[i];
            return total / static_cast<T>(P::rows);
        } else {
            return T{};
        }
    }
    template <class T, class P, class Q>
    static constexpr tensor<T, P> gradient(const tensor<T, P>&, const tensor<T, Q>& t) {
        tensor<T, P> g;
        if constexpr (detail::check_loss_shapes<P, Q>())
            for (std::size_t i = 0; i < P::size; ++i) g[i] = -t[i] / static_cast<T>(P::rows);
        return g;
    }
};

}  // namespace metagrad
