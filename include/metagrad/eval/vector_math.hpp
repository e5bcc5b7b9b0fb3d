// metagrad::eval vector maths: exp, tanh and the logistic function on float vectors, for the
// run-time path of element-wise activations (constant evaluation keeps math/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "metagrad/eval/simd.hpp"

namespace metagrad::eval {

namespace detail {
/// 32-bit integers, as many as a float vector has lanes: exponent bits are built in them.
typedef std::int32_t int_lanes __attribute__((vector_size(simd_bytes)));
}  // namespace detail

/// e^x on every lane, for x in [-87, 88] (clamped outside): x = k ln2 + r with |r| <= ln2/2
/// (Cody and Waite's two-part ln2), e^r by a degree-7 Taylor polynomial, 2^k put in the
/// exponent bits. Within 1 ulp of the correctly rounded value (tests/eval/vector_math.cpp).
inline simd<float> exp(simd<float> x) {
    const simd<float> hi = splat(88.0f), lo = splat(-87.0f);
    x = x > hi ? hi : x;
    x = x < lo ? lo : x;
    const simd<float> k = __builtin_convertvector(__builtin_convertvector(x * 1.44269504f + (x < 0 ? -0.5f : 0.5f), detail::int_lanes),
                                                  simd<float>);
    const simd<float> r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
    simd<float> p = splat(1.0f / 5040);
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const detail::int_lanes bits = (__builtin_convertvector(k, detail::int_lanes) + 127) << 23;
    simd<float> scale;
    static_assert(sizeof scale == sizeof bits);
    __builtin_memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/// tanh on every lane: an odd Taylor polynomial (to x^19) for |x| < 0.625, where 1 - 2/(e^2x + 1)
/// would cancel, and 1 - 2/(e^(2|x|) + 1) with the sign of x elsewhere. Within 1 ulp
/// (tests/eval/vector_math.cpp).
inline simd<float> tanh(simd<float> x) {
    const simd<float> a = x < 0 ? -x : x;
    const simd<float> e = exp(2.0f * (a > 10.0f ? splat(10.0f) : a));  // tanh(10) rounds to 1
    const simd<float> large = 1.0f - 2.0f / (e + 1.0f);
    const simd<float> x2 = x * x;
    // tanh x = x (1 - x^2/3 + 2x^4/15 - 17x^6/315 + ...): coefficients of x^(2n+1).
    simd<float> p = splat(-0.000239129114f);  // x^19
    p = p * x2 + 0.000590027441f;             // x^17
    p = p * x2 - 0.00145583438705f;           // x^15
    p = p * x2 + 0.00359212803657f;           // x^13
    p = p * x2 - 0.00886323552990f;           // x^11
    p = p * x2 + 0.02186948853616f;           // x^9
    p = p * x2 - 0.05396825396825f;           // x^7
    p = p * x2 + 0.13333333333333f;           // x^5
    p = p * x2 - 0.33333333333333f;           // x^3
    const simd<float> small = x + x * x2 * p;
    const simd<float> signed_large = x < 0 ? -large : large;
    return a < 0.625f ? small : signed_large;
}

/// The logistic function 1 / (1 + e^-x) on every lane, within 2 ulp.
inline simd<float> sigmoid(simd<float> x) {
    return 1.0f / (1.0f + exp(-x));
}

/// Square root on every lane, correctly rounded (the vector instruction on x86, where it sets no
/// errno, so it is one instruction; elsewhere lane by lane). Builtins rather than <immintrin.h>,
/// which costs every translation unit half a second or more to parse.
template <class T>
    requires std::is_same_v<T, float> || std::is_same_v<T, double>
inline simd<T> sqrt(simd<T> x) {
#if defined(__AVX512F__) && defined(__clang__)
    if constexpr (std::is_same_v<T, float>)
        return __builtin_ia32_sqrtps512(x, 4);
    else
        return __builtin_ia32_sqrtpd512(x, 4);
#elif defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>)
        return __builtin_ia32_sqrtps512_mask(x, x, static_cast<unsigned short>(-1), 4);
    else
        return __builtin_ia32_sqrtpd512_mask(x, x, static_cast<unsigned char>(-1), 4);
#elif defined(__AVX__)
    if constexpr (std::is_same_v<T, float>)
        return __builtin_ia32_sqrtps256(x);
    else
        return __builtin_ia32_sqrtpd256(x);
#elif defined(__SSE2__)
    if constexpr (std::is_same_v<T, float>)
        return __builtin_ia32_sqrtps(x);
    else
        return __builtin_ia32_sqrtpd(x);
#else
    for (std::size_t i = 0; i < lanes<T>; ++i) x[i] = __builtin_sqrt(x[i]);
    return x;
#endif
}

/// out[i] = f(in[i]) for `N` elements: whole vectors through `vector_f`, the tail through the
/// scalar `f` (the run-time path of element-wise activations that have a vector form).
template <std::size_t N, class T, class VectorF, class ScalarF>
inline void map_lanes(T* out, const T* in, VectorF vector_f, ScalarF f) {
    constexpr std::size_t whole = N - N % lanes<T>;
    if constexpr (whole > 0)
        for (std::size_t i = 0; i < whole; i += lanes<T>) store(out + i, vector_f(load(in + i)));
    if constexpr (whole < N)
        for (std::size_t i = whole; i < N; ++i) out[i] = f(in[i]);
}

}  // namespace metagrad::eval
