// metagrad::lstm: long short-term memory (Hochreiter and Schmidhuber, 1997, with a forget gate),
// PyTorch's `nn.LSTM` of one layer.
#pragma once

#include <array>
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

    // In float at run time i's, f's and o's rows come halved (`halved_gate`) and the step is
    // `stream_step`'s, so that training and streaming take the same values; otherwise math::'s
    // functions.
    template <std::size_t H, class T>
    static constexpr void forward_step(T* a, const T* q, T* h, T* c, T* kept_values) {
        for (std::size_t j = 0; j < H; ++j) kept_values[j] = c[j];
        if constexpr (std::is_same_v<T, float>) {
            if (!std::is_constant_evaluated()) {
                halved_step<H>(a, q, h, c, kept_values + H);
                for (std::size_t j = 0; j < 2 * H; ++j) a[j] = detail::multiply_add(0.5f, a[j], 0.5f);  // i and f from tanh(a / 2)
                for (std::size_t j = 3 * H; j < 4 * H; ++j) a[j] = detail::multiply_add(0.5f, a[j], 0.5f);  // o
                return;
            }
        }
        for (std::size_t j = 0; j < 4 * H; ++j) a[j] += q[j];
        detail::sigmoid_in_place<2 * H>(a);
        detail::tanh_in_place<H>(a + 2 * H);
        detail::sigmoid_in_place<H>(a + 3 * H);
        for (std::size_t j = 0; j < H; ++j) {
            c[j] = detail::multiply_add(a[H + j], c[j], a[j] * a[2 * H + j]);
            kept_values[H + j] = c[j];
        }
        detail::tanh_in_place<H>(kept_values + H);
        for (std::size_t j = 0; j < H; ++j) h[j] = a[3 * H + j] * kept_values[H + j];
    }

    /// A stream's step (recurrent.hpp): in float `halved_step`, otherwise `forward_step`.
    template <std::size_t H, class T>
    static void stream_step(T* a, const T* q, T* h, T* c) {
        alignas(64) T kept_values[2 * H];
        if constexpr (std::is_same_v<T, float>)
            halved_step<H>(a, q, h, c, kept_values + H);
        else
            forward_step<H>(a, q, h, c, kept_values);
    }

    /// One step in float at run time, of a stream and of a pass over a sequence: i's, f's and o's
    /// rows come halved, so one pass of tanh over the four gates' sums gives them all, with no
    /// scaling before it. Leaves tanh(a / 2) of i, f, o and g itself in a, tanh(c) in tanh_c.
    template <std::size_t H>
    static void halved_step(float* __restrict a, const float* __restrict q, float* __restrict h, float* __restrict c,
                            float* __restrict tanh_c) {
        for (std::size_t j = 0; j < 4 * H; ++j) a[j] += q[j];
        detail::tanh_in_place<4 * H>(a);
        for (std::size_t j = 0; j < H; ++j) {
            const float i = detail::multiply_add(0.5f, a[j], 0.5f), f = detail::multiply_add(0.5f, a[H + j], 0.5f);
            c[j] = detail::multiply_add(f, c[j], i * a[2 * H + j]);
            tanh_c[j] = c[j];
        }
        detail::tanh_in_place<H>(tanh_c);
        for (std::size_t j = 0; j < H; ++j) h[j] = detail::multiply_add(0.5f, a[3 * H + j], 0.5f) * tanh_c[j];
    }
    /// Whether gate `i`'s rows come halved in a stream (i, f and o: not g, whose function is tanh).
    static constexpr bool halved_gate(std::size_t i) { return i != 2; }

    /// In ONNX (recurrent.hpp's `to_onnx`): operator LSTM, whose gates i, o, f, c are PyTorch's
    /// i, o, f, g (blocks 0, 3, 1, 2 of its weights), with no peepholes and ONNX's default
    /// activations (the logistic function, tanh, tanh), the cell above.
    static constexpr std::string_view onnx_operator = "LSTM";
    static constexpr std::array<std::size_t, gates> onnx_gates{0, 3, 1, 2};
    template <class G>
    static auto onnx_attributes() {
        return typename G::attributes{};
    }

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
