// metagrad::gradcheck: generated gradients against central finite differences, at compile time or run time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "metagrad/core/context.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/init/random.hpp"
#include "metagrad/math/sqrt.hpp"
#include "metagrad/train/step.hpp"

namespace metagrad {

/// The default finite-difference step, relative to max(1, |x|): about the cube root of the
/// machine epsilon, which balances the O(h^2) truncation of a central difference against
/// rounding (O(eps / h)).
template <class T>
inline constexpr T default_step = sizeof(T) <= 4 ? T(4.9e-3) : T(6.1e-6);

namespace detail {
template <class T>
constexpr T magnitude(T x) {
    return x < 0 ? -x : x;
}

/// Central difference of `f` in the element `x` refers to; leaves `x` as it found it.
template <class F, class T>
constexpr T central_difference(F& f, T& x, T step) {
    const T original = x;
    const T h = step * (magnitude(original) > 1 ? magnitude(original) : T{1});
    const T up = original + h, down = original - h;
    x = up;
    const T f_up = f();
    x = down;
    const T f_down = f();
    x = original;
    return (f_up - f_down) / (up - down);  // the representable difference, not 2h
}

/// |a - b| / max(1, |a|, |b|): relative where values are large, absolute where they are small
/// (a relative error of two values near zero measures only rounding).
template <class T>
constexpr T scaled_error(T a, T b) {
    T scale = T{1};
    if (magnitude(a) > scale) scale = magnitude(a);
    if (magnitude(b) > scale) scale = magnitude(b);
    return magnitude(a - b) / scale;
}
}  // namespace detail

/// d f / d x_i for every element of `x` by central differences; `f` maps a tensor of x's type
/// to a scalar.
template <class F, class T, class S>
constexpr tensor<T, S> numeric_gradient(F f, const tensor<T, S>& x, T step = default_step<T>) {
    tensor<T, S> probe = x, g;
    auto at_probe = [&] { return f(probe); };
    for (std::size_t i = 0; i < S::size; ++i) g[i] = detail::central_difference(at_probe, probe[i], step);
    return g;
}

/// d f / d p for every parameter of a network by central differences; `f` maps parameters to a
/// scalar. The result has the parameters' type.
template <class F, class Net, class T>
constexpr network_parameters<Net, T> numeric_gradient(F f, const network_parameters<Net, T>& p,
                                                      T step = default_step<T>) {
    network_parameters<Net, T> probe = p, g;
    auto at_probe = [&] { return f(probe); };
    for_each_tensor(
        [&](auto& w, auto& dw) {
            for (std::size_t i = 0; i < w.size; ++i) dw[i] = detail::central_difference(at_probe, w[i], step);
        },
        probe, g);
    return g;
}

/// The largest `|a - b| / max(1, |a|, |b|)` over corresponding elements of two tensors.
template <class T, class S>
constexpr T max_scaled_error(const tensor<T, S>& a, const tensor<T, S>& b) {
    T worst{};
    for (std::size_t i = 0; i < S::size; ++i) {
        const T e = detail::scaled_error(a[i], b[i]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

/// The same over every parameter of two parameter values of one network.
template <class Net, class T>
constexpr T max_scaled_error(const network_parameters<Net, T>& a, const network_parameters<Net, T>& b) {
    T worst{};
    for_each_tensor(
        [&](const auto& x, const auto& y) {
            const T e = max_scaled_error(x, y);
            worst = e > worst ? e : worst;
        },
        a, b);
    return worst;
}

/// Checks the generated backward pass of a network: the gradients of `Loss` at (`x`, `y`) with
/// respect to every parameter and to the input, against central finite differences. Returns the
/// worst error `|g - fd| / max(1, |g|, |fd|)`. Constexpr, so it can be a compile-time test:
///
///     static_assert(metagrad::gradcheck(params, x, y, metagrad::squared_error{}) < 1e-6);
///
/// Costs 2 forward passes per parameter and input element. Avoid points where a ReLU input is
/// within `step` of 0, where a finite difference straddles the kink. Every pass runs in training
/// mode with the same random numbers (one dropout mask), and batch norm on the batch's
/// statistics, so the loss differentiated is the one training descends.
template <class Net, class T, class X, class Y, class Loss>
constexpr T gradcheck(const network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y, Loss,
                      T step = default_step<T>) {
    const auto trace = Net::forward_trace(p, x);
    const auto generated = Net::backward(p, trace, Loss::gradient(trace.output(), y));

    const auto loss_at_parameters = [&](const network_parameters<Net, T>& q) {
        return Loss::value(Net::template forward<training_mode>(q, x), y);
    };
    const auto loss_at_input = [&](const tensor<T, X>& x2) { return Loss::value(Net::template forward<training_mode>(p, x2), y); };

    const T parameter_error = max_scaled_error(generated.parameters, numeric_gradient(loss_at_parameters, p, step));
    const T input_error = max_scaled_error(generated.activations.input(), numeric_gradient(loss_at_input, x, step));
    return parameter_error > input_error ? parameter_error : input_error;
}

/// A cheaper check for larger networks: the directional derivative of the loss along random
/// directions v of (parameters, input), from the generated gradient (<g, v>) against a central
/// difference (L(theta + h v) - L(theta - h v)) / 2h. Returns the worst
/// `|<g, v> - fd| / max(1, |<g, v>|, |fd|)` over `directions` directions (default one), entries +-1 / sqrt(n)
/// drawn from `random_generator(seed)`. Costs one backward and two forward passes per direction,
/// whatever the number of parameters, so it fits a `static_assert` with default constexpr limits
/// where `gradcheck` (two forward passes per parameter) would not. A wrong gradient component
/// shows in almost every random direction; `gradcheck` says which one.
template <class Net, class T, class X, class Y, class Loss>
constexpr T directional_gradcheck(const network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y,
                                  Loss, std::size_t directions = 1, std::uint64_t seed = 1, T step = default_step<T>) {
    const auto trace = Net::forward_trace(p, x);
    const auto generated = Net::backward(p, trace, Loss::gradient(trace.output(), y));
    constexpr std::size_t n = network_parameters<Net, T>::count + X::size;
    const T scale = static_cast<T>(1 / math::sqrt(static_cast<double>(n)));
    random_generator g(seed);
    T worst{};
    network_parameters<Net, T> moved = p;
    tensor<T, X> x_moved = x;
    for (std::size_t d = 0; d < directions; ++d) {
        // theta is moved in place by +h v, then by -2h v, then back: v is drawn again from a
        // saved generator state each time, so it is never stored and theta never copied.
        const random_generator::snapshot start = g.save();
        T along{};
        const auto move = [&](T amount, bool project) {
            g.restore(start);
            const auto shift = [&](auto& values, const auto& gradient) {
                for (std::size_t i = 0; i < values.size; ++i) {
                    const T v = (g.next() >> 63) ? scale : -scale;
                    if (project) along += gradient[i] * v;
                    values[i] += amount * v;
                }
            };
            for_each_tensor(shift, moved, generated.parameters);
            shift(x_moved, generated.activations.input());
        };
        move(step, true);
        const T up = Loss::value(Net::template forward<training_mode>(moved, x_moved), y);
        move(-2 * step, false);
        const T down = Loss::value(Net::template forward<training_mode>(moved, x_moved), y);
        move(step, false);
        const T error = detail::scaled_error(along, (up - down) / (2 * step));
        worst = error > worst ? error : worst;
    }
    return worst;
}

}  // namespace metagrad
