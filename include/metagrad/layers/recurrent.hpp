// metagrad::recurrent: a layer that runs a cell (GRU, LSTM) along the time axis of a sequence,
// trained through time; what gru.hpp and lstm.hpp share.
#pragma once

#include <cstddef>
#include <cstdint>
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
#include "metagrad/eval/matmul_kernel.hpp"
#include "metagrad/eval/vector_math.hpp"
#include "metagrad/math/tanh.hpp"
#include "metagrad/layers/sequence_options.hpp"

namespace metagrad {

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
/// `f` in place on `N` values of a recurrent cell's gates: in float at run time a vector at a
/// time, and the rest in the narrowest vector that holds it (a gate is often shorter than a
/// register: 8 units against 16 lanes), padded with zeros only when it is no such width;
/// otherwise the scalar `f` (constant evaluation, double).
template <std::size_t N, class T, class F, class ScalarF>
constexpr void gates_in_place(T* v, F f, ScalarF scalar_f) {
    if constexpr (std::is_same_v<T, float>) {
        if (!std::is_constant_evaluated()) {
            constexpr std::size_t w = eval::lanes<T>, whole = N - N % w, rest = N - whole;
            for (std::size_t i = 0; i < whole; i += w) eval::store(v + i, f(eval::load(v + i)));
            if constexpr (rest > 0) {
                constexpr std::size_t narrow = rest <= 4 ? 4 : rest <= 8 ? 8 : 16;
                using V = typename eval::narrow_floats<(narrow < w ? narrow : w)>::type;
                if constexpr (sizeof(V) == rest * sizeof(T)) {
                    eval::store_as(v + whole, f(eval::load_as<V>(v + whole)));
                } else {
                    T part[sizeof(V) / sizeof(T)] = {};
                    for (std::size_t i = 0; i < rest; ++i) part[i] = v[whole + i];
                    eval::store_as(part, f(eval::load_as<V>(part)));
                    for (std::size_t i = 0; i < rest; ++i) v[whole + i] = part[i];
                }
            }
            return;
        }
    }
    for (std::size_t i = 0; i < N; ++i) v[i] = scalar_f(v[i]);
}
/// a b + c: at run time rounded once where the target has FMA (eval::multiply_add), so that a
/// cell's step rounds alike wherever it is inlined: how g++ contracts a * b + c * d on its own
/// depends on the code around it (whether the loop is vectorized), and a stream would then differ
/// from a pass over the whole sequence in the last bit.
template <class T>
constexpr T multiply_add(T a, T b, T c) {
    if (std::is_constant_evaluated()) return a * b + c;
    return eval::multiply_add(a, b, c);
}
/// The logistic function and tanh on gates: math::'s in constant evaluation and in double; at
/// run time in float, eval/vector_math.hpp's tanh (within 6 ulp) and the logistic function as
/// 0.5 + 0.5 tanh(x / 2). A gate's value multiplies another, so what matters is its absolute
/// error: below 2e-7 over the whole float range (1.6e-7 with FMA; tests/layers/sequences.cpp
/// sweeps it). The relative form (eval::sigmoid, 2 ulp) put an exponential and a division on the
/// path from one step's state to the next: a GRU of 16 units streams about 15% faster without
/// them (W6, docs/benchmarks.md).
template <std::size_t N, class T>
constexpr void sigmoid_in_place(T* v) {
    gates_in_place<N>(v, [](auto x) { return 0.5f + 0.5f * eval::tanh(0.5f * x); }, [](T x) { return math::sigmoid(x); });
}
template <std::size_t N, class T>
constexpr void tanh_in_place(T* v) {
    gates_in_place<N>(v, [](auto x) { return eval::tanh(x); }, [](T x) { return math::tanh(x); });
}

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

    /// The same layer carrying its state between calls: what a stream runs (infer/stream.hpp).
    using streaming_form = std::conditional_t<carries_state, recurrent, recurrent<Cell, Hidden, Options..., stateful>>;
    using provides = hooks<recurrent, streams_hook, stepping_hook, onnx_hook>;

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

    /// A stream's parameters (infer/stream.hpp): both weight matrices input-major, so that one
    /// step's products broadcast each input over rows of weights with no sums across lanes, and
    /// their rows padded with zeros to whole vectors (24 gate values fill two vectors of 16); in
    /// panels (eval::operand_layout), so that each tile of a product reads one run of memory.
    static constexpr eval::operand_layout weight_layout = eval::operand_layout::panels;
    template <class T>
    static constexpr std::size_t padded_width = (Cell::gates * Hidden + eval::lanes<T> - 1) / eval::lanes<T> * eval::lanes<T>;
    template <class T, class S>
    struct stepping_parameters {
        matrix<T, S::last, padded_width<T>> input_weights{};
        matrix<T, Hidden, padded_width<T>> hidden_weights{};
        vector<T, padded_width<T>> input_bias{};
        vector<T, padded_width<T>> hidden_bias{};
    };
    /// What the forward pass of `B` sequences of `S` keeps. Row `b * T + t` of each buffer is
    /// sequence b's step t, the order of the input's rows.
    template <class T, class S, std::size_t B>
    struct cache {
        static constexpr std::size_t steps = S::template extent<0>;
        /// The weights as a stream packs them: at run time both passes take the products as a
        /// stream does, so that a sequence run whole equals it streamed, bit for bit.
        stepping_parameters<T, S> packed{};
        /// W_ih x_t + b_ih for every step (rows padded as the packed weights' are; in float at
        /// run time the logistic gates' halved), then the cell's gate values.
        tensor<T, shape<B * steps, padded_width<T>>> input_gates{};
        /// h_{t-1} of every step (the right operand of W_hh's gradient).
        tensor<T, shape<B * steps, Hidden>> previous{};
        /// What the cell keeps of each step for its backward pass.
        tensor<T, shape<B * steps, Cell::kept * Hidden>> kept{};
        /// The state as the steps run, and after the last one: what a `stateful` layer starts
        /// the next call from.
        tensor<T, shape<B, Hidden>> h{};
        tensor<T, shape<B, Cell::carried == 2 ? Hidden : 1>> c{};
        /// W_hh h_{t-1} + b_hh for one step of the batch.
        tensor<T, shape<B, padded_width<T>>> hidden_gates{};
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

    /// What one stream carries from step to step: h, and the LSTM's c.
    template <class T, class S>
    struct carried {
        vector<T, Hidden> h{};
        vector<T, Cell::carried == 2 ? Hidden : 1> c{};
    };
    /// What `Voices` streams carry, their states as the rows of matrices so that one product
    /// serves them all, and the step's gate sums.
    template <class T, class S, std::size_t Voices>
    struct carried_voices {
        matrix<T, Voices, Hidden> h{};
        matrix<T, Voices, Cell::carried == 2 ? Hidden : 1> c{};
        matrix<T, Voices, padded_width<T>> input_sums{}, hidden_sums{};
    };
    template <class T, class S>
    static void pack_for_stepping(const recurrent_parameters<T, S::last, Hidden, Cell::gates>& p, stepping_parameters<T, S>& q) {
        constexpr std::size_t width = Cell::gates * Hidden, padded = padded_width<T>;
        // Each column in place (no temporary: a wide layer's packed weights are megabytes), the
        // padding columns zero.
        for (std::size_t j = 0; j < padded; ++j) {
            // In float, the rows of the gates whose logistic function is 0.5 + 0.5 tanh(x / 2)
            // come halved (`Cell::halved_gate`): multiplying by 0.5 is exact, so the products
            // give x / 2 itself, one multiplication fewer between two steps' states.
            const T scale = j >= width ? T(0) : std::is_same_v<T, float> && Cell::halved_gate(j / Hidden) ? T(0.5) : T(1);
            const std::size_t from = j < width ? j : 0;
            for (std::size_t f = 0; f < S::last; ++f)
                q.input_weights[eval::broadcast_operand<T, S::last, padded, weight_layout>::offset(f, j)] = scale * p.weight_ih_l0[from * S::last + f];
            for (std::size_t k = 0; k < Hidden; ++k)
                q.hidden_weights[eval::broadcast_operand<T, Hidden, padded, weight_layout>::offset(k, j)] = scale * p.weight_hh_l0[from * Hidden + k];
            q.input_bias[j] = scale * p.bias_ih_l0[from];
            q.hidden_bias[j] = scale * p.bias_hh_l0[from];
        }
    }
    /// One step of one stream: the products of a pass over a sequence, and the cell's
    /// `stream_step` (its `forward_step` without what the backward pass keeps).
    template <class T, class S>
    static void step(const stepping_parameters<T, S>& q, carried<T, S>& state, const T* x, T* y) {
        constexpr std::size_t padded = padded_width<T>;
        alignas(64) T g[padded], r[padded];
        eval::lone_row_kernel<S::last, padded, weight_layout>(g, x, q.input_weights.data.data(),
                                                              eval::add_column_bias<T>{q.input_bias.data.data()});
        eval::lone_row_kernel<Hidden, padded, weight_layout>(r, state.h.data.data(), q.hidden_weights.data.data(),
                                                             eval::add_column_bias<T>{q.hidden_bias.data.data()});
        Cell::template stream_step<Hidden>(g, r, state.h.data.data(), state.c.data.data());
        for (std::size_t j = 0; j < Hidden; ++j) y[j] = state.h[j];
    }

    /// One step of `Voices` streams at once (`x`: their inputs, voice after voice; `y`: their
    /// states): each product one pass over the weights for every voice, in `lone_row_kernel`'s
    /// order (eval::broadcast_rows_on_this_thread), so that each voice's values are `step`'s, bit
    /// for bit, and on the calling thread alone.
    template <std::size_t Voices, class T, class S>
    static void step_voices(const stepping_parameters<T, S>& q, carried_voices<T, S, Voices>& state, const T* x, T* y) {
        constexpr std::size_t features = S::last, padded = padded_width<T>, c_width = Cell::carried == 2 ? Hidden : 1;
        T* g = state.input_sums.data.data();
        T* r = state.hidden_sums.data.data();
        eval::broadcast_rows_on_this_thread<Voices, features, padded, features, padded, weight_layout>(
            g, x, q.input_weights.data.data(), eval::add_column_bias<T>{q.input_bias.data.data()});
        eval::broadcast_rows_on_this_thread<Voices, Hidden, padded, Hidden, padded, weight_layout>(
            r, state.h.data.data(), q.hidden_weights.data.data(), eval::add_column_bias<T>{q.hidden_bias.data.data()});
        for (std::size_t v = 0; v < Voices; ++v)
            Cell::template stream_step<Hidden>(g + v * padded, r + v * padded, &state.h[v * Hidden], &state.c[v * c_width]);
        for (std::size_t i = 0; i < Voices * Hidden; ++i) y[i] = state.h[i];
    }

    /// In an exported ONNX graph (io/onnx_graph.hpp): the cell's operator (`Cell::onnx_operator`,
    /// GRU or LSTM) on the sequence time first, T x N x F (layout 0: ONNX Runtime's CPU kernels
    /// refuse the batch-first layout 1), its weights' gates in ONNX's order and its two biases
    /// joined ([b_ih, b_hh]), from h_0 = c_0 = 0: a `stateful` layer's carried state is no part of
    /// a model, which runs each call as from `reset_carried_state`. Every step's h is Y
    /// (T x 1 x N x H), squeezed and made batch first; with `last_step`, Y_h (1 x N x H).
    template <class S, class G>
    static void to_onnx(G& g) {
        constexpr std::size_t features = S::last, width = Cell::gates * Hidden;
        // N x T x F (or N x F x T, channels first after a convolution) to T x N x F.
        const bool first = g.current().layout == onnx_layout::channels_first;
        const auto x = g.node("Transpose", {g.input()}, {first ? G::integers("perm", {2, 0, 1}) : G::integers("perm", {1, 0, 2})});
        const typename G::index_list order(Cell::onnx_gates.begin(), Cell::onnx_gates.end());
        const auto w = g.parameter_blocks("W", {"weight_ih_l0"}, order, {1, width, features});
        const auto r = g.parameter_blocks("R", {"weight_hh_l0"}, order, {1, width, Hidden});
        const auto b = g.parameter_blocks("B", {"bias_ih_l0", "bias_hh_l0"}, order, {1, 2 * width});
        auto attributes = Cell::template onnx_attributes<G>();
        attributes.insert(attributes.begin(), G::integer("hidden_size", static_cast<std::int64_t>(Hidden)));
        if constexpr (sequences) {
            const auto y = g.node(Cell::onnx_operator, {x, w, r, b}, attributes);
            const auto steps = g.node("Squeeze", {y, g.integer_constant({1}, {1})});
            g.output(g.node("Transpose", {steps}, {G::integers("perm", {1, 0, 2})}), onnx_layout::channels_last);
        } else {
            const auto last = g.node(Cell::onnx_operator, {x, w, r, b}, attributes, 1);
            g.output(g.node("Squeeze", {last, g.integer_constant({0}, {1})}), onnx_layout::channels_last);
        }
    }

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        constexpr std::size_t B = Ctx::batch, steps = IO::sample_shape::template extent<0>;
        constexpr std::size_t features = IO::sample_shape::last, padded = padded_width<typename IO::value_type>;
        const auto& p = io.parameters;
        auto& k = io.cache;
        // At run time the products of a stream (`pack_for_stepping`, eval::broadcast_rows_kernel),
        // so that the sums are its sums; in constant evaluation plain loops.
        // Not const: a const bool's initializer is constant-evaluated, and would say true.
        bool as_a_stream = !std::is_constant_evaluated();
        if (as_a_stream) pack_for_stepping(p, k.packed);
        // Every step's input product at once: (B*T x F) (F x G*H).
        if (as_a_stream)
            eval::broadcast_rows_kernel<B * steps, features, padded, features, padded, weight_layout>(
                k.input_gates.data.data(), io.x.data.data(), k.packed.input_weights.data.data(),
                eval::add_column_bias<typename IO::value_type>{k.packed.input_bias.data.data()});
        else
            product_with_bias<B * steps, features>(k.input_gates, io.x, p.weight_ih_l0, p.bias_ih_l0);
        if constexpr (!carries_state) {
            k.h = {};
            k.c = {};
        }
        for (std::size_t t = 0; t < steps; ++t) {
            if (as_a_stream)
                eval::broadcast_rows_kernel<B, Hidden, padded, Hidden, padded, weight_layout>(
                    k.hidden_gates.data.data(), k.h.data.data(), k.packed.hidden_weights.data.data(),
                    eval::add_column_bias<typename IO::value_type>{k.packed.hidden_bias.data.data()});
            else
                product_with_bias<B, Hidden>(k.hidden_gates, k.h, p.weight_hh_l0, p.bias_hh_l0);
            for (std::size_t b = 0; b < B; ++b) {
                const std::size_t row = b * steps + t;
                for (std::size_t j = 0; j < Hidden; ++j) k.previous[row * Hidden + j] = k.h[b * Hidden + j];
                // The gates' values replace their inputs in `input_gates`; h and c are updated in place.
                Cell::template forward_step<Hidden>(&k.input_gates[row * padded], &k.hidden_gates[b * padded], &k.h[b * Hidden],
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
                Cell::template backward_step<Hidden>(&k.input_gates[row * padded_width<T>], &k.previous[row * Hidden], &k.kept[row * Cell::kept * Hidden],
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

private:
    // out (Rows x padded, the first G*H columns) = X W^T + bias, each sum in the order of k: the
    // products in constant evaluation.
    // Through raw pointers: clang counts every call of operator[] against its limit of steps for
    // constant evaluation, and the compile-time gradient checks run many passes.
    template <std::size_t Rows, std::size_t K, class Out, class X, class W, class Bias>
    static constexpr void product_with_bias(Out& out, const X& x, const W& weight, const Bias& bias) {
        using T = typename Out::value_type;
        constexpr std::size_t width = Cell::gates * Hidden, padded = padded_width<T>;
        for (std::size_t r = 0; r < Rows; ++r) {
            const T* row = x.data.data() + r * K;
            T* to = out.data.data() + r * padded;
            for (std::size_t j = 0; j < width; ++j) {
                const T* w = weight.data.data() + j * K;
                T sum{};
                for (std::size_t i = 0; i < K; ++i) sum += row[i] * w[i];
                to[j] = sum + bias.data.data()[j];
            }
        }
    }
};

}  // namespace metagrad
