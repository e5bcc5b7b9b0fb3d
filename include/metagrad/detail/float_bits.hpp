// Constant-evaluable access to a double's exponent: the building block of constexpr exp and log.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace metagrad::detail {

inline constexpr double infinity = std::numeric_limits<double>::infinity();
inline constexpr double quiet_nan = std::numeric_limits<double>::quiet_NaN();

/// 2^k for a normal power, built from its bits (std::ldexp is not constexpr before C++23).
constexpr double power_of_two(int k) {
    return std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52);
}

/// y * 2^k for any k that keeps the result representable, in steps that stay normal.
constexpr double scale_by_power_of_two(double y, int k) {
    while (k > 1023) {
        y *= power_of_two(1023);
        k -= 1023;
    }
    // Two steps below the normal range so that only the last multiplication rounds.
    while (k < -1022) {
        y *= power_of_two(-1022 + 54);
        k += 1022 - 54;
    }
    return y * power_of_two(k);
}

/// The unbiased binary exponent of a positive normal double.
constexpr int exponent_of(double x) {
    return static_cast<int>((std::bit_cast<std::uint64_t>(x) >> 52) & 0x7ff) - 1023;
}

/// x with its exponent set to `e` (x positive normal): the mantissa in [2^e, 2^(e+1)).
constexpr double with_exponent(double x, int e) {
    constexpr std::uint64_t mantissa_mask = (std::uint64_t{1} << 52) - 1;
    return std::bit_cast<double>((std::bit_cast<std::uint64_t>(x) & mantissa_mask) |
                                 (static_cast<std::uint64_t>(e + 1023) << 52));
}

constexpr bool is_nan(double x) { return x != x; }

/// Nearest integer (ties away from zero) of a value known to fit an int.
constexpr int round_to_int(double x) { return static_cast<int>(x < 0 ? x - 0.5 : x + 0.5); }

}  // namespace metagrad::detail
