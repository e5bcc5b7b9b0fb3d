// metagrad::eval vector maths: exp, tanh and the logistic function on float vectors, for the
// run-time path of element-wise activations (constant evaluation keeps math/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "metagrad/eval/simd.hpp"

namespace metagrad::eval {

namespace detail {
/// 32-bit integers, as many as the float vector `V` has lanes: exponent bits are built in them.
template <class V>
struct int_lanes_of {
    typedef std::int32_t type __attribute__((vector_size(sizeof(V))));
};
}  // namespace detail

/// A vector of floats narrower than a register (16 bytes at least): what a short row (a recurrent
/// layer's gate of 8 units under AVX-512) is computed in, so that no lane is wasted and no value
/// goes through memory to be padded. The functions below take any such width.
template <std::size_t Lanes>
struct narrow_floats {
    static_assert(Lanes * sizeof(float) >= 16 && Lanes * sizeof(float) <= simd_bytes);
    typedef float type __attribute__((vector_size(Lanes * sizeof(float))));
};

/// Whether `V` is a vector of floats these functions take: the register's width or narrower.
template <class V>
concept float_vector =
    std::is_same_v<std::remove_cvref_t<decltype(std::declval<V>()[0])>, float> && sizeof(V) >= 16 && sizeof(V) <= simd_bytes;

/// e^x on every lane, over the whole float range: x = k ln2 + r with |r| <= ln2/2 (Cody and
/// Waite's two-part ln2), e^r by a degree-7 Taylor polynomial, times 2^k. 2^k is applied as two
/// factors 2^(k - h) 2^h, h = floor(k/2), each a normal float for every k here (-150..128), so
/// that p 2^h is exact and the product rounds once: to a normal float, to a denormal (x below
/// -87.3) or to infinity (x above 88.72). x is clamped to [-104, 89] first, past which e^x is 0 or
/// infinity in float; NaN is kept as NaN. Within 1 ulp of the correctly rounded value, denormal
/// results included (tests/eval/vector_math.cpp sweeps the whole range).
template <float_vector V>
[[gnu::always_inline]] inline V exp(V x) {
    using int_lanes = typename detail::int_lanes_of<V>::type;
    const V hi = V{} + 89.0f, lo = V{} - 104.0f;
    // NaN compares false, so it becomes `hi` here and is put back at the end: converting NaN to
    // an integer has no defined value.
    const V input = x;
    x = x < hi ? x : hi;
    x = x > lo ? x : lo;
    const int_lanes ki = __builtin_convertvector(x * 1.44269504f + (x < 0 ? V{} - 0.5f : V{} + 0.5f), int_lanes);
    const V k = __builtin_convertvector(ki, V);
    const V r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
    V p = V{} + 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int_lanes h = ki >> 1;
    const int_lanes low_bits = (h + 127) << 23, high_bits = (ki - h + 127) << 23;
    V low_scale, high_scale;
    static_assert(sizeof low_scale == sizeof low_bits);
    __builtin_memcpy(&low_scale, &low_bits, sizeof low_scale);
    __builtin_memcpy(&high_scale, &high_bits, sizeof high_scale);
    const V y = (p * low_scale) * high_scale;
    return input == input ? y : input;
}

namespace detail {
/// tanh's rational function x P(x^2) / Q(x^2) (scripts/fit_tanh.py), highest coefficient first.
inline constexpr float tanh_p[] = {1.3319213287843468e-08f, 2.0583695004461333e-05f, 0.003494052914902568f, 0.13379734754562378f, 1.0f};
inline constexpr float tanh_q[] = {7.762109248687921e-07f, 0.00032831187127158046f, 0.025871148332953453f, 0.46713051199913025f, 1.0f};
}  // namespace detail

/// tanh on every lane: x P(x^2) / Q(x^2) with P and Q of degree 4, and +-1 from |x| = 9.02 on
/// (where tanh rounds to 1 in float). One division and two short chains of multiply-adds, so a
/// layer's activations are not a long latency chain between its products (half the time
/// of exp-based forms, for 4 to 6 ulp where they held 1). The coefficients minimize the relative
/// error (2.1e-8 in real arithmetic; scripts/fit_tanh.py fits them); all are positive, so nothing
/// cancels. The polynomials go by Estrin's scheme (three levels of multiply-adds, not Horner's
/// four) and x P as x (p3 t + 1) + (x t^2)(...), so the division starts 8 cycles sooner: a
/// recurrent layer's step waits on two tanh in a row. Evaluated in float, the result is within 4
/// ulp of the correctly rounded tanh with fused multiply-adds, 6 without (SSE2), as
/// tests/eval/vector_math.cpp checks on a sweep.
template <float_vector V>
[[gnu::always_inline]] inline V tanh(V x) {
    using detail::tanh_p, detail::tanh_q;
    // Not clamped first: the comparisons would sit between x and the polynomials (8 cycles of a
    // recurrent step's chain, twice); past 9.02 the rational function's value (inf / inf: NaN
    // far out) is replaced by +-1 at the end instead, with the same results everywhere.
    const V hi = V{} + 9.02f, lo = V{} - 9.02f;
    const V t = x * x, t2 = t * t;
    const V p_low = tanh_p[3] * t + tanh_p[4], p_high = (tanh_p[0] * t2 + tanh_p[1] * t) + tanh_p[2];
    const V q_low = tanh_q[3] * t + tanh_q[4], q_high = tanh_q[1] * t + tanh_q[2];
    const V q = (tanh_q[0] * t2 + q_high) * t2 + q_low;
    const V y = ((x * t2) * p_high + x * p_low) / q;
    return x >= hi ? V{} + 1.0f : x <= lo ? V{} - 1.0f : y;
}

/// The logistic function on every lane, within 2 ulp over the whole float range: with
/// e = e^-|x| (in [0, 1], so it never overflows), 1 / (1 + e) for positive x and e / (1 + e)
/// otherwise, as math::sigmoid does. Written as 1 / (1 + e^-x) throughout, the clamped e^-x of
/// x < -88 would give 6e-39 for every such x where the true value falls to denormals and 0.
template <float_vector V>
[[gnu::always_inline]] inline V sigmoid(V x) {
    const auto positive = x > 0;
    const V e = exp(positive ? -x : x);  // NaN stays NaN
    return (positive ? V{} + 1.0f : e) / (1.0f + e);
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

/// out[i] = f(in[i]) for `N` elements through `vector_f` (the run-time path of element-wise
/// activations that have a vector form): whole vectors, then the tail in one vector padded with
/// zeros. Not through the scalar form: it rounds differently, and then a value would depend on
/// where it falls in the tensor (a sequence's last step through a stream and through a pass over
/// the whole sequence differed in the last bit where the tensor was no whole number of vectors).
template <std::size_t N, class T, class VectorF>
inline void map_lanes(T* out, const T* in, VectorF vector_f) {
    constexpr std::size_t w = lanes<T>, whole = N - N % w;
    if constexpr (whole > 0)
        for (std::size_t i = 0; i < whole; i += w) store(out + i, vector_f(load(in + i)));
    if constexpr (whole < N) {
        alignas(64) T tail[w] = {};
        for (std::size_t i = whole; i < N; ++i) tail[i - whole] = in[i];
        store(tail, vector_f(load(tail)));
        for (std::size_t i = whole; i < N; ++i) out[i] = tail[i - whole];
    }
}

}  // namespace metagrad::eval
