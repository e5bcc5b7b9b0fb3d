// metagrad::math::log and log1p: constant-evaluable, within a few ulp of <cmath> in double.
#pragma once

#include "metagrad/detail/float_bits.hpp"
#include "metagrad/detail/no_contract.hpp"
#include "metagrad/math/exp.hpp"

namespace metagrad::math {
namespace detail {
/// log(1 + f) for 1 + f in [sqrt(1/2), sqrt(2)). With s = f / (2 + f), log(1 + f) = 2 atanh(s)
/// = 2s + s R(s^2), R(z) = 2z/3 + 2z^2/5 + ...; and 2s = f - s f, so log(1 + f) = f - s (f - R),
/// whose leading term f is exact. |s| <= 0.1716, so ten terms of R reach 2^-60.
METAGRAD_NO_CONTRACT constexpr double log1p_kernel(double f) {
    METAGRAD_NO_CONTRACT_BODY
    const double s = f / (2.0 + f);
    const double z = s * s;
    double r = 0;
    for (int n = 10; n >= 1; --n) r = (r + 2.0 / (2 * n + 1)) * z;
    return f - s * (f - r);
}
}  // namespace detail

/// Natural logarithm; log(0) = -inf, log of a negative number is NaN.
METAGRAD_NO_CONTRACT constexpr double log(double x) {
    METAGRAD_NO_CONTRACT_BODY
    using namespace detail;
    if (is_nan(x) || x == infinity) return x;
    if (x < 0) return quiet_nan;
    if (x == 0) return -infinity;
    int adjust = 0;
    if (x < 0x1p-1022) {  // subnormal: bring it into the normal range first
        x *= 0x1p54;
        adjust = -54;
    }
    int e = exponent_of(x);
    double m = with_exponent(x, 0);  // x = m 2^e, m in [1, 2)
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        ++e;
    }
    e += adjust;
    const double l = log1p_kernel(m - 1.0);
    return e * ln2_hi + (l + e * ln2_lo);
}

/// log(1 + x), accurate for small x where `log(1 + x)` would lose x's low bits.
constexpr double log1p(double x) {
    using namespace detail;
    if (is_nan(x) || x == infinity) return x;
    if (x < -1.0) return quiet_nan;
    if (x == -1.0) return -infinity;
    // Goldberg's correction: u = 1 + x rounds; log(u) * x / (u - 1) undoes that rounding.
    const double u = 1.0 + x;
    if (u == 1.0) return x;
    return log(u) * (x / (u - 1.0));
}

constexpr float log(float x) { return static_cast<float>(log(static_cast<double>(x))); }
constexpr float log1p(float x) { return static_cast<float>(log1p(static_cast<double>(x))); }

}  // namespace metagrad::math
