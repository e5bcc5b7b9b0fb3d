// metagrad::eval::simd: the widest vector register of the target, as a GCC/Clang vector type.
#pragma once

#include <cstddef>
#include <cstring>

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
template <class T>
inline simd<T> splat(T x) {
    return simd<T>{} + x;
}
template <class T>
inline T horizontal_sum(simd<T> v) {
    T total{};
    for (std::size_t i = 0; i < lanes<T>; ++i) total += v[i];
    return total;
}

}  // namespace metagrad::eval
