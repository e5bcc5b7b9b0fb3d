// metagrad::squared_error and metagrad::mse: the quadratic losses.
#pragma once

#include <string_view>

#include "metagrad/core/elementwise.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/losses/loss.hpp"

namespace metagrad {

/// l = 1/2 ||p - t||^2 per sample (mean over a batch's samples), so dl/dp = p - t: the loss of
/// the homework, whose delta is h3 - y.
struct squared_error {
    static constexpr std::string_view name = "squared_error";

    template <class T, class P, class Q>
    static constexpr T value(const tensor<T, P>& p, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            const auto d = p - t;
            return T{0.5} * dot(d, d) / static_cast<T>(P::rows);
        } else {
            return T{};
        }
    }

    template <class T, class P, class Q>
    static constexpr tensor<T, P> gradient(const tensor<T, P>& p, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>())
            return (p - t) / static_cast<T>(P::rows);
        else
            return {};
    }
};

/// Mean squared error: l = mean over all elements of (p - t)^2 (PyTorch's MSELoss), so
/// dl/dp = 2 (p - t) / size.
struct mse {
    static constexpr std::string_view name = "mse";

    template <class T, class P, class Q>
    static constexpr T value(const tensor<T, P>& p, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            const auto d = p - t;
            return dot(d, d) / static_cast<T>(P::size);
        } else {
            return T{};
        }
    }

    template <class T, class P, class Q>
    static constexpr tensor<T, P> gradient(const tensor<T, P>& p, const tensor<T, Q>& t) {
        if constexpr (detail::check_loss_shapes<P, Q>())
            return (p - t) * (T{2} / static_cast<T>(P::size));
        else
            return {};
    }
};

}  // namespace metagrad
