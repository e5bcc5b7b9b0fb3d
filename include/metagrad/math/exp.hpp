// metagrad::math::exp and expm1: constant-evaluable, within a few ulp of <cmath> in double.
#pragma once

#include "metagrad/detail/float_bits.hpp"

namespace metagrad::math {
namespace detail {
using namespace metagrad::detail;

// ln 2 split so that k * ln2_hi is exact for |k| < 2^11 (the low 21 bits of ln2_hi are zero).
inline constexpr double ln2_hi = 6.93147180369123816490e-01;
inline constexpr double ln2_lo = 1.90821492927058770002e-10;
inline constexpr double inv_ln2 = 1.44269504088896338700e+00;

/// expm1(r) for |r| <= ln2/2 as r + r^2 q(r), q the Taylor series of (e^r - 1 - r)/r^2 to degree
/// 13 (truncation below 2^-60 relative): writing it this way keeps the rounding of the leading
/// term exact.
constexpr double expm1_kernel(double r) {
    // 1/(n+2)! for n = 13 .. 0
    constexpr double c[] = {1.0 / 1307674368000.0, 1.0 / 87178291200.0, 1.0 / 6227020800.0,
                            1.0 / 479001600.0,     1.0 / 39916800.0,    1.0 / 3628800.0,
                            1.0 / 362880.0,        1.0 / 40320.0,       1.0 / 5040.0,
                            1.0 / 720.0,           1.0 / 120.0,         1.0 / 24.0,
                            1.0 / 6.0,             1.0 / 2.0};
    double q = 0;
    for (double coefficient : c) q = q * r + coefficient;
    return r + r * r * q;
}

// Beyond these e^x overflows to infinity or underflows to zero in double.
inline constexpr double exp_overflow = 709.782712893383973096;
inline constexpr double exp_underflow = -745.133219101941108420;

/// x = k ln2 + r with |r| <= ln2/2 (Cody and Waite's reduction).
struct reduced {
    int k;
    double r;
};
constexpr reduced reduce(double x) {
    const int k = round_to_int(x * inv_ln2);
    return {k, (x - k * ln2_hi) - k * ln2_lo};
}
}  // namespace detail

/// e^x. Constant-evaluable; the same code runs at compile time and at run time, so a value a
/// `static_assert` has checked is the value the program computes.
constexpr double exp(double x) {
    using namespace detail;
    if (is_nan(x)) return x;
    if (x > exp_overflow) return infinity;
    if (x < exp_underflow) return 0.0;
    const auto [k, r] = reduce(x);
    return scale_by_power_of_two(1.0 + expm1_kernel(r), k);
}

/// e^x - 1, accurate for small x where `exp(x) - 1` would cancel.
constexpr double expm1(double x) {
    using namespace detail;
    if (is_nan(x)) return x;
    if (x > exp_overflow) return infinity;
    if (x < -40.0) return -1.0;  // e^x < 2^-57: -1 is the nearest double
    if (x > -0.5 * ln2_hi && x < 0.5 * ln2_hi) return expm1_kernel(x);
    const auto [k, r] = reduce(x);
    // e^x - 1 = 2^k expm1(r) + (2^k - 1), where 2^k - 1 is exact for -53 <= k <= 53.
    if (k > 53) return scale_by_power_of_two(1.0 + expm1_kernel(r), k);
    return scale_by_power_of_two(expm1_kernel(r), k) + (power_of_two(k) - 1.0);
}

constexpr float exp(float x) { return static_cast<float>(exp(static_cast<double>(x))); }
constexpr float expm1(float x) { return static_cast<float>(expm1(static_cast<double>(x))); }

}  // namespace metagrad::math
