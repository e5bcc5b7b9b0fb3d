// metagrad::eval::matmul_kernel: the run-time matrix product over strided memory, register-blocked.
#pragma once

#include <cstddef>

#include "metagrad/eval/simd.hpp"

namespace metagrad::eval {

/// A rank-2 operand in memory: element (r, c) is at `data[r * RowStride + c * ColumnStride]`.
/// Strides are template arguments, so every loop bound and address step is a constant.
template <class T, std::size_t RowStride, std::size_t ColumnStride>
struct strided {
    const T* data;
    constexpr T operator()(std::size_t r, std::size_t c) const { return data[r * RowStride + c * ColumnStride]; }
};

namespace detail {

// Row-panel form, used when B's rows are contiguous: C[r, c0..] = sum_k A(r, k) B[k, c0..].
// A tile of Rows x Vectors registers accumulates over the whole inner extent, so each loaded
// vector of B serves `Rows` products and C is written once.
template <std::size_t Rows, std::size_t Vectors, class T, std::size_t K, std::size_t C, class A, class B>
inline void row_panel_tile(T* out, A a, B b, std::size_t r0, std::size_t c0) {
    constexpr std::size_t w = lanes<T>;
    simd<T> acc[Rows][Vectors] = {};
    for (std::size_t k = 0; k < K; ++k) {
        simd<T> row[Vectors];
        for (std::size_t j = 0; j < Vectors; ++j) row[j] = load(&b.data[k * C + c0 + j * w]);
        for (std::size_t i = 0; i < Rows; ++i) {
            const simd<T> s = splat(a(r0 + i, k));
            for (std::size_t j = 0; j < Vectors; ++j) acc[i][j] += s * row[j];
        }
    }
    for (std::size_t i = 0; i < Rows; ++i)
        for (std::size_t j = 0; j < Vectors; ++j) store(&out[(r0 + i) * C + c0 + j * w], acc[i][j]);
}

template <class T, std::size_t R, std::size_t K, std::size_t C, class A, class B>
inline void row_panel(T* out, A a, B b) {
    constexpr std::size_t w = lanes<T>, rows = 4, vectors = 3, panel = vectors * w;
    constexpr std::size_t full_rows = R - R % rows, full_panels = C - C % panel;
    constexpr std::size_t vector_end = C - C % w;
    for (std::size_t c0 = 0; c0 < full_panels; c0 += panel) {
        for (std::size_t r0 = 0; r0 < full_rows; r0 += rows) row_panel_tile<rows, vectors, T, K, C>(out, a, b, r0, c0);
        for (std::size_t r0 = full_rows; r0 < R; ++r0) row_panel_tile<1, vectors, T, K, C>(out, a, b, r0, c0);
    }
    for (std::size_t c0 = full_panels; c0 < vector_end; c0 += w) {
        for (std::size_t r0 = 0; r0 < full_rows; r0 += rows) row_panel_tile<rows, 1, T, K, C>(out, a, b, r0, c0);
        for (std::size_t r0 = full_rows; r0 < R; ++r0) row_panel_tile<1, 1, T, K, C>(out, a, b, r0, c0);
    }
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = vector_end; c < C; ++c) {
            T sum{};
            for (std::size_t k = 0; k < K; ++k) sum += a(r, k) * b.data[k * C + c];
            out[r * C + c] = sum;
        }
}

// Dot form, used when A's rows and B's columns are contiguous (X W^T with W stored by rows):
// C[r, c] = <A row r, B column c>. A tile of Rows x Columns dot products shares its loads.
template <std::size_t Rows, std::size_t Columns, class T, std::size_t K, std::size_t C, std::size_t Ars,
          std::size_t Bcs>
inline void dot_tile(T* out, const T* a, const T* b, std::size_t r0, std::size_t c0) {
    constexpr std::size_t w = lanes<T>, vector_end = K - K % w;
    simd<T> acc[Rows][Columns] = {};
    for (std::size_t k = 0; k < vector_end; k += w) {
        simd<T> column[Columns];
        for (std::size_t j = 0; j < Columns; ++j) column[j] = load(&b[(c0 + j) * Bcs + k]);
        for (std::size_t i = 0; i < Rows; ++i) {
            const simd<T> row = load(&a[(r0 + i) * Ars + k]);
            for (std::size_t j = 0; j < Columns; ++j) acc[i][j] += row * column[j];
        }
    }
    for (std::size_t i = 0; i < Rows; ++i)
        for (std::size_t j = 0; j < Columns; ++j) {
            T sum = horizontal_sum<T>(acc[i][j]);
            for (std::size_t k = vector_end; k < K; ++k) sum += a[(r0 + i) * Ars + k] * b[(c0 + j) * Bcs + k];
            out[(r0 + i) * C + c0 + j] = sum;
        }
}

template <class T, std::size_t R, std::size_t K, std::size_t C, std::size_t Ars, std::size_t Bcs>
inline void dot_form(T* out, const T* a, const T* b) {
    constexpr std::size_t rows = 4, columns = 2;
    constexpr std::size_t full_rows = R - R % rows, full_columns = C - C % columns;
    for (std::size_t r0 = 0; r0 < full_rows; r0 += rows) {
        for (std::size_t c0 = 0; c0 < full_columns; c0 += columns)
            dot_tile<rows, columns, T, K, C, Ars, Bcs>(out, a, b, r0, c0);
        for (std::size_t c0 = full_columns; c0 < C; ++c0) dot_tile<rows, 1, T, K, C, Ars, Bcs>(out, a, b, r0, c0);
    }
    for (std::size_t r0 = full_rows; r0 < R; ++r0) {
        for (std::size_t c0 = 0; c0 < full_columns; c0 += columns)
            dot_tile<1, columns, T, K, C, Ars, Bcs>(out, a, b, r0, c0);
        for (std::size_t c0 = full_columns; c0 < C; ++c0) dot_tile<1, 1, T, K, C, Ars, Bcs>(out, a, b, r0, c0);
    }
}

}  // namespace detail

/// `out` (R x C, row-major, not overlapping the operands) = A (R x K) times B (K x C). Chooses the
/// loop nest from the strides at compile time; the result is deterministic for given shapes and
/// target, though its rounding differs from the reference loop in `core/matmul.hpp` (the sums
/// are taken in another order).
template <std::size_t R, std::size_t K, std::size_t C, class T, std::size_t Ars, std::size_t Acs, std::size_t Brs,
          std::size_t Bcs>
inline void matmul_kernel(T* out, strided<T, Ars, Acs> a, strided<T, Brs, Bcs> b) {
    if constexpr (Bcs == 1 && Brs == C) {
        detail::row_panel<T, R, K, C>(out, a, b);
    } else if constexpr (Acs == 1 && Brs == 1) {
        detail::dot_form<T, R, K, C, Ars, Bcs>(out, a.data, b.data);
    } else {
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t c = 0; c < C; ++c) {
                T sum{};
                for (std::size_t k = 0; k < K; ++k) sum += a(r, k) * b(k, c);
                out[r * C + c] = sum;
            }
    }
}

}  // namespace metagrad::eval
