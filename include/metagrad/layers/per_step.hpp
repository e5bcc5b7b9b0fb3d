// metagrad::per_step: a layer made for vectors, applied to each time step of a sequence.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/simd.hpp"

namespace metagrad {

/// `Layer` (one that takes vectors: `dense<Out>`) applied to every time step of a sequence
/// `<T, Features>` with the same parameters, giving `<T, Out>`: PyTorch's `Linear` on a
/// `(batch, T, features)` tensor, Keras's `TimeDistributed(Dense)`. `dense<Out>` alone refuses a
/// sequence, so that forgetting a `flatten` before it stays a compile error. The layer's own
/// passes already treat their input as rows of features; this only lets a sequence in. Its fused
/// run-time paths, declared for vectors, are not used.
template <class Layer>
struct per_step : Layer {
    static constexpr std::string_view name = layer_name<Layer>;
    template <class S>
    static constexpr bool accepts = S::rank == 2 && detail::layer_works<Layer, shape<S::last>>;
    using provides = std::conditional_t<declares_hook<Layer, packing_hook>, hooks<per_step, streams_hook, stepping_hook>,
                                        hooks<per_step, streams_hook>>;

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
        if constexpr (requires { requires !stepping_parameters<T, S>::input_major && in::size < eval::lanes<T>; }) {
            // Fewer outputs and inputs than a vector has lanes (a small dense layer to one
            // output, the usual end of an audio model), where the kernels run one chain of
            // multiply-adds per output: four chains here, a quarter of the latency.
            for (std::size_t o = 0; o < out::size; ++o) {
                const T* w = &q.weight[o * in::size];
                T part[4] = {};
                for (std::size_t k = 0; k < in::size; ++k) part[k % 4] = eval::multiply_add(w[k], x[k], part[k % 4]);
                y[o] = ((part[0] + part[1]) + (part[2] + part[3])) + q.bias[o];
            }
        } else {
            tensor<T, in> a;
            tensor<T, out> b;
            for (std::size_t i = 0; i < in::size; ++i) a[i] = x[i];
            Layer::packed_forward_into(q, a, b);
            for (std::size_t i = 0; i < out::size; ++i) y[i] = b[i];
        }
    }
};

}  // namespace metagrad
