// metagrad::identity and metagrad::input: layers that pass their input through unchanged.
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/layer.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/assign.hpp"

namespace metagrad {

/// y = x, for any shape: a linear output "activation", or a placeholder.
struct identity {
    static constexpr std::string_view name = "identity";
    using provides = hooks<identity, onnx_hook, streams_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): no node, the input passes on.
    template <class S, class G>
    static void to_onnx(G&) {}

    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = no_parameters;
    template <class S>
    static constexpr std::size_t flops = 0;

    template <class T, class S>
    static constexpr tensor<T, S> forward(const no_parameters&, const tensor<T, S>& x) {
        return x;
    }
    template <class T, class S>
    static constexpr tensor<T, S> backward(const no_parameters&, const tensor<T, S>&, const tensor<T, S>&,
                                           const tensor<T, S>& dl_dy, no_parameters&) {
        return dl_dy;
    }

    // The passes the network calls: copies through eval/, which splits a batch-sized copy
    // between the kernel threads.
    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        eval::assign_to_fresh(io.y.data, io.x);
    }
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) eval::assign_to_fresh(io.dl_dx.data, io.dl_dy);
    }
};

/// The identity on samples of shape `shape<Extents...>`: starts a `sequential` whose first real
/// layer does not fix its input (`sequential<input<4>, dense<3>, relu>`).
template <std::size_t... Extents>
struct input : identity {
    static constexpr std::string_view name = "input";
    using provides = hooks<input, onnx_hook, streams_hook>;
    using input_shape = shape<Extents...>;
    /// A stream (infer/stream.hpp) takes one time step of a sequence `<T, Features>` at a time.
    using streaming_form = input<1, shape<Extents...>::last>;
};

}  // namespace metagrad
