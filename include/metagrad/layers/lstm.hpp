// metagrad::lstm: long short-term memory (Hochreiter and Schmidhuber, 1997, with a forget gate),
// PyTorch's `nn.LSTM` of one layer.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/layers/recurrent.hpp"

namespace metagrad {

/// One step of an LSTM, element-wise once the products are taken (gates i, f, g, o in PyTorch's
/// order), with a = W_ih x + b_ih + W_hh h_prev + b_hh:
///
///     i = sigmoid(a_i),  f = sigmoid(a_f),  g = tanh(a_g),  o = sigmoid(a_o),
///     c = f * c_prev + i * g,   h = o * tanh(c)
///
/// It keeps c_prev and tanh(c) for the backward pass.
struct lstm_cell {
    static constexpr std::string_view name = "lstm";
    static constexpr std::size_t gates = 4, carried = 2, kept = 2;

    // At run time in float the four gates are one pass of tanh over all 4H values (the logistic
    // function being 0.5 + 0.5 tanh(x / 2), as recurrent.hpp's gates compute it), so that whole
    // vectors run even when a gate is shorter than one; otherwise math::'s functions.
    template <std::size_t H, class T>
    static constexpr void forward_step(T* a, const T* q, T* h, T* c, T* kept_values) {
        bool vectors = false;
        if constexpr (std::is_same_v<T, float>) vectors = !std::is_constant_evaluated();
        if (vectors) {
            for (std::size_t j = 0; j < 2 * H; ++j) a[j] = T(0.5) * (a[j] + q[j]);
            for (std::size_t j = 2 * H; j < 3 * H; ++j) a[j] += q[j];
            for (std::size_t j = 3 * H; j < 4 * H; ++j) a[j] = T(0.5) * (a[j] + q[j]);
            detail::tanh_in_place<4 * H>(a);
            for (std::size_t j = 0; j < 2 * H; ++j) a[j] = T(0.5) + T(0.5) * a[j];
            for (std::size_t j = 3 * H; j < 4 * H; ++j) a[j] = T(0.5) + T(0.5) * a[j];
        } else {
            for (std::size_t j = 0; j < 4 * H; ++j) a[j] += q[j];
            detail::sigmoid_in_place<2 * H>(a);
            detail::tanh_in_place<H>(a + 2 * H);
            detail::sigmoid_in_place<H>(a + 3 * H);
        }
        for (std::size_t j = 0; j < H; ++j) {
            kept_values[j] = c[j];
            c[j] = a[H + j] * c[j] + a[j] * a[2 * H + j];
            kept_values[H + j] = c[j];
        }
        detail::tanh_in_place<H>(kept_values + H);
        for (std::size_t j = 0; j < H; ++j) h[j] = a[3 * H + j] * kept_values[H + j];
    }

    /// A stream's step in float (recurrent.hpp): i's, f's and o's rows come halved, so one pass
    /// of tanh over the four gates' sums gives them all, with no scaling before it.
    template <std::size_t H>
    static void stream_step(float* a, const float* q, float* h, float* c) {
        for (std::size_t j = 0; j < 4 * H; ++j) a[j] += q[j];
        detail::tanh_in_place<4 * H>(a);
        alignas(64) float tanh_c[H];
        for (std::size_t j = 0; j < H; ++j) {
            const float i = 0.5f + 0.5f * a[j], f = 0.5f + 0.5f * a[H + j];
            c[j] = f * c[j] + i * a[2 * H + j];
            tanh_c[j] = c[j];
        }
        detail::tanh_in_place<H>(tanh_c);
        for (std::size_t j = 0; j < H; ++j) h[j] = (0.5f + 0.5f * a[3 * H + j]) * tanh_c[j];
    }
    /// Whether gate `i`'s rows come halved in a stream (i, f and o: not g, whose function is tanh).
    static constexpr bool halved_gate(std::size_t i) { return i != 2; }

    // From dl/dh and dl/dc: the gradients at the gates (the same on both sides), dl/dc_prev in
    // place of dl/dc, and no direct path to h_prev (dl/dh becomes 0).
    template <std::size_t H, class T>
    static constexpr void backward_step(const T* values, const T*, const T* kept_values, T* dl_dh, T* dl_dc, T* dl_dg, T* dl_dq) {
        for (std::size_t j = 0; j < H; ++j) {
            const T i = values[j], f = values[H + j], g = values[2 * H + j], o = values[3 * H + j];
            const T c_prev = kept_values[j], tanh_c = kept_values[H + j];
            const T dh = dl_dh[j];
            const T dc = dl_dc[j] + dh * o * (T{1} - tanh_c * tanh_c);
            dl_dg[j] = dl_dq[j] = dc * g * i * (T{1} - i);
            dl_dg[H + j] = dl_dq[H + j] = dc * c_prev * f * (T{1} - f);
            dl_dg[2 * H + j] = dl_dq[2 * H + j] = dc * i * (T{1} - g * g);
            dl_dg[3 * H + j] = dl_dq[3 * H + j] = dh * tanh_c * o * (T{1} - o);
            dl_dc[j] = dc * f;
            dl_dh[j] = T{};
        }
    }
};

/// An LSTM layer with `Hidden` units over sequences `<T, Features>`: every step's hidden state
/// (`<T, Hidden>`) or, with `last_step`, the last one; `stateful` carries h and c between calls.
/// Parameters as PyTorch's `nn.LSTM(Features, Hidden, batch_first=True)`.
template <std::size_t Hidden, class... Options>
using lstm = recurrent<lstm_cell, Hidden, Options...>;

}  // namespace metagrad
