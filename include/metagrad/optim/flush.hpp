// metagrad::detail::flush_subnormal: optimizer state that has decayed below the normal range set
// to zero, so that it stops costing a microcode assist per operation.
#pragma once

#include <limits>

namespace metagrad::detail {

/// `x`, or 0 where |x| is below the smallest normal number of `T`. A moment whose gradient stays
/// 0 (a weight from a pixel that is always black, a unit that never fires) decays geometrically
/// and becomes subnormal after some hundreds of steps; every operation on a subnormal then takes
/// a slow path on x86 (the Fashion-MNIST demo's epochs took 1.2-1.3 times as long for it:
/// docs/training.md). What is dropped is below 1.2e-38 in float, far under any step it could
/// still cause. NaN and infinities are kept.
/// `V` is `T` or a vector of `T` (eval::simd<T>): the same comparison on every lane.
template <class T, class V>
constexpr V flush_subnormal(V x) {
    constexpr T smallest = std::numeric_limits<T>::min();
    return ((x < smallest) & (x > -smallest)) ? V{} : x;
}

}  // namespace metagrad::detail
