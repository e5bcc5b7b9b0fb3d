// metagrad learning-rate schedules: constant, step decay, cosine decay, and linear warm-up.
#pragma once

#include <cstddef>
#include <numbers>

namespace metagrad {

/// A schedule maps the number of steps taken so far to a learning rate:
/// `double operator()(std::size_t step) const`. The training loop sets the optimizer's
/// `options.learning_rate` from it before each step. All are constexpr.
struct constant_rate {
    double rate = 1e-3;
    constexpr double operator()(std::size_t) const { return rate; }
};

/// `initial * factor^(step / every)`: the rate drops by `factor` every `every` steps.
struct step_decay {
    double initial = 1e-3;
    double factor = 0.1;
    std::size_t every = 1000;
    constexpr double operator()(std::size_t step) const {
        double rate = initial;
        for (std::size_t k = step / every; k; --k) rate *= factor;
        return rate;
    }
};

namespace detail {
/// cos(pi t) for t in [0, 1], by its Taylor series on [0, 1/2] and symmetry: constexpr, and
/// within a few ulp, which a learning rate does not notice.
constexpr double cos_pi(double t) {
    const bool flip = t > 0.5;
    const double x = (flip ? 1 - t : t) * std::numbers::pi, x2 = x * x;
    double term = 1, sum = 1;
    for (int k = 1; k < 12; ++k) {
        term *= -x2 / ((2 * k - 1) * (2 * k));
        sum += term;
    }
    return flip ? -sum : sum;
}
}  // namespace detail

/// Half a cosine from `initial` down to `final` over `steps` steps, then `final`
/// (Loshchilov and Hutter's SGDR without restarts).
struct cosine_decay {
    double initial = 1e-3;
    double final = 0;
    std::size_t steps = 1000;
    constexpr double operator()(std::size_t step) const {
        if (step >= steps) return final;
        const double t = static_cast<double>(step) / static_cast<double>(steps);
        return final + (initial - final) * (1 + detail::cos_pi(t)) / 2;
    }
};

/// A linear ramp from `after(0) / steps` up to `after(0)` over the first `steps` steps, then
/// `after` (counted from the end of the warm-up).
template <class Schedule>
struct warmup {
    std::size_t steps = 100;
    Schedule after{};
    constexpr double operator()(std::size_t step) const {
        if (step < steps) return after(0) * static_cast<double>(step + 1) / static_cast<double>(steps);
        return after(step - steps);
    }
};
template <class Schedule>
warmup(std::size_t, Schedule) -> warmup<Schedule>;

}  // namespace metagrad
