// metagrad::eval::matmul_kernel: the run-time matrix product over strided memory, register-blocked.
#pragma once

#include <cstddef>
#include <type_traits>

#include "metagrad/eval/parallel.hpp"
#include "metagrad/eval/simd.hpp"

// No <algorithm> for two minima: every translation unit includes this header, and <algorithm>
// costs g++ a few tenths of a second to parse.

namespace metagrad::eval {

/// A rank-2 operand in memory: element (r, c) is at `data[r * RowStride + c * ColumnStride]`.
/// Strides are template arguments, so every loop bound and address step is a constant.
template <class T, std::size_t RowStride, std::size_t ColumnStride>
struct strided {
    const T* data;
    constexpr T operator()(std::size_t r, std::size_t c) const { return data[r * RowStride + c * ColumnStride]; }
};

/// What a kernel does with each finished sum `acc` for element (r, c) of `out`: the epilogue,
/// applied once per element as it is stored, to vectors of sums or to single ones (`V` is
/// `simd<T>`, a `small_simd<T, N>` or `T`). `finish(acc, at, c)` returns the value to store at
/// `at`, which points at the element(s) of `out` for column c.
template <class T>
struct store_sum {
    template <class V>
    V finish(V acc, const T*, std::size_t) const {
        return acc;
    }
};
/// out = sum + column_bias[c]: a dense layer's forward pass.
template <class T>
struct add_column_bias {
    const T* column_bias;
    template <class V>
    V finish(V acc, const T*, std::size_t c) const {
        return acc + load_as<V>(column_bias + c);
    }
};
/// out = sum + column_bias[c], and activated = F::value(out) at the same place: a dense layer's
/// forward pass with the activation after it (`F` an activation whose `value` is written with
/// operators alone, so it works on vectors). The activation is applied while the sums are in
/// registers, which saves a pass over the layer's output.
template <class T, class F>
struct add_column_bias_and_activate {
    const T* column_bias;
    const T* out;
    T* activated;
    template <class V>
    V finish(V acc, const T* at, std::size_t c) const {
        const V z = acc + load_as<V>(column_bias + c);
        store_as(activated + (at - out), F::value(z));
        return z;
    }
};
/// out = sum, and through = F::derivative(z, h) * sum at the same place: a dense layer's input
/// gradient (dl/dh, where h = F(z) is its input) and the gradient through the activation `F`
/// before it (dl/dz), from one kernel. `F::derivative` must be written with operators alone, so
/// that it works on vectors. The product is the one F's own backward pass takes, so the values
/// are the same; the layer's output need not be read back, and each thread writes dl/dz where it
/// computed dl/dh.
template <class T, class F>
struct store_and_pass_back {
    const T* out;
    const T* z;
    const T* h;
    T* through;
    template <class V>
    V finish(V acc, const T* at, std::size_t) const {
        const std::size_t i = static_cast<std::size_t>(at - out);
        store_as(through + i, F::derivative(load_as<V>(z + i), load_as<V>(h + i)) * acc);
        return acc;
    }
};
/// out = out - scale * sum: plain SGD's step on a weight, from its gradient's sum, which is then
/// never stored.
template <class T>
struct subtract_scaled {
    T scale;
    template <class V>
    V finish(V acc, const T* at, std::size_t) const {
        return load_as<V>(at) - scale * acc;
    }
};

namespace detail {

// Row-panel form, used when B's rows are contiguous: C[r, c0..] = sum_k A(r, k) B[k, c0..].
// A tile of Rows x Vectors registers accumulates over the whole inner extent, so each loaded
// vector of B serves `Rows` products, each broadcast of A serves `Vectors`, and C is written once.
// Vectors are `Width` lanes wide: the target's, or narrower ones for the columns past its last
// whole vector.
template <std::size_t Rows, std::size_t Vectors, class T, std::size_t K, std::size_t C, std::size_t Width, class A, class B,
          class E>
inline void row_panel_tile(T* out, A a, B b, E epilogue, std::size_t r0, std::size_t c0) {
    using V = small_simd<T, Width>;
    V acc[Rows][Vectors] = {};
    for (std::size_t k = 0; k < K; ++k) {
        V row[Vectors];
        for (std::size_t j = 0; j < Vectors; ++j) row[j] = load_as<V>(&b.data[k * C + c0 + j * Width]);
        for (std::size_t i = 0; i < Rows; ++i) {
            const V s = a(r0 + i, k) - V{};  // a broadcast, as splat
            for (std::size_t j = 0; j < Vectors; ++j) acc[i][j] += s * row[j];
        }
    }
    // The epilogue after the whole sum, in every kernel: a sample and a batch then round alike.
    for (std::size_t i = 0; i < Rows; ++i)
        for (std::size_t j = 0; j < Vectors; ++j) {
            T* at = &out[(r0 + i) * C + c0 + j * Width];
            store_as(at, epilogue.finish(acc[i][j], at, c0 + j * Width));
        }
}

// Rows x Vectors accumulators, Vectors loaded rows of B and a broadcast must fit the registers.
inline constexpr std::size_t panel_rows = simd_registers >= 32 ? 8 : 4;

// Rows [begin, end) of the panel of `Vectors` vectors of `Width` lanes starting at column c0.
template <std::size_t Vectors, class T, std::size_t R, std::size_t K, std::size_t C, std::size_t Width, class A, class B,
          class E>
inline void row_panel_columns(T* out, A a, B b, E epilogue, std::size_t c0, std::size_t begin, std::size_t end) {
    const std::size_t tiles = (end - begin) / panel_rows, rest = begin + tiles * panel_rows;
    for (std::size_t t = 0; t < tiles; ++t)
        row_panel_tile<panel_rows, Vectors, T, K, C, Width>(out, a, b, epilogue, begin + t * panel_rows, c0);
    for (std::size_t r0 = rest; r0 < end; ++r0) row_panel_tile<1, Vectors, T, K, C, Width>(out, a, b, epilogue, r0, c0);
}

// The columns from `From` on that whole vectors narrower than the target's cover: halves,
// quarters, down to 16 bytes (an SSE register, which every x86-64 target has). Offsets are
// constants, so the compiler sees every bound.
template <std::size_t Width, std::size_t From, class T, std::size_t R, std::size_t K, std::size_t C, class A, class B, class E>
inline void narrow_columns(T* out, A a, B b, E epilogue, std::size_t begin, std::size_t end) {
    if constexpr (Width * sizeof(T) >= 16) {
        if constexpr (From + Width <= C) {
            row_panel_columns<1, T, R, K, C, Width>(out, a, b, epilogue, From, begin, end);
            narrow_columns<Width / 2, From + Width, T, R, K, C>(out, a, b, epilogue, begin, end);
        } else {
            narrow_columns<Width / 2, From, T, R, K, C>(out, a, b, epilogue, begin, end);
        }
    }
}
// Where the narrow vectors leave off.
template <class T, std::size_t C>
consteval std::size_t narrow_end() {
    std::size_t c0 = C - C % lanes<T>;
    for (std::size_t width = lanes<T> / 2; width * sizeof(T) >= 16; width /= 2)
        if (c0 + width <= C) c0 += width;
    return c0;
}

// Rows [begin, end) of the whole vectors of columns in [c0, c_end): panels of three, then a panel
// of two or a single vector for the rest. A one-vector tile waits on its loads (one of B and a
// broadcast per row for every Rows multiply-adds); column splits leave short ranges, where two
// vectors in one tile, not two tiles, matter.
template <class T, std::size_t R, std::size_t K, std::size_t C, class A, class B, class E>
inline void whole_vectors(T* out, A a, B b, E epilogue, std::size_t c0, std::size_t c_end, std::size_t begin,
                          std::size_t end) {
    constexpr std::size_t w = lanes<T>;
    // Four vectors left go as two panels of two, not three and one.
    for (; c0 + 3 * w <= c_end && c0 + 4 * w != c_end; c0 += 3 * w)
        row_panel_columns<3, T, R, K, C, w>(out, a, b, epilogue, c0, begin, end);
    for (; c0 + 2 * w <= c_end; c0 += 2 * w) row_panel_columns<2, T, R, K, C, w>(out, a, b, epilogue, c0, begin, end);
    if (c0 + w <= c_end) row_panel_columns<1, T, R, K, C, w>(out, a, b, epilogue, c0, begin, end);
}

// Rows [begin, end) of the columns past the narrow vectors, one sum at a time.
template <class T, std::size_t R, std::size_t K, std::size_t C, class A, class B, class E>
inline void scalar_columns(T* out, A a, B b, E epilogue, std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r)
        for (std::size_t c = narrow_end<T, C>(); c < C; ++c) {
            T sum{};
            for (std::size_t k = 0; k < K; ++k) sum = multiply_add(a(r, k), b.data[k * C + c], sum);
            out[r * C + c] = epilogue.finish(sum, &out[r * C + c], c);
        }
}

// Every row, columns [begin, end) (begin a multiple of the vector width): whole vectors; the
// range that ends at C also takes the narrower vectors and the columns past them. The sums do
// not depend on how the columns are grouped into panels (each lane adds its products in the
// order of k), so any column split gives the values of one range.
template <class T, std::size_t R, std::size_t K, std::size_t C, class A, class B, class E>
inline void row_panel_column_range(T* out, A a, B b, E epilogue, std::size_t begin, std::size_t end) {
    constexpr std::size_t w = lanes<T>, vector_end = C - C % w;
    const std::size_t whole_end = end < vector_end ? end : vector_end;
    whole_vectors<T, R, K, C>(out, a, b, epilogue, begin, whole_end, 0, R);
    if (end < C) return;
    narrow_columns<w / 2, vector_end, T, R, K, C>(out, a, b, epilogue, 0, R);
    scalar_columns<T, R, K, C>(out, a, b, epilogue, 0, R);
}

// Rows [begin, end), every column: whole vectors, then narrower vectors, then the columns past
// them, one at a time. The panel of B stays in L1 while the rows go by.
template <class T, std::size_t R, std::size_t K, std::size_t C, class A, class B, class E>
inline void row_panel(T* out, A a, B b, E epilogue, std::size_t begin, std::size_t end) {
    constexpr std::size_t w = lanes<T>, vector_end = C - C % w;
    end = end < R ? end : R;  // it is; saying so spares g++ a false out-of-bounds warning
    whole_vectors<T, R, K, C>(out, a, b, epilogue, 0, vector_end, begin, end);
    narrow_columns<w / 2, vector_end, T, R, K, C>(out, a, b, epilogue, begin, end);
    scalar_columns<T, R, K, C>(out, a, b, epilogue, begin, end);
}

/// out = out + sum: the blocks of a long inner extent after the first.
template <class T>
struct add_to_stored {
    template <class V>
    V finish(V acc, const T* at, std::size_t) const {
        return load_as<V>(at) + acc;
    }
};

// A long inner extent (a convolution's weight gradient sums over every output position of the
// batch: tens of thousands of rows) is taken in blocks of `inner_block` rows of B, so that the
// panel of B a tile reads stays in L1 while the rows of the output go by; each block's sums are
// added to the stored ones. Only for plain stores, whose destination can hold partial sums.
// The blocks are the same on any number of threads, and so is the rounding.
inline constexpr std::size_t inner_block = 128;
template <class T, std::size_t K, class E>
inline constexpr bool blocks_inner_extent = K >= 4 * inner_block && std::is_same_v<E, store_sum<T>>;

// A product many times taller than wide: a convolution's patches, one row per output position.
template <std::size_t R, std::size_t C>
inline constexpr bool tall = R >= 16 * C;

// Rows [begin, end) of the output, or its columns [begin, end) when `ByColumns`, block by block.
template <bool ByColumns, class T, std::size_t R, std::size_t K, std::size_t C, std::size_t Ars, std::size_t Acs,
          std::size_t Brs, std::size_t Bcs>
inline void row_panel_in_blocks(T* out, strided<T, Ars, Acs> a, strided<T, Brs, Bcs> b, std::size_t begin, std::size_t end) {
    using A = strided<T, Ars, Acs>;
    using B = strided<T, Brs, Bcs>;
    constexpr std::size_t whole = K / inner_block, rest = K % inner_block;
    const auto block = [&]<std::size_t Inner, class E>(std::size_t k0, E epilogue) {
        const A a_block{a.data + k0 * Acs};
        const B b_block{b.data + k0 * Brs};
        if constexpr (ByColumns)
            row_panel_column_range<T, R, Inner, C>(out, a_block, b_block, epilogue, begin, end);
        else
            row_panel<T, R, Inner, C>(out, a_block, b_block, epilogue, begin, end);
    };
    block.template operator()<inner_block>(0, store_sum<T>{});
    for (std::size_t k = 1; k < whole; ++k) block.template operator()<inner_block>(k * inner_block, add_to_stored<T>{});
    if constexpr (rest > 0) block.template operator()<rest>(whole * inner_block, add_to_stored<T>{});
}

// Dot form, used when A's rows and B's columns are contiguous (X W^T with W stored by rows, as a
// dense layer's forward pass reads it): C[r, c] = <A row r, B column c>. A tile of Rows x Columns
// dot products shares its loads; its Rows * Columns vector accumulators are reduced together
// (sum_lanes_of), which costs about one shuffle pair per result instead of a horizontal sum.
template <std::size_t Rows, std::size_t Columns, class T, std::size_t K, std::size_t C, std::size_t Ars, std::size_t Bcs,
          class E>
inline void dot_tile(T* out, const T* a, const T* b, E epilogue, std::size_t r0, std::size_t c0) {
    constexpr std::size_t w = lanes<T>, vector_end = K - K % w, n = Rows * Columns;
    T sums[n] = {};
    if constexpr (vector_end > 0) {
        simd<T> acc[n] = {};
        // One moving pointer per operand, the rows and columns at constant offsets from it: with
        // an index per column, the compiler keeps a pointer per column and runs out of registers.
        const T* a_k = a + r0 * Ars;
        const T* b_k = b + c0 * Bcs;
        for (std::size_t k = 0; k < vector_end; k += w, a_k += w, b_k += w) {
            simd<T> column[Columns];
            for (std::size_t j = 0; j < Columns; ++j) column[j] = load(b_k + j * Bcs);
            for (std::size_t i = 0; i < Rows; ++i) {
                const simd<T> row = load(a_k + i * Ars);
                for (std::size_t j = 0; j < Columns; ++j) acc[i * Columns + j] += row * column[j];
            }
        }
        sum_lanes_of<n, T>(acc, sums);
    }
    if constexpr (vector_end == K) {
        // Each row's sums as one short vector through the epilogue, stored at once: scalar
        // stores would stall the next layer's vector loads of them.
        // Pieces no wider than the target's vectors (wider ones would not be registers).
        constexpr std::size_t piece = Columns < w ? Columns : w;
        for (std::size_t i = 0; i < Rows; ++i)
            for (std::size_t j = 0; j < Columns; j += piece) {
                T* at = &out[(r0 + i) * C + c0 + j];
                store_as(at, epilogue.finish(load_as<small_simd<T, piece>>(&sums[i * Columns + j]), at, c0 + j));
            }
    } else {
        for (std::size_t i = 0; i < Rows; ++i)
            for (std::size_t j = 0; j < Columns; ++j) {
                T sum = sums[i * Columns + j];
                for (std::size_t k = vector_end; k < K; ++k) sum = multiply_add(a[(r0 + i) * Ars + k], b[(c0 + j) * Bcs + k], sum);
                T* at = &out[(r0 + i) * C + c0 + j];
                *at = epilogue.finish(sum, at, c0 + j);
            }
    }
}

// Rows [r0, r0 + Rows), columns [from, to): tiles of Columns, then of halves for the rest.
template <std::size_t Rows, std::size_t Columns, class T, std::size_t K, std::size_t C, std::size_t Ars, std::size_t Bcs,
          class E>
inline void dot_columns(T* out, const T* a, const T* b, E epilogue, std::size_t r0, std::size_t from, std::size_t to) {
    const std::size_t end = from + (to - from) / Columns * Columns;
    for (std::size_t c0 = from; c0 < end; c0 += Columns) dot_tile<Rows, Columns, T, K, C, Ars, Bcs>(out, a, b, epilogue, r0, c0);
    if constexpr (Columns > 1) dot_columns<Rows, Columns / 2, T, K, C, Ars, Bcs>(out, a, b, epilogue, r0, end, to);
}

// Accumulators, loaded columns and a row must fit the registers: 4 x 4 tiles with 32 registers,
// 2 x 4 with 16. A lone row (one-sample inference) takes more columns at once, so that enough
// independent loads and FMAs are in flight.
inline constexpr std::size_t dot_rows = simd_registers >= 32 ? 4 : 2, dot_columns_per_tile = 4;
// A lone row over a long inner extent streams its weights: 8 rows of them at once read fastest
// here. Over a short one, the reduction dominates, and 16 accumulators make one whole vector of
// sums (with 32 registers).
template <class T, std::size_t K>
inline constexpr std::size_t lone_row_columns = simd_registers >= 32 && K < 16 * lanes<T> ? 16 : 8;

template <class T, std::size_t R, std::size_t K, std::size_t C, std::size_t Ars, std::size_t Bcs, class E>
inline void dot_form(T* out, const T* a, const T* b, E epilogue, std::size_t begin, std::size_t end) {
    constexpr std::size_t full_rows = R - R % dot_rows;
    for (std::size_t r0 = 0; r0 < full_rows; r0 += dot_rows)
        dot_columns<dot_rows, dot_columns_per_tile, T, K, C, Ars, Bcs>(out, a, b, epilogue, r0, begin, end);
    for (std::size_t r0 = full_rows; r0 < R; ++r0)
        dot_columns<1, lone_row_columns<T, K>, T, K, C, Ars, Bcs>(out, a, b, epilogue, r0, begin, end);
}

/// Products of at most this many multiply-adds per row (the homework network's) run as plain
/// loops, when their rows are shorter than a vector: a longer row is a chain of dependent adds
/// there, which the dot form's vector sums and reduction tree beat.
inline constexpr std::size_t tiny_product = 64;
template <class T, std::size_t K, std::size_t C>
inline constexpr bool tiny = K * C <= tiny_product && K < lanes<T>;

/// Products of at least this many multiply-adds are split between threads: below it, handing
/// out the parts costs more than it saves.
inline constexpr std::size_t parallel_threshold = std::size_t{1} << 20;

// f(begin, end) over ranges that together cover [0, N): one range, or, when the product is
// large, ranges balanced between the threads (`balanced_ranges`). Ranges start at multiples of
// Granule, so tiles, and with them the sums' rounding, are the same on any number of threads.
// Each thread starts on the same block at every call: from one training step to the next it
// reads the same weights (which stay in its core's L2), and the weight gradient's row split
// updates the rows that thread produced.
template <std::size_t N, std::size_t Granule, std::size_t Work, class F>
inline void split_range(F f) {
    if (Work < parallel_threshold) {
        f(std::size_t{0}, N);
        return;
    }
    balanced_ranges(N, Granule, f);
}

}  // namespace detail

/// `out` (R x C, row-major, not overlapping the operands) = A (R x K) times B (K x C), each sum
/// passed through `epilogue` (`store_sum`, `add_column_bias`, `subtract_scaled`) as it is stored.
/// Chooses the loop nest from the strides at compile time; the result is deterministic for given
/// shapes and target, though its rounding differs from the reference loop in `core/matmul.hpp`
/// (the sums are taken in another order).
template <std::size_t R, std::size_t K, std::size_t C, class T, std::size_t Ars, std::size_t Acs, std::size_t Brs,
          std::size_t Bcs, class E = store_sum<T>>
inline void matmul_kernel(T* out, strided<T, Ars, Acs> a, strided<T, Brs, Bcs> b, E epilogue = {}) {
    if constexpr (detail::tiny<T, K, C> || !((Bcs == 1 && Brs == C) || (Acs == 1 && Brs == 1))) {
        // Tiny products (a few dozen multiply-adds per row, shorter than a vector): plain loops
        // with constant bounds, which the compiler unrolls whole; tiles, reductions and the
        // thread check would cost more than the sums. Decided by K and C alone, so a sample and a
        // batch of one layer take the same path and round alike. Also the fallback for layouts
        // no form reads contiguously.
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t c = 0; c < C; ++c) {
                T sum{};
                for (std::size_t k = 0; k < K; ++k) sum = multiply_add(a(r, k), b(k, c), sum);
                out[r * C + c] = epilogue.finish(sum, &out[r * C + c], c);
            }
    } else if constexpr (Bcs == 1 && Brs == C && Acs == 1 && !detail::tall<R, C>) {
        // A's rows are samples (dl/dY W, an input gradient): split by columns, the units of the
        // layer before, so each thread writes the columns whose weights it reads in that
        // layer's passes. Moving a cache line another core wrote costs more than the sums on it.
        detail::split_range<C, lanes<T>, R * K * C>([&](std::size_t begin, std::size_t end) {
            detail::row_panel_column_range<T, R, K, C>(out, a, b, epilogue, begin, end);
        });
    } else if constexpr (Bcs == 1 && Brs == C && detail::blocks_inner_extent<T, K, E> && C >= R) {
        // A long sum into a wide output (a convolution's weight gradient over every output
        // position): split by columns, so that each thread reads its own part of B's rows.
        detail::split_range<C, lanes<T>, R * K * C>(
            [&](std::size_t begin, std::size_t end) { detail::row_panel_in_blocks<true, T, R, K, C>(out, a, b, begin, end); });
    } else if constexpr (Bcs == 1 && Brs == C) {
        // Split by rows: a weight gradient's rows are the weights' rows; a tall product's rows
        // (a convolution's output positions) are many, and each reads its own row of A.
        detail::split_range<R, detail::panel_rows, R * K * C>([&](std::size_t begin, std::size_t end) {
            if constexpr (detail::blocks_inner_extent<T, K, E>)
                detail::row_panel_in_blocks<false, T, R, K, C>(out, a, b, begin, end);
            else
                detail::row_panel<T, R, K, C>(out, a, b, epilogue, begin, end);
        });
    } else {
        // Split by columns: a forward pass's columns are the weights' rows.
        constexpr std::size_t granule = R >= detail::dot_rows ? detail::dot_columns_per_tile : detail::lone_row_columns<T, K>;
        detail::split_range<C, granule, R * K * C>([&](std::size_t begin, std::size_t end) {
            detail::dot_form<T, R, K, C, Ars, Bcs>(out, a.data, b.data, epilogue, begin, end);
        });
    }
}

namespace detail {
// A lone row's tile: up to `broadcast_block` vectors of output, each summed as a few partial sums
// over interleaved k (added pairwise at the end), so that the adds wait on chains K / split long.
// At most 16 accumulators with 32 registers (AVX-512), 8 with 16 (AVX2): sixteen would leave
// none for the broadcast, and spilled accumulators turn every multiply-add into a load and a
// store (GRU 32 and LSTM 16 stepped 1.2-1.3 times slower than Eigen's on Zen 3).
inline constexpr std::size_t broadcast_block = 4, broadcast_accumulators = simd_registers >= 32 ? 16 : 8;
// Partial sums per output vector, for a product of K x C: four where the tiles allow it, two
// where a tile has more vectors than that leaves registers for. A function of K and C alone, so
// that a lone row and a batch's rows add alike.
template <class T, std::size_t K, std::size_t C>
inline constexpr std::size_t broadcast_split = [] {
    const std::size_t vectors = C / lanes<T>, widest_tile = vectors == 0 ? 1 : vectors < broadcast_block ? vectors : broadcast_block;
    const std::size_t split = 4 * widest_tile <= broadcast_accumulators ? 4 : broadcast_accumulators / widest_tile;
    return K < split ? K : split;
}();
}  // namespace detail

/// How the right operand B (K x C) of the broadcast kernels lies in memory. `rows`: row after
/// row, as a matrix. `panels`: the columns cut into panels as wide as a lone row's tile
/// (`broadcast_block` vectors; the last one narrower), each panel's K rows one after another, so
/// that a tile reads one run of memory instead of a slice of every row: with 64 units a
/// recurrent step's weights (48-64 KB) no longer fit the first-level cache, and read as slices
/// they came 1.3 times slower. The sums are the same in both: only the addresses differ.
enum class operand_layout { rows, panels };

/// Where element (k, c) of B lies, in `Layout`: what a kernel reads and what a packer writes.
template <class T, std::size_t K, std::size_t C, operand_layout Layout>
struct broadcast_operand {
    static constexpr std::size_t panel = Layout == operand_layout::rows ? C : detail::broadcast_block * lanes<T>;
    /// Where the last panel starts (the one that may be narrower).
    static constexpr std::size_t last_panel = (C - 1) - (C - 1) % panel;
    static constexpr std::size_t panel_start(std::size_t c) { return c - c % panel; }
    static constexpr std::size_t width(std::size_t c) { return panel_start(c) + panel <= C ? panel : C - panel_start(c); }
    static constexpr std::size_t offset(std::size_t k, std::size_t c) { return panel_start(c) * K + k * width(c) + (c - panel_start(c)); }
};

namespace detail {
// Rows [0, Rows) x columns [c0, c0 + Vectors * w) of A (row i at a + i * As) times B (its row k
// of these columns at b_tile + k * Stride), into out (row i at out + i * Os). Each loaded vector
// of B serves every row.
template <std::size_t Rows, std::size_t Vectors, class T, std::size_t K, std::size_t C, std::size_t As, std::size_t Os,
          std::size_t Stride, class E>
inline void broadcast_tile(T* out, const T* a, const T* b_tile, E epilogue, std::size_t c0) {
    constexpr std::size_t w = lanes<T>, split = broadcast_split<T, K, C>, whole = K - K % split;
    simd<T> acc[Rows][split][Vectors] = {};
    const T* b_k = b_tile;
    // The loops over the tile are unrolled whole, even at -O2: only then are the accumulators
    // registers (indexed by a loop variable they live on the stack, and a step took 2-4 times as
    // long). The loop over k is not: unrolled whole over a short K (16), g++ hoists the loads
    // ahead of the multiply-adds and spills (LSTM 16 stepped 1.8 times slower).
#pragma GCC unroll 2
    for (std::size_t k = 0; k < whole; k += split) {
#pragma GCC unroll 4
        for (std::size_t u = 0; u < split; ++u, b_k += Stride) {
#pragma GCC unroll 4
            for (std::size_t i = 0; i < Rows; ++i) {
                const simd<T> s = splat(a[i * As + k + u]);
#pragma GCC unroll 4
                for (std::size_t j = 0; j < Vectors; ++j) acc[i][u][j] += s * load(b_k + j * w);
            }
        }
    }
    for (std::size_t k = whole; k < K; ++k, b_k += Stride) {
#pragma GCC unroll 4
        for (std::size_t i = 0; i < Rows; ++i) {
            const simd<T> s = splat(a[i * As + k]);
#pragma GCC unroll 4
            for (std::size_t j = 0; j < Vectors; ++j) acc[i][0][j] += s * load(b_k + j * w);
        }
    }
#pragma GCC unroll 4
    for (std::size_t i = 0; i < Rows; ++i) {
#pragma GCC unroll 4
        for (std::size_t j = 0; j < Vectors; ++j) {
            simd<T> sum = acc[i][0][j];
            if constexpr (split == 4)
                sum = (acc[i][0][j] + acc[i][1][j]) + (acc[i][2][j] + acc[i][3][j]);  // pairwise: two adds deep
            else
                for (std::size_t u = 1; u < split; ++u) sum += acc[i][u][j];
            T* at = out + i * Os + c0 + j * w;
            store(at, epilogue.finish(sum, at, c0 + j * w));
        }
    }
}

// Rows of a batch at once in `broadcast_rows_kernel`, one vector of output each: as many
// accumulators as a lone row's tile may have, four rows at most.
template <class T, std::size_t K, std::size_t C>
inline constexpr std::size_t broadcast_rows = [] {
    const std::size_t rows = broadcast_accumulators / broadcast_split<T, K, C>;
    return rows < 4 ? rows : 4;
}();

// One row: blocks of `broadcast_block` vectors, then one of the vectors left, then the columns
// past the last whole vector one sum at a time.
template <class T, std::size_t K, std::size_t C, operand_layout Layout, class E>
inline void broadcast_row(T* out, const T* a, const T* b, E epilogue) {
    using operand = broadcast_operand<T, K, C, Layout>;
    constexpr std::size_t w = lanes<T>, block = broadcast_block, vector_end = C - C % w, rest = vector_end % (block * w) / w;
    constexpr std::size_t rest_start = vector_end - rest * w;
    // A whole tile's columns are a whole panel's, or in `rows` a slice of the one panel.
    constexpr std::size_t block_stride = Layout == operand_layout::rows ? C : block * w;
    for (std::size_t c0 = 0; c0 < rest_start; c0 += block * w)
        broadcast_tile<1, block, T, K, C, K, C, block_stride>(out, a, b + operand::offset(0, c0), epilogue, c0);
    if constexpr (rest > 0)
        broadcast_tile<1, rest, T, K, C, K, C, operand::width(rest_start)>(out, a, b + operand::offset(0, rest_start), epilogue, rest_start);
    for (std::size_t c = vector_end; c < C; ++c) {
        T sum{};
        for (std::size_t k = 0; k < K; ++k) sum = multiply_add(a[k], b[operand::offset(k, c)], sum);
        out[c] = epilogue.finish(sum, &out[c], c);
    }
}
}  // namespace detail

/// `out` (1 x C) = a (1 x K, contiguous) times B (K x C, in `Layout`), each sum passed through
/// `epilogue`: the broadcast form of one-sample inference, for weights stored input-major
/// (`predictor` and `stream` pack them so). No reduction across lanes, and partial sums over
/// interleaved k (`broadcast_split`), so it rounds differently from `matmul_kernel`. Columns past
/// the last whole vector are summed one by one.
template <std::size_t K, std::size_t C, operand_layout Layout = operand_layout::rows, class T, class E = store_sum<T>>
inline void lone_row_kernel(T* out, const T* a, const T* b, E epilogue = {}) {
    detail::broadcast_row<T, K, C, Layout>(out, a, b, epilogue);
}

namespace detail {
// Rows [begin, end) of `broadcast_rows_kernel`'s product.
template <std::size_t K, std::size_t C, std::size_t AStride, std::size_t OutStride, operand_layout Layout, class T, class E>
inline void broadcast_rows_range(T* out, const T* a, const T* b, E epilogue, std::size_t begin, std::size_t end) {
    using operand = broadcast_operand<T, K, C, Layout>;
    constexpr std::size_t w = lanes<T>, rows = broadcast_rows<T, K, C>, vector_end = C - C % w;
    constexpr std::size_t last_panel = operand::last_panel, whole_panels_end = vector_end < last_panel ? vector_end : last_panel;
    const std::size_t whole_end = begin + (end - begin) / rows * rows;
    for (std::size_t r0 = begin; r0 < whole_end; r0 += rows) {
        T* const out_r = out + r0 * OutStride;
        const T* const a_r = a + r0 * AStride;
        for (std::size_t c0 = 0; c0 < whole_panels_end; c0 += w)
            broadcast_tile<rows, 1, T, K, C, AStride, OutStride, operand::panel>(out_r, a_r, b + operand::offset(0, c0), epilogue, c0);
        for (std::size_t c0 = whole_panels_end; c0 < vector_end; c0 += w)
            broadcast_tile<rows, 1, T, K, C, AStride, OutStride, C - last_panel>(out_r, a_r, b + operand::offset(0, c0), epilogue, c0);
        for (std::size_t c = vector_end; c < C; ++c)
            for (std::size_t r = r0; r < r0 + rows; ++r) {
                T sum{};
                for (std::size_t k = 0; k < K; ++k) sum = multiply_add(a[r * AStride + k], b[operand::offset(k, c)], sum);
                out[r * OutStride + c] = epilogue.finish(sum, &out[r * OutStride + c], c);
            }
    }
    for (std::size_t r = whole_end; r < end; ++r) broadcast_row<T, K, C, Layout>(out + r * OutStride, a + r * AStride, b, epilogue);
}
}  // namespace detail

/// `out` (R x C, row r at `out + r * OutStride`) = A (R x K, row r at `a + r * AStride`) times B
/// (K x C, in `Layout`), each sum passed through `epilogue`: `lone_row_kernel` on a batch,
/// rounding as it does row by row, bit for bit (every sum takes the same partial sums in the same
/// order), so that a sequence run whole equals the same network streamed one step at a time. Rows
/// go `broadcast_rows` at a time, sharing each vector of B they load; a large product's rows are
/// split between the threads, which changes no sum.
template <std::size_t R, std::size_t K, std::size_t C, std::size_t AStride, std::size_t OutStride,
          operand_layout Layout = operand_layout::rows, class T, class E = store_sum<T>>
inline void broadcast_rows_kernel(T* out, const T* a, const T* b, E epilogue = {}) {
    detail::split_range<R, detail::broadcast_rows<T, K, C>, R * K * C>([&](std::size_t begin, std::size_t end) {
        detail::broadcast_rows_range<K, C, AStride, OutStride, Layout>(out, a, b, epilogue, begin, end);
    });
}

/// The same on the calling thread alone, whatever the size: a stream's step, which must not wait
/// on another thread.
template <std::size_t R, std::size_t K, std::size_t C, std::size_t AStride, std::size_t OutStride,
          operand_layout Layout = operand_layout::rows, class T, class E = store_sum<T>>
inline void broadcast_rows_on_this_thread(T* out, const T* a, const T* b, E epilogue = {}) {
    detail::broadcast_rows_range<K, C, AStride, OutStride, Layout>(out, a, b, epilogue, 0, R);
}

}  // namespace metagrad::eval
