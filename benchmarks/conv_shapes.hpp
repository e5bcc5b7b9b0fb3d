// The convolution benchmarks' shared figures (conv_time.cpp, conv_baselines.cpp).
#pragma once

#include <cstddef>

inline constexpr std::size_t conv_batch = 64;

/// Floating-point operations of a 3x3, padding-1 convolution's forward and backward passes at
/// batch 64: three products (output, weight gradient, input gradient) of 2 * 9 * In * Out per
/// output position each.
inline double conv_flops(std::size_t h, std::size_t w, std::size_t in, std::size_t out) {
    return 3.0 * 2.0 * 9.0 * static_cast<double>(in * out * h * w * conv_batch);
}
