// metagrad::math::sqrt: correctly rounded square root, constant-evaluable.
#pragma once

#include <type_traits>

#include "metagrad/detail/float_bits.hpp"
#include "metagrad/detail/no_contract.hpp"

namespace metagrad::math {
namespace detail {
/// The exact product a b as hi + lo (Dekker, with Veltkamp's splitting): lets constant
/// evaluation round a square root correctly without fma.
struct two_terms {
    double hi, lo;
};
METAGRAD_NO_CONTRACT constexpr two_terms exact_product(double a, double b) {
    METAGRAD_NO_CONTRACT_BODY
    constexpr double splitter = 134217729.0;  // 2^27 + 1
    const double ca = splitter * a, cb = splitter * b;
    const double ah = ca - (ca - a), al = a - ah;
    const double bh = cb - (cb - b), bl = b - bh;
    const double p = a * b;
    return {p, ((ah * bh - p) + ah * bl + al * bh) + al * bl};
}

METAGRAD_NO_CONTRACT constexpr double sqrt_constant(double x) {
    METAGRAD_NO_CONTRACT_BODY
    using namespace metagrad::detail;
    int adjust = 0;
    if (x < 0x1p-1000) {  // keep y * y away from the subnormal range
        x *= 0x1p200;
        adjust = -100;
    }
    // Start from the halved exponent, then Newton: quadratic convergence from within a factor 2.
    double y = power_of_two(exponent_of(x) / 2);
    for (int i = 0; i < 7; ++i) y = 0.5 * (y + x / y);
    // Newton leaves y within an ulp; step to the neighbour whose square is nearest x, judged on
    // the exact residual x - y^2.
    const double ulp = power_of_two(exponent_of(y) - 52);
    for (int i = 0; i < 2; ++i) {
        const auto [p, e] = exact_product(y, y);
        const double residual = (x - p) - e;
        if (residual > y * ulp)
            y += ulp;
        else if (residual < -y * ulp)
            y -= ulp;
        else
            break;
    }
    return scale_by_power_of_two(y, adjust);
}
}  // namespace detail

/// Square root; NaN for negative input. Correctly rounded at compile time and at run time
/// (where the hardware instruction is used), so both phases agree.
constexpr double sqrt(double x) {
    if (metagrad::detail::is_nan(x) || x == metagrad::detail::infinity || x == 0) return x;
    if (x < 0) return metagrad::detail::quiet_nan;
    if (std::is_constant_evaluated()) return detail::sqrt_constant(x);
    return __builtin_sqrt(x);
}

constexpr float sqrt(float x) {
    if (std::is_constant_evaluated()) return static_cast<float>(sqrt(static_cast<double>(x)));
    return __builtin_sqrtf(x);
}

}  // namespace metagrad::math
