// metagrad::per_step: a layer made for vectors, applied to each time step of a sequence.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/matmul_kernel.hpp"
#include "metagrad/eval/simd.hpp"

namespace metagrad {

namespace detail {
template <class Layer, class T, class S, bool Packs = declares_hook<Layer, packing_hook>>
struct per_step_cache {};
template <class Layer, class T, class S>
struct per_step_cache<Layer, T, S, true> {
    typename Layer::template packed_parameters<T, shape<S::last>> packed{};
};

/// `Hooks` with `Hook` added when `Add`.
template <class Hooks, bool Add, class Hook>
struct with_hook {
    using type = Hooks;
};
template <class L, class... Hooks, class Hook>
struct with_hook<hooks<L, Hooks...>, true, Hook> {
    using type = hooks<L, Hooks..., Hook>;
};
}  // namespace detail

/// `Layer` (one that takes vectors: `dense<Out>`) applied to every time step of a sequence
/// `<T, Features>` with the same parameters, giving `<T, Out>`: PyTorch's `Linear` on a
/// `(batch, T, features)` tensor, Keras's `TimeDistributed(Dense)`. `dense<Out>` alone refuses a
/// sequence, so that forgetting a `flatten` before it stays a compile error. The layer's own
/// passes already treat their input as rows of features; this only lets a sequence in. Its fused
/// run-time paths, declared for vectors, are not used; at run time the forward pass takes each
/// step's sums as a stream does (`step`).
template <class Layer>
struct per_step : Layer {
    static constexpr std::string_view name = layer_name<Layer>;
    template <class S>
    static constexpr bool accepts = S::rank == 2 && detail::layer_works<Layer, shape<S::last>>;
    /// A stream's hooks, a step's where `Layer` packs its weights, and ONNX's where `Layer` has
    /// its own ONNX form, which is then per_step's: its `to_onnx` on the sequence (dense's MatMul
    /// and Add over the last axis).
    using provides = typename detail::with_hook<
        typename detail::with_hook<hooks<per_step, streams_hook>, declares_hook<Layer, packing_hook>, stepping_hook>::type,
        declares_hook<Layer, onnx_hook>, onnx_hook>::type;

    /// In a stream (infer/stream.hpp), one step is one vector through `Layer`'s own packed form
    /// (the predictor's: input-major weights where a row of outputs fills vectors).
    template <class T, class S>
    using stepping_parameters = typename Layer::template packed_parameters<T, shape<S::last>>;
    template <class T, class S>
    struct carried {};
    template <class P, class Q>
    static void pack_for_stepping(const P& p, Q& q) {
        Layer::pack(p, q);
    }
    template <class T, class S>
    static void step(const stepping_parameters<T, S>& q, carried<T, S>&, const T* x, T* y) {
        using in = shape<S::last>;
        using out = typename Layer::template output_shape<in>;
        if constexpr (in_short_chains<T, S>) {
            rows_in_short_chains<1, S::last, out::size>(q.weight.data.data(), q.bias.data.data(), x, y);
        } else {
            tensor<T, in> a;
            tensor<T, out> b;
            for (std::size_t i = 0; i < in::size; ++i) a[i] = x[i];
            Layer::packed_forward_into(q, a, b);
            for (std::size_t i = 0; i < out::size; ++i) y[i] = b[i];
        }
    }

    /// What the forward pass keeps: at run time, the weights as a stream packs them.
    template <class T, class S, std::size_t B>
    using cache = detail::per_step_cache<Layer, T, S>;

    /// At run time every step as `step` takes it, the same sums in the same order, so that a
    /// sequence run whole equals it streamed, bit for bit; otherwise `Layer`'s own pass.
    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx& ctx, const IO& io) {
        using T = typename IO::value_type;
        using S = typename IO::sample_shape;
        constexpr std::size_t rows = Ctx::batch * (S::size / S::last), in = S::last, out = IO::output_shape::last;
        if constexpr (requires { stepping_parameters<T, S>::input_major; }) {
            if (!std::is_constant_evaluated()) {
                const auto& p = io.parameters;
                if constexpr (in_short_chains<T, S>) {
                    rows_in_short_chains<rows, in, out>(p.weight.data.data(), p.bias.data.data(), io.x.data.data(), io.y.data.data());
                    return;
                } else if constexpr (stepping_parameters<T, S>::input_major) {
                    auto& q = io.cache.packed;
                    Layer::pack(p, q);
                    eval::broadcast_rows_kernel<rows, in, out, in, out>(io.y.data.data(), io.x.data.data(), q.weight.data.data(),
                                                                        eval::add_column_bias<T>{q.bias.data.data()});
                    return;
                }
            }
        }
        Layer::forward(ctx, io);
    }

private:
    // Fewer outputs and inputs than a vector has lanes (a small dense layer to one output, the
    // usual end of an audio model), where the kernels run one chain of multiply-adds per output:
    // four chains here, a quarter of the latency.
    template <class T, class S>
    static constexpr bool in_short_chains = requires { requires !stepping_parameters<T, S>::input_major && S::last < eval::lanes<T>; };
    template <std::size_t Rows, std::size_t In, std::size_t Out, class T>
    static void rows_in_short_chains(const T* weight, const T* bias, const T* x, T* y) {
        for (std::size_t r = 0; r < Rows; ++r)
            for (std::size_t o = 0; o < Out; ++o) {
                const T* w = &weight[o * In];
                const T* row = &x[r * In];
                T part[4] = {};
                for (std::size_t k = 0; k < In; ++k) part[k % 4] = eval::multiply_add(w[k], row[k], part[k % 4]);
                y[r * Out + o] = ((part[0] + part[1]) + (part[2] + part[3])) + bias[o];
            }
    }
};

}  // namespace metagrad
