// metagrad::loss: what a loss function provides, and the check that its target fits.
#pragma once

#include <concepts>

#include "metagrad/core/expression.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// Diagnostic vocabulary for losses.
template <class Shape>
struct prediction {};
template <class Shape>
struct target {};

template <class Prediction, class Target>
inline constexpr bool loss_shapes_agree = false;
template <class S>
inline constexpr bool loss_shapes_agree<prediction<S>, target<S>> = true;

/// A loss compares a prediction with a target of the same shape (a sample, or a batch whose
/// loss is the mean of its samples' losses):
///
///     static constexpr T value(const tensor<T, S>& prediction, const tensor<T, S>& target);
///     static constexpr tensor<T, S> gradient(const tensor<T, S>& prediction, const tensor<T, S>& target);
///
/// `gradient` is dl/d(prediction). A loss may also provide
///
///     static constexpr T value_and_gradient(const tensor<T, S>& prediction, const tensor<T, S>& target,
///                                           tensor<T, S>& gradient);
///
/// when both share work (softmax cross-entropy's exponentials); a training step then calls it.
template <class L, class T, class S>
concept loss_for = requires(const tensor<T, S>& p) {
    { L::value(p, p) } -> std::same_as<T>;
    { L::gradient(p, p) } -> std::same_as<tensor<T, S>>;
};

/// The loss of `prediction` against `target`, its gradient written into `gradient`: through the
/// loss's `value_and_gradient` where it has one.
template <class L, class T, class S, class Q>
constexpr T loss_value_and_gradient(const tensor<T, S>& prediction, const tensor<T, Q>& target, tensor<T, S>& gradient) {
    if constexpr (requires { L::value_and_gradient(prediction, target, gradient); }) {
        return L::value_and_gradient(prediction, target, gradient);
    } else {
        gradient = L::gradient(prediction, target);
        return L::value(prediction, target);
    }
}

namespace detail {
/// Called first by every loss, so that a wrong target is named once, in the user's words.
template <class P, class Q>
constexpr bool check_loss_shapes() {
    // The target passed to a loss has another shape than the network's output (the prediction).
    static_assert(loss_shapes_agree<prediction<P>, target<Q>>,
                  "metagrad: a loss needs a target of the same shape as the prediction");
    return loss_shapes_agree<prediction<P>, target<Q>>;
}
}  // namespace detail

}  // namespace metagrad
