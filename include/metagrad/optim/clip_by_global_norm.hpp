// metagrad::clip_by_global_norm: another optimizer's step on gradients scaled to a largest global L2 norm.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "metagrad/core/parameters.hpp"
#include "metagrad/detail/no_contract.hpp"
#include "metagrad/math/sqrt.hpp"
#include "metagrad/optim/sgd.hpp"
#include "metagrad/train/non_finite.hpp"

namespace metagrad {

namespace detail {
/// Whether an optimizer's update is `learning_rate` times the gradient and nothing else, so that
/// scaling the gradient is scaling the rate and no scaled copy need be kept: plain `sgd` only.
template <class Optimizer>
inline constexpr bool linear_in_gradient = false;
template <class T>
inline constexpr bool linear_in_gradient<sgd<T>> = true;

/// The element type an optimizer works in: `sgd<T>`'s `T`, or its parameters' value type.
template <class Optimizer>
struct optimizer_value {};
template <class T>
struct optimizer_value<sgd<T>> {
    using type = T;
};
template <class Optimizer>
    requires requires { typename Optimizer::parameters_type::value_type; }
struct optimizer_value<Optimizer> {
    using type = typename Optimizer::parameters_type::value_type;
};

/// Where `clip_by_global_norm` writes the scaled gradients: a copy of the parameters' type, or
/// nothing for an optimizer linear in the gradient.
struct no_gradient_copy {};
template <class Optimizer>
struct gradient_copy {
    using type = no_gradient_copy;
};
template <class Optimizer>
    requires(!linear_in_gradient<Optimizer>)
struct gradient_copy<Optimizer> {
    using type = typename Optimizer::parameters_type;
};

/// "adam clipped by global norm": the wrapped optimizer's name, said to be clipped, stored once
/// per optimizer type (a static `name` is what checkpoints and fingerprints read).
template <class Optimizer>
inline constexpr auto clipped_name = [] {
    constexpr std::string_view base = Optimizer::name, suffix = " clipped by global norm";
    std::array<char, base.size() + suffix.size()> text{};
    for (std::size_t i = 0; i < base.size(); ++i) text[i] = base[i];
    for (std::size_t i = 0; i < suffix.size(); ++i) text[base.size() + i] = suffix[i];
    return text;
}();

/// Adds the squares of `t`'s elements, in double, into eight running sums taken in turn: a fixed
/// order (the same sum at compile time and at run time, on any machine) that the compiler can
/// vectorize, where one running sum would be a chain of dependent additions. Contraction is off
/// so that a run-time fma does not round differently from constant evaluation (for float
/// elements the squares are exact in double either way).
template <class Tensor>
METAGRAD_NO_CONTRACT constexpr void add_squares(std::array<double, 8>& sums, const Tensor& t) {
    METAGRAD_NO_CONTRACT_BODY
    constexpr std::size_t size = Tensor::size, whole = size - size % 8;
    for (std::size_t i = 0; i < whole; i += 8)
        for (std::size_t k = 0; k < 8; ++k) {
            const double x = static_cast<double>(t[i + k]);
            sums[k] += x * x;
        }
    for (std::size_t i = whole; i < size; ++i) {
        const double x = static_cast<double>(t[i]);
        sums[i - whole] += x * x;
    }
}

/// The sum of the squares of every parameter gradient in `g` (the tensors `for_each_tensor`
/// visits, the ones an optimizer steps), in double: for float gradients it overflows only if a
/// gradient is not finite.
template <class Net, class T>
constexpr double sum_of_squares(const network_parameters<Net, T>& g) {
    std::array<double, 8> sums{};
    for_each_tensor([&](const auto& t) { add_squares(sums, t); }, g);
    return ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));
}

/// The step's refusals, thrown before anything is changed. Not constexpr: in constant evaluation
/// reaching one is the compile error.
template <class Net, class T>
[[noreturn]] void refuse_non_finite_norm(double norm, const network_parameters<Net, T>& g) {
    const std::string bad = first_non_finite(g);
    throw non_finite_error("metagrad::clip_by_global_norm: the gradients' global norm is " + number_or_marker(norm) +
                               (bad.empty() ? std::string(" (every gradient is finite: the sum of their squares overflowed)")
                                            : ": the gradient of '" + bad + "' is not finite") +
                               "; the step was refused, the parameters and the optimizer's state are as before it",
                           0, 0, 0, 0, bad);
}
[[noreturn]] inline void refuse_max_norm(double max_norm) {
    throw std::invalid_argument("metagrad::clip_by_global_norm: max_norm must be a positive number (infinity clips nothing), not " +
                                number_or_marker(max_norm, "%g"));
}
}  // namespace detail

/// What `clip_by_global_norm` wraps: an optimizer with a static `name` whose gradients it can
/// scale, either keeping a copy of them (one of `parameters_type`) or, for plain `sgd`, by
/// scaling the learning rate. Every optimizer of the library is one.
template <class Optimizer>
concept clippable_optimizer = requires {
    { Optimizer::name } -> std::convertible_to<std::string_view>;
    typename detail::optimizer_value<Optimizer>::type;
} && (detail::linear_in_gradient<Optimizer> || requires { typename Optimizer::parameters_type; });

/// Gradient clipping by global norm, as PyTorch's `torch.nn.utils.clip_grad_norm_` does it before
/// `optimizer.step()`, wrapped around any optimizer: each `step(p, g)` measures the L2 norm of all
/// parameter gradients of `g` taken as one vector,
///     norm = sqrt(sum of g_i^2 over every element of every tensor `for_each_tensor` visits),
/// keeps it in `last_norm` (to log), and gives the wrapped optimizer the gradients times
///     min(1, max_norm / (norm + 1e-6)),
/// PyTorch's coefficient, epsilon included: a norm at or just below `max_norm` is scaled by a
/// factor a hair under 1, and below `max_norm - 1e-6` the gradients pass untouched (bit for bit
/// the unwrapped step). The norm is summed in double (PyTorch sums in the gradients' type, a
/// rounding apart), and the coefficient is rounded once to `T`.
///
/// It *is* the wrapped optimizer (derived from it), so its hyper-parameters and state are the
/// wrapped one's: `options.learning_rate` (or `learning_rate`) which `train_epoch` sets from the
/// schedule, `steps`, the moments `for_each_state` names for checkpoints, which save and load it
/// under its own `name`, "adam clipped by global norm" (a checkpoint of plain Adam is refused:
/// load it through the base, `static_cast<adam<Net, T>&>(clipped)`). `max_norm` is a
/// hyper-parameter like the learning rate, not saved.
///
/// The caller's gradients are not changed: where it clips, it writes the scaled gradients into a
/// copy it keeps (`scaled_gradient`, one more copy of the parameters: `state_copies` counts it),
/// except for plain `sgd`, whose learning rate is scaled instead (the same step up to one rounding
/// per weight, as the fused `sgd` step is). Being a type of its own, it never takes the fused
/// `sgd` step of a workspace `train_step`: the norm needs every gradient first.
///
/// A norm that is not finite (a NaN or infinite gradient) makes the step throw `non_finite_error`
/// naming the first such gradient ("1.weight"; epoch, batch and step 0: the optimizer does not
/// know them), before the wrapped optimizer is called: the parameters and its state are as before
/// the step, as `train_epoch` leaves them when a loss is not finite, where PyTorch (by default)
/// would scale by NaN and carry on. A `max_norm` that is not positive throws
/// `std::invalid_argument`. Constexpr (a refusal is then a compile error); `step` allocates
/// nothing on its path through. Example: `tests/optim/clip_by_global_norm.cpp`, docs/training.md.
template <clippable_optimizer Optimizer>
struct clip_by_global_norm : Optimizer {
    using optimizer_type = Optimizer;
    using value_type = typename detail::optimizer_value<Optimizer>::type;
    static constexpr std::string_view name{detail::clipped_name<Optimizer>.data(), detail::clipped_name<Optimizer>.size()};
    // copies of the parameters it keeps: the wrapped optimizer's, and the scaled gradients
    static constexpr std::size_t state_copies = [] {
        std::size_t copies = detail::linear_in_gradient<Optimizer> ? 0 : 1;
        if constexpr (requires { Optimizer::state_copies; }) copies += Optimizer::state_copies;
        return copies;
    }();

    value_type max_norm = value_type(1);
    double last_norm = 0;  // the norm the last step measured, before clipping
    /// The gradients the last clipped step gave the wrapped optimizer (none for plain `sgd`):
    /// scratch, neither saved nor compared.
    typename detail::gradient_copy<Optimizer>::type scaled_gradient{};

    constexpr clip_by_global_norm() = default;
    /// Wraps the optimizer made from `optimizer`: an optimizer (copied or moved) or what it is made
    /// from, its options, in which case it is made in place (`std::make_unique<clip_by_global_norm<
    /// adam<Net, float>>>(adam_options<float>{...}, 1.0f)` puts nothing large on the stack).
    template <class From>
        requires std::constructible_from<Optimizer, From>
    constexpr clip_by_global_norm(From&& optimizer, value_type max_norm_)
        : Optimizer(std::forward<From>(optimizer)), max_norm(max_norm_) {}

    /// Clips `g` by its global norm into the wrapped optimizer's step of `p`; see above. Takes the
    /// parameters the wrapped optimizer takes.
    template <class Net>
        requires requires(Optimizer& o, network_parameters<Net, value_type>& p, const network_parameters<Net, value_type>& g) {
            o.step(p, g);
        }
    constexpr void step(network_parameters<Net, value_type>& p, const network_parameters<Net, value_type>& g) {
        if (!(max_norm > 0)) detail::refuse_max_norm(static_cast<double>(max_norm));
        const double sum = detail::sum_of_squares(g);
        last_norm = math::sqrt(sum);
        if (!(sum <= std::numeric_limits<double>::max())) detail::refuse_non_finite_norm(last_norm, g);
        const double coefficient = static_cast<double>(max_norm) / (last_norm + 1e-6);
        Optimizer& inner = *this;
        if (!(coefficient < 1)) {
            inner.step(p, g);
            return;
        }
        const value_type scale = static_cast<value_type>(coefficient);
        if constexpr (detail::linear_in_gradient<Optimizer>) {
            Optimizer scaled = inner;  // plain sgd: one number
            scaled.learning_rate = scaled.learning_rate * scale;
            scaled.step(p, g);
        } else {
            for_each_tensor([scale](auto& c, const auto& dw) {
                for (std::size_t i = 0; i < dw.size; ++i) c[i] = scale * dw[i];
            }, scaled_gradient, g);
            inner.step(p, scaled_gradient);
        }
    }
};

template <class Optimizer, class T>
clip_by_global_norm(Optimizer, T) -> clip_by_global_norm<Optimizer>;

}  // namespace metagrad
