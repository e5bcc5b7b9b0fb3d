// metagrad::eval::simd: the widest vector register of the target, as a GCC/Clang vector type.
#pragma once

#include <cstddef>
#include <cstring>
#include <utility>

namespace metagrad::eval {

/// Bytes in one vector register of the compilation target: the kernels are written once over
/// `simd<T>` and get SSE2, AVX or AVX-512 code from the compiler flags alone.
#if defined(__AVX512F__)
inline constexpr std::size_t simd_bytes = 64;
#elif defined(__AVX__)
inline constexpr std::size_t simd_bytes = 32;
#else
inline constexpr std::size_t simd_bytes = 16;
#endif

/// Vector registers the kernels may plan their tiles for (AVX-512 doubles them).
#if defined(__AVX512F__)
inline constexpr std::size_t simd_registers = 32;
#else
inline constexpr std::size_t simd_registers = 16;
#endif

namespace detail {
template <class T>
struct simd_of;
template <>
struct simd_of<float> {
    typedef float type __attribute__((vector_size(simd_bytes)));
};
template <>
struct simd_of<double> {
    typedef double type __attribute__((vector_size(simd_bytes)));
};
}  // namespace detail

/// A vector register of `T` (float or double); arithmetic operators work lane-wise.
template <class T>
using simd = typename detail::simd_of<T>::type;

/// Lanes in `simd<T>`.
template <class T>
inline constexpr std::size_t lanes = simd_bytes / sizeof(T);

/// Loads and stores through memcpy: no alignment is assumed, and no aliasing rule is broken.
template <class T>
inline simd<T> load(const T* p) {
    simd<T> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class T>
inline void store(T* p, simd<T> v) {
    std::memcpy(p, &v, sizeof v);
}
/// `V` (a vector type or a scalar) read from or written to memory, with no alignment assumed.
template <class V, class T>
inline V load_as(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class V, class T>
inline void store_as(T* p, V v) {
    std::memcpy(p, &v, sizeof v);
}

/// `a * b + c` on scalars, rounded once where the target has FMA instructions, as the compiler
/// contracts the vector loops there, and twice elsewhere. Spelled out because whether the
/// compiler contracts a scalar loop depends on the code around it: a kernel's remainder columns
/// would otherwise round differently under different epilogues.
template <class T>
inline T multiply_add(T a, T b, T c) {
#if defined(__FMA__)
    if constexpr (sizeof(T) == sizeof(float))
        return __builtin_fmaf(a, b, c);
    else
        return __builtin_fma(a, b, c);
#else
    return a * b + c;
#endif
}

/// A vector of `N` elements of `T` (N a power of two), whatever the target's widest: a tile's
/// row of sums, added and stored at once.
template <class T, std::size_t N>
using small_simd [[gnu::vector_size(N * sizeof(T))]] = T;

/// `x` in every lane. Written as x - 0, which is x exactly (also for -0), so the compiler emits
/// one broadcast, from memory when x is there; 0 + x would cost an add first.
template <class T>
inline simd<T> splat(T x) {
    return x - simd<T>{};
}

namespace detail {
// One level of a transposing reduction. Each input holds groups of `Group` partial sums (one
// group per final sum); the result holds the groups of `a` then those of `b`, each halved by
// adding its upper half to its lower half.
template <std::size_t Lanes, std::size_t Group>
consteval int half_group_lane(std::size_t j, bool upper) {
    constexpr std::size_t groups = Lanes / Group, half = Group / 2;
    const std::size_t group = j / half, from_b = group / groups;
    return static_cast<int>(from_b * Lanes + (group % groups) * Group + j % half + (upper ? half : 0));
}
template <class T, std::size_t Group, std::size_t... J>
inline simd<T> halve_groups(simd<T> a, simd<T> b, std::index_sequence<J...>) {
    return __builtin_shufflevector(a, b, half_group_lane<lanes<T>, Group>(J, false)...) +
           __builtin_shufflevector(a, b, half_group_lane<lanes<T>, Group>(J, true)...);
}
// log2(Count) levels, in place: v[i] takes v[2i] and v[2i + 1] (both read before either is
// overwritten, since 2i >= i).
template <std::size_t Count, std::size_t Group, class T>
inline void halve_levels(simd<T>* v) {
    if constexpr (Count > 1) {
        for (std::size_t i = 0; i < Count / 2; ++i)
            v[i] = halve_groups<T, Group>(v[2 * i], v[2 * i + 1], std::make_index_sequence<lanes<T>>{});
        halve_levels<Count / 2, Group / 2, T>(v);
    }
}
// Halves every group of `Group` lanes of v until each is one lane; the results land in order at
// the front (the back holds a copy).
template <std::size_t Group, class T>
inline void halve_self(simd<T>& v) {
    if constexpr (Group > 1) {
        v = halve_groups<T, Group>(v, v, std::make_index_sequence<lanes<T>>{});
        halve_self<Group / 2, T>(v);
    }
}
}  // namespace detail

/// The lane sums of `N` vectors (N a power of two), written to `sums[0, N)`. Vectors are
/// combined pairwise, halving as they go, so `lanes` sums take `lanes - 1` shuffle pairs instead
/// of `lanes` horizontal sums.
template <std::size_t N, class T>
inline void sum_lanes_of(const simd<T>* v, T* sums) {
    static_assert(N > 0 && (N & (N - 1)) == 0, "sum_lanes_of: N must be a power of two");
    constexpr std::size_t w = lanes<T>;
    if constexpr (N > w) {
        for (std::size_t i = 0; i < N; i += w) sum_lanes_of<w, T>(v + i, sums + i);
    } else {
        simd<T> level[N];
        for (std::size_t i = 0; i < N; ++i) level[i] = v[i];
        detail::halve_levels<N, w, T>(level);
        // One vector is left, with N groups of w / N lanes each: halve it against itself until
        // its first N lanes hold the N sums (a tree, not a chain of dependent scalar adds).
        detail::halve_self<w / N, T>(level[0]);
        // One store of the first N lanes: a reader that loads them back as a vector then gets
        // them forwarded from the store, where N scalar stores would stall it.
        std::memcpy(sums, &level[0], N * sizeof(T));
    }
}

}  // namespace metagrad::eval
