// metagrad::math::tanh and sigmoid: constant-evaluable and stable for large |x|.
#pragma once

#include "metagrad/math/exp.hpp"

namespace metagrad::math {

/// Hyperbolic tangent, from expm1 so that small |x| keeps its precision:
/// tanh(a) = expm1(2a) / (expm1(2a) + 2) for a = |x|, odd in x.
constexpr double tanh(double x) {
    if (detail::is_nan(x)) return x;
    const double a = x < 0 ? -x : x;
    if (a > 22.0) return x < 0 ? -1.0 : 1.0;  // 1 - tanh(22) < 2^-63
    const double em = expm1(2.0 * a);
    const double t = em / (em + 2.0);
    return x < 0 ? -t : t;
}

/// The logistic function 1 / (1 + e^-x), never overflowing: for negative x it is computed as
/// e^x / (1 + e^x). NaN gives NaN, returned before any arithmetic on it (clang refuses to make a
/// NaN by arithmetic in constant evaluation).
constexpr double sigmoid(double x) {
    if (detail::is_nan(x)) return x;
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
}

constexpr float tanh(float x) { return static_cast<float>(tanh(static_cast<double>(x))); }
constexpr float sigmoid(float x) { return static_cast<float>(sigmoid(static_cast<double>(x))); }

}  // namespace metagrad::math
