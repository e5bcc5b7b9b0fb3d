// metagrad::math::erf and erfc: constant-evaluable, close to <cmath> in double (bounds below).
#pragma once

#include "metagrad/detail/float_bits.hpp"
#include "metagrad/math/exp.hpp"

namespace metagrad::math {
namespace detail {

inline constexpr double two_over_root_pi = 1.12837916709551257390;
inline constexpr double one_over_root_pi = 0.56418958354775628695;

/// e^(-x^2) for 0 <= x < 32 without the rounding of x^2 (which grows with x^2: 500 ulp at x = 20):
/// x = hi + lo with hi a multiple of 2^-21, so that hi^2 is exact, and x^2 = hi^2 + lo (x + hi).
constexpr double exp_minus_square(double x) {
    const double hi = static_cast<double>(static_cast<long long>(x * 2097152.0)) / 2097152.0;
    const double lo = x - hi;
    return exp(-hi * hi) * exp(-lo * (x + hi));
}

/// erf(x) for 0 <= x < 1.5 as 2/sqrt(pi) e^(-x^2) sum_n (2x^2)^n x / (1 3 5 ... (2n+1)): every term
/// is positive, so nothing cancels (the alternating Taylor series would lose digits). The terms
/// fall from n = x^2 on, faster than geometrically: at x = 1.5 about 30 of them.
constexpr double erf_series(double x) {
    const double two_x2 = 2 * x * x;
    double term = x, sum = x;
    for (int n = 1; n < 200 && term > sum * 1e-17; ++n) {
        term *= two_x2 / (2 * n + 1);
        sum += term;
    }
    return two_over_root_pi * exp_minus_square(x) * sum;
}

/// erfc(x) for x >= 1.5 by Laplace's continued fraction
///     erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2) / (x + (2/2) / (x + (3/2) / (x + ...)))),
/// evaluated from a fixed depth upwards: at x = 1.5 a hundred levels settle it to rounding (80
/// give 2e-14 relative, 60 give 2e-13).
constexpr double erfc_continued_fraction(double x) {
    double tail = x;
    for (int k = 100; k >= 1; --k) tail = x + (k / 2.0) / tail;
    return one_over_root_pi * exp_minus_square(x) / tail;
}

// erfc(6) < 2.2e-17: beyond it erf(x) rounds to 1 in double.
inline constexpr double erf_is_one = 6.0;
// Below it the series, above it the continued fraction.
inline constexpr double erf_switch = 1.5;

}  // namespace detail

/// The error function, 2/sqrt(pi) times the integral of e^(-t^2) from 0 to x: within 10 ulp of
/// <cmath>. NaN gives NaN.
constexpr double erf(double x) {
    using namespace detail;
    if (is_nan(x)) return x;
    const double a = x < 0 ? -x : x;
    const double value = a >= erf_is_one ? 1.0 : a < erf_switch ? erf_series(a) : 1.0 - erfc_continued_fraction(a);
    return x < 0 ? -value : value;
}

/// The complementary error function 1 - erf(x), without the cancellation of `1 - erf(x)` for
/// large x (GELU's left tail needs it): within 8 ulp of <cmath> from 1.5 on; below, where it is
/// 1 - erf(x) and above 0.03, within 150 ulp (3e-14 relative). NaN gives NaN.
constexpr double erfc(double x) {
    using namespace detail;
    if (is_nan(x)) return x;
    if (x >= erf_switch) return x > 27.3 ? 0.0 : erfc_continued_fraction(x);  // e^(-27.3^2) underflows
    return 1.0 - erf(x);
}

constexpr float erf(float x) { return static_cast<float>(erf(static_cast<double>(x))); }
constexpr float erfc(float x) { return static_cast<float>(erfc(static_cast<double>(x))); }

}  // namespace metagrad::math
