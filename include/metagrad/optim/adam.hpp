// metagrad::adam and metagrad::adamw: Adam with L2 or decoupled weight decay.
#pragma once

#include <cstddef>
#include <array>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "metagrad/core/parameters.hpp"
#include "metagrad/optim/flush.hpp"
#include "metagrad/eval/vector_math.hpp"
#include "metagrad/math/sqrt.hpp"

namespace metagrad {

template <class T>
struct adam_options {
    T learning_rate = T(1e-3);
    T beta1 = T(0.9);
    T beta2 = T(0.999);
    T epsilon = T(1e-8);
    T weight_decay = T(0);
};

namespace detail {
/// Adam's update (Kingma and Ba), written in the order PyTorch's `torch.optim.Adam` computes it
/// so that trajectories agree to rounding: m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
/// p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps). `Decoupled` selects AdamW
/// (p <- p (1 - lr wd) first) over Adam's L2 term (g <- g + wd p).
template <bool Decoupled, class Net, class T>
struct adam_family {
    using parameters_type = network_parameters<Net, T>;
    static constexpr std::size_t state_copies = 2;  // copies of the parameters it keeps

    adam_options<T> options{};
    parameters_type first_moment{};
    parameters_type second_moment{};
    std::uint64_t steps = 0;

    constexpr adam_family() = default;
    constexpr explicit adam_family(adam_options<T> o) : options(o) {}

    constexpr void step(parameters_type& p, const parameters_type& g) {
        const adam_options<T> o = options;
        // The count saturates instead of wrapping: past 2^64 - 1 steps, b^t stays 0 to double
        // precision, where a wrap to t = 0 would divide by 1 - b^0 = 0 and make every parameter NaN.
        if (steps < std::numeric_limits<std::uint64_t>::max()) ++steps;
        // The bias corrections in double, as PyTorch's Python scalars are.
        const double b1_power = power(static_cast<double>(o.beta1), steps);
        const double b2_power = power(static_cast<double>(o.beta2), steps);
        const T step_size = static_cast<T>(static_cast<double>(o.learning_rate) / (1 - b1_power));
        const T correction2_root = static_cast<T>(math::sqrt(1 - b2_power));
        const T shrink = 1 - o.learning_rate * o.weight_decay;
        // One element (U = T) or a vector of them (U = eval::simd<T>, at run time): the same
        // operations in the same order either way.
        const auto update = [&]<class U>(U& w, U grad, U& m, U& v) {
            if constexpr (Decoupled)
                w *= shrink;
            else
                grad += o.weight_decay * w;
            m = detail::flush_subnormal<T>(m * o.beta1 + (1 - o.beta1) * grad);
            v = detail::flush_subnormal<T>(v * o.beta2 + (1 - o.beta2) * grad * grad);
            const U denominator = square_root(v) / correction2_root + o.epsilon;
            w -= step_size * (m / denominator);
        };
        for_each_tensor([&](auto& w, const auto& dw, auto& m, auto& v) {
            constexpr std::size_t size = std::remove_cvref_t<decltype(w)>::size;
            if (std::is_constant_evaluated()) {
                for (std::size_t i = 0; i < size; ++i) update(w[i], dw[i], m[i], v[i]);
                return;
            }
            // A vector of elements at a time: the scalar loop does not vectorize, since a scalar
            // square root may have to set errno.
            constexpr std::size_t lanes = eval::lanes<T>, vector_end = size - size % lanes;
            for (std::size_t i = 0; i < vector_end; i += lanes) {
                eval::simd<T> wv = eval::load(&w[i]), mv = eval::load(&m[i]), vv = eval::load(&v[i]);
                update(wv, eval::load(&dw[i]), mv, vv);
                eval::store(&w[i], wv);
                eval::store(&m[i], mv);
                eval::store(&v[i], vv);
            }
            for (std::size_t i = vector_end; i < size; ++i) update(w[i], dw[i], m[i], v[i]);
        }, p, g, first_moment, second_moment);
    }

private:
    static constexpr T square_root(T x) { return math::sqrt(x); }
    static eval::simd<T> square_root(eval::simd<T> x) { return eval::sqrt<T>(x); }

public:
    /// x^n by squaring: a constexpr-cheap pow for integer exponents.
    static constexpr double power(double x, std::uint64_t n) {
        double result = 1;
        for (; n; n >>= 1, x *= x)
            if (n & 1) result *= x;
        return result;
    }

    /// The state tensors by name, for checkpoints: `f(name, tensors)`.
    template <class F>
    constexpr void for_each_state(F&& f) {
        f(std::string_view("first_moment"), first_moment);
        f(std::string_view("second_moment"), second_moment);
    }
    template <class F>
    constexpr void for_each_state(F&& f) const {
        f(std::string_view("first_moment"), first_moment);
        f(std::string_view("second_moment"), second_moment);
    }
    /// State that is a running mean of squares: a negative element would make its square root NaN.
    static constexpr std::array<std::string_view, 1> non_negative_states{"second_moment"};
};
}  // namespace detail

/// Adam with optional L2 weight decay (added to the gradient). Its two moments have the
/// parameters' type; for a large network, make it on the heap:
/// `std::make_unique<adam<Net, float>>(adam_options<float>{.learning_rate = 1e-3f})`.
template <class Net, class T>
struct adam : detail::adam_family<false, Net, T> {
    static constexpr std::string_view name = "adam";
    using detail::adam_family<false, Net, T>::adam_family;
};

/// AdamW (Loshchilov and Hutter): weight decay applied to the parameters, not the gradient.
template <class Net, class T>
struct adamw : detail::adam_family<true, Net, T> {
    static constexpr std::string_view name = "adamw";
    using detail::adam_family<true, Net, T>::adam_family;
};

}  // namespace metagrad
