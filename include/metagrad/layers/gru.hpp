// metagrad::gru: the gated recurrent unit (Cho et al., 2014), PyTorch's `nn.GRU` of one layer.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/layers/recurrent.hpp"

namespace metagrad {

/// One step of a GRU, element-wise once the products are taken (gates r, z, n in PyTorch's order):
///
///     r = sigmoid(g_r + q_r),  z = sigmoid(g_z + q_z),  n = tanh(g_n + r * q_n),
///     h = (1 - z) * n + z * h_prev
///
/// where g = W_ih x + b_ih and q = W_hh h_prev + b_hh. It keeps q_n for the backward pass.
struct gru_cell {
    static constexpr std::string_view name = "gru";
    static constexpr std::size_t gates = 3, carried = 1, kept = 1;

    // g: the step's input gates, replaced by r, z, n; h: h_prev, replaced by h. Each
    // function runs over whole gates (r and z together), so that it runs a vector at a time. In
    // float at run time r's and z's rows come halved (`halved_gate`) and the step is
    // `stream_step`'s, so that training and streaming take the same values.
    template <std::size_t H, class T>
    static constexpr void forward_step(T* g, const T* q, T* h, T* c, T* kept_values) {
        for (std::size_t j = 0; j < H; ++j) kept_values[j] = q[2 * H + j];
        if constexpr (std::is_same_v<T, float>) {
            if (!std::is_constant_evaluated()) {
                stream_step<H>(g, q, h, c);
                for (std::size_t j = 0; j < 2 * H; ++j) g[j] = detail::multiply_add(0.5f, g[j], 0.5f);  // r and z from tanh(a / 2)
                return;
            }
        }
        for (std::size_t j = 0; j < 2 * H; ++j) g[j] += q[j];
        detail::sigmoid_in_place<2 * H>(g);
        for (std::size_t j = 0; j < H; ++j) g[2 * H + j] = detail::multiply_add(g[j], q[2 * H + j], g[2 * H + j]);
        detail::tanh_in_place<H>(g + 2 * H);
        for (std::size_t j = 0; j < H; ++j) {
            const T z = g[H + j], n = g[2 * H + j];
            h[j] = detail::multiply_add(T{1} - z, n, z * h[j]);
        }
    }

    /// One step in float at run time, of a stream and of a pass over a sequence: r's and z's rows
    /// come halved, so the sums are a_r / 2 and a_z / 2 and the logistic functions are
    /// 0.5 + 0.5 tanh of them directly. n's argument, g_n + r q_n, is taken as
    /// (g_n + q_n / 2) + t_r (q_n / 2), one multiply-add after r's tanh instead of two. Leaves
    /// tanh(a_r / 2), tanh(a_z / 2) and n in g. In double, `forward_step`.
    template <std::size_t H, class T>
    static void stream_step(T* __restrict g, const T* __restrict q, T* __restrict h, T* c) {
        if constexpr (!std::is_same_v<T, float>) {
            T kept_values[H];
            forward_step<H>(g, q, h, c, kept_values);
        } else {
            for (std::size_t j = 0; j < 2 * H; ++j) g[j] += q[j];
            detail::tanh_in_place<2 * H>(g);
            for (std::size_t j = 0; j < H; ++j) {
                const float half_q = 0.5f * q[2 * H + j];
                g[2 * H + j] = detail::multiply_add(g[j], half_q, g[2 * H + j] + half_q);
            }
            detail::tanh_in_place<H>(g + 2 * H);
            // (1 - z) n + z h_prev as one multiply-add after n: z comes a tanh earlier, so z h_prev
            // is ready when n is (a step's chain is one multiplication shorter than with
            // z h_prev + (1 - z) n).
            for (std::size_t j = 0; j < H; ++j) {
                const float z = detail::multiply_add(0.5f, g[H + j], 0.5f), n = g[2 * H + j];
                h[j] = detail::multiply_add(1.0f - z, n, z * h[j]);
            }
        }
    }
    /// Whether gate `i`'s rows come halved in a stream (r and z, whose function is the logistic one).
    static constexpr bool halved_gate(std::size_t i) { return i < 2; }

    /// In ONNX (recurrent.hpp's `to_onnx`): operator GRU, whose gates z, r, h are PyTorch's z, r,
    /// n (blocks 1, 0, 2 of its weights), with linear_before_reset=1, under which ONNX's
    /// h = tanh(W_h x + Wb_h + r * (R_h h_prev + Rb_h)) resets after the product, as n does here
    /// (the default, 0, resets h_prev before it: another cell).
    static constexpr std::string_view onnx_operator = "GRU";
    static constexpr std::array<std::size_t, gates> onnx_gates{1, 0, 2};
    template <class G>
    static auto onnx_attributes() {
        return typename G::attributes{G::integer("linear_before_reset", 1)};
    }

    // From dl/dh (replaced by its direct part towards h_prev, z dl/dh): the gradients at the
    // input gates and at the hidden gates, which differ at n (dl/dq_n = r dl/da_n).
    template <std::size_t H, class T>
    static constexpr void backward_step(const T* values, const T* h_prev, const T* kept_values, T* dl_dh, T*, T* dl_dg, T* dl_dq) {
        for (std::size_t j = 0; j < H; ++j) {
            const T r = values[j], z = values[H + j], n = values[2 * H + j];
            const T d = dl_dh[j];
            const T da_n = d * (T{1} - z) * (T{1} - n * n);
            const T da_r = da_n * kept_values[j] * r * (T{1} - r);
            const T da_z = d * (h_prev[j] - n) * z * (T{1} - z);
            dl_dg[j] = dl_dq[j] = da_r;
            dl_dg[H + j] = dl_dq[H + j] = da_z;
            dl_dg[2 * H + j] = da_n;
            dl_dq[2 * H + j] = da_n * r;
            dl_dh[j] = d * z;
        }
    }
};

/// A GRU layer with `Hidden` units over sequences `<T, Features>`: gives every step's hidden
/// state (`<T, Hidden>`), or with `last_step` the last one (`<Hidden>`); `stateful` carries the
/// state between calls. Parameters as PyTorch's `nn.GRU(Features, Hidden, batch_first=True)`.
template <std::size_t Hidden, class... Options>
using gru = recurrent<gru_cell, Hidden, Options...>;

}  // namespace metagrad
