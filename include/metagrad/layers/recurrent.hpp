// metagrad::recurrent: a layer that runs a cell (GRU, LSTM) along the time axis of a sequence,
// trained through time; what gru.hpp and lstm.hpp share.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/core/broadcast.hpp"
#include "metagrad/core/fields.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/matmul.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/reshape.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/core/transpose.hpp"
#include "metagrad/eval/assign.hpp"

namespace metagrad {

/// Option of a recurrent layer: give the last time step's hidden state (shape `<Hidden>`)
/// instead of every step's (`<T, Hidden>`, PyTorch's default).
struct last_step {};
/// Option of a recurrent layer (Keras's `stateful`): each call starts from the state the
/// previous call of the same workspace (or stream) ended with, sequence by sequence, instead of
/// from zeros: truncated back-propagation through time over consecutive chunks, and streaming.
/// The gradient stops at the chunk's start. `reset_carried_state(workspace)` (train/workspace.hpp)
/// and `stream::reset` start again from zeros.
struct stateful {};

/// A recurrent layer's parameters, named as PyTorch's `nn.GRU` / `nn.LSTM` name those of their
/// first layer, so that a state dict loads as it is: `weight_ih_l0` (Gates*Hidden x Features),
/// `weight_hh_l0` (Gates*Hidden x Hidden), `bias_ih_l0`, `bias_hh_l0` (Gates*Hidden), the gates
/// in PyTorch's order (GRU: r, z, n; LSTM: i, f, g, o).
template <class T, std::size_t Features, std::size_t Hidden, std::size_t Gates>
struct recurrent_parameters {
    matrix<T, Gates * Hidden, Features> weight_ih_l0{};
    matrix<T, Gates * Hidden, Hidden> weight_hh_l0{};
    vector<T, Gates * Hidden> bias_ih_l0{};
    vector<T, Gates * Hidden> bias_hh_l0{};

    static constexpr auto fields =
        metagrad::fields(field<"weight_ih_l0">(&recurrent_parameters::weight_ih_l0), field<"weight_hh_l0">(&recurrent_parameters::weight_hh_l0),
                         field<"bias_ih_l0">(&recurrent_parameters::bias_ih_l0), field<"bias_hh_l0">(&recurrent_parameters::bias_hh_l0));
    friend constexpr bool operator==(const recurrent_parameters&, const recurrent_parameters&) = default;
};

namespace detail {
template <class Option, class... Options>
inline constexpr bool has_option = (std::is_same_v<Option, Options> || ...);

// The check lives in its own class, so that a failed assertion leaves the layer type usable and
// a network of it reports this one error.
template <class... Options>
struct check_recurrent_options {
    static_assert(((std::is_same_v<Options, last_step> || std::is_same_v<Options, stateful>) && ...),
                  "metagrad::recurrent layer: the options are last_step and stateful");
    static constexpr bool value = true;
};
}  // namespace detail

/// A recurrent layer: `Cell` (gru_cell, lstm_cell) with `Hidden` units run along the first axis
/// of a sequence, sample shape `<T, Features>` (T a compile-time constant):
///
///     g_t = W_ih x_t + b_ih,   q_t = W_hh h_{t-1} + b_hh,   (h_t, c_t) = cell(g_t, q_t, h_{t-1}, c_{t-1})
///
/// from h_0 = c_0 = 0 (or, `stateful`, the state the last call ended with). The input products of
/// every step are one matrix product before the loop, the recurrent one a product per step over
/// the batch; the backward pass runs the steps in reverse (back-propagation through time) and
/// takes each weight's gradient as one product over all steps afterwards. The cell writes only
/// the element-wise maths of one step, forward and backward.
template <class Cell, std::size_t Hidden, class... Options>
struct recurrent {
    static_assert(detail::check_recurrent_options<Options...>::value);
    static_assert(Hidden > 0, "metagrad::recurrent layer: the hidden size must be positive");

    static constexpr std::string_view name = Cell::name;
    static constexpr std::size_t hidden = Hidden;
    static constexpr std::size_t gates = Cell::gates;
    static constexpr bool sequences = !detail::has_option<last_step, Options...>;
    static constexpr bool carries_state = detail::has_option<stateful, Options...>;
    using cell = Cell;

    /// The same layer carrying its state between calls: what a stream runs (infer/stream.hpp).
    using streaming_form = std::conditional_t<carries_state, recurrent, recurrent<Cell, Hidden, Options..., stateful>>;
    using provides = hooks<recurrent, streams_hook>;

    /// A sequence: time steps by features.
    template <class S>
    static constexpr bool accepts = S::rank == 2;

    template <class S>
    using output_shape = std::conditional_t<sequences, shape<S::template extent<0>, Hidden>, shape<Hidden>>;

    template <class T, class S>
    using parameters = recurrent_parameters<T, S::last, Hidden, Cell::gates>;

    /// Per step and sample: the two products and the cell's element-wise work.
    template <class S>
    static constexpr std::size_t flops = S::template extent<0> * (2 * Cell::gates * Hidden * (S::last + Hidden) + 8 * Hidden);

    /// What the forward pass of `B` sequences of `S` keeps. Row `b * T + t` of each buffer is
    /// sequence b's step t, the order of the input's rows.
    template <class T, class S, std::size_t B>
    struct cache {
        static constexpr std::size_t steps = S::template extent<0>;
        /// W_ih x_t + b_ih for every step, then the cell's gate values.
        tensor<T, shape<B * steps, Cell::gates * Hidden>> input_gates{};
        /// h_{t-1} of every step (the right operand of W_hh's gradient).
        tensor<T, shape<B * steps, Hidden>> previous{};
        /// What the cell keeps of each step for its backward pass.
        tensor<T, shape<B * steps, Cell::kept * Hidden>> kept{};
        /// The state as the steps run, and after the last one: what a `stateful` layer starts
        /// the next call from.
        tensor<T, shape<B, Hidden>> h{};
        tensor<T, shape<B, Cell::carried == 2 ? Hidden : 1>> c{};
        /// W_hh h_{t-1} + b_hh for one step of the batch.
        tensor<T, shape<B, Cell::gates * Hidden>> hidden_gates{};
    };

    /// The backward pass's buffers: the gradients at the gates of every step (input side and
    /// hidden side: they differ for the GRU's new gate), and the state's gradients of one step.
    template <class T, class S, std::size_t B>
    struct scratch {
        static constexpr std::size_t steps = S::template extent<0>;
        tensor<T, shape<B * steps, Cell::gates * Hidden>> input_gate_gradients{};
        tensor<T, shape<B * steps, Cell::gates * Hidden>> hidden_gate_gradients{};
        tensor<T, shape<B, Cell::gates * Hidden>> step_gate_gradients{};
        tensor<T, shape<B, Hidden>> dl_dh{};
        tensor<T, shape<B, Hidden>> dl_dh_through_gates{};
        tensor<T, shape<B, Cell::carried == 2 ? Hidden : 1>> dl_dc{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        constexpr std::size_t B = Ctx::batch, steps = IO::sample_shape::template extent<0>, width = Cell::gates * Hidden;
        const auto& p = io.parameters;
        auto& k = io.cache;
        // Every step's input product at once: (B*T x F) (F x G*H).
        eval::assign_to_fresh(k.input_gates.data, matmul(as_rows(io.x), transpose(p.weight_ih_l0)) + broadcast_rows<B * steps>(p.bias_ih_l0));
        if constexpr (!carries_state) {
            k.h = {};
            k.c = {};
        }
        for (std::size_t t = 0; t < steps; ++t) {
            eval::assign_to_fresh(k.hidden_gates.data, matmul(k.h, transpose(p.weight_hh_l0)) + broadcast_rows<B>(p.bias_hh_l0));
            for (std::size_t b = 0; b < B; ++b) {
                const std::size_t row = b * steps + t;
                for (std::size_t j = 0; j < Hidden; ++j) k.previous[row * Hidden + j] = k.h[b * Hidden + j];
                // The gates' values replace their inputs in `input_gates`; h and c are updated in place.
                Cell::template forward_step<Hidden>(&k.input_gates[row * width], &k.hidden_gates[b * width], &k.h[b * Hidden],
                                                    &k.c[b * (Cell::carried == 2 ? Hidden : 1)], &k.kept[row * Cell::kept * Hidden]);
                if constexpr (sequences)
                    for (std::size_t j = 0; j < Hidden; ++j) io.y[row * Hidden + j] = k.h[b * Hidden + j];
            }
        }
        if constexpr (!sequences) io.y.data = k.h.data;
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t B = Ctx::batch, steps = IO::sample_shape::template extent<0>, width = Cell::gates * Hidden;
        constexpr std::size_t c_width = Cell::carried == 2 ? Hidden : 1;
        const auto& p = io.parameters;
        const auto& k = io.cache;
        auto& s = io.scratch;
        auto& dp = io.dl_dparameters;
        s.dl_dh_through_gates = {};
        s.dl_dc = {};
        for (std::size_t step = steps; step-- > 0;) {
            for (std::size_t b = 0; b < B; ++b) {
                const std::size_t row = b * steps + step;
                for (std::size_t j = 0; j < Hidden; ++j) {
                    T from_output{};
                    if constexpr (sequences)
                        from_output = io.dl_dy[row * Hidden + j];
                    else if (step + 1 == steps)
                        from_output = io.dl_dy[b * Hidden + j];
                    s.dl_dh[b * Hidden + j] = from_output + s.dl_dh_through_gates[b * Hidden + j];
                }
                // dl/dh_{t-1} directly (not through the gates) replaces dl/dh in place, dl/dc_{t-1} dl/dc.
                Cell::template backward_step<Hidden>(&k.input_gates[row * width], &k.previous[row * Hidden], &k.kept[row * Cell::kept * Hidden],
                                                     &s.dl_dh[b * Hidden], &s.dl_dc[b * c_width], &s.input_gate_gradients[row * width],
                                                     &s.hidden_gate_gradients[row * width]);
                for (std::size_t j = 0; j < width; ++j) s.step_gate_gradients[b * width + j] = s.hidden_gate_gradients[row * width + j];
            }
            // dl/dh_{t-1} = the direct part + (dl/dq_t) W_hh.
            if (step > 0) {
                eval::assign_to_fresh(s.dl_dh_through_gates.data, matmul(s.step_gate_gradients, p.weight_hh_l0));
                s.dl_dh_through_gates = s.dl_dh_through_gates + s.dl_dh;
            }
        }
        // Each weight's gradient as one product over every step of every sequence.
        dp.weight_ih_l0 = matmul(transpose(s.input_gate_gradients), as_rows(io.x));
        dp.bias_ih_l0 = column_sums(s.input_gate_gradients);
        dp.weight_hh_l0 = matmul(transpose(s.hidden_gate_gradients), k.previous);
        dp.bias_hh_l0 = column_sums(s.hidden_gate_gradients);
        if constexpr (IO::wants_input_gradient) eval::assign_to_fresh(io.dl_dx.data, matmul(s.input_gate_gradients, p.weight_ih_l0));
    }
};

}  // namespace metagrad
