// metagrad::flatten: a sample of any shape seen as one vector.
#pragma once

#include <cstddef>
#include <string_view>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/reshape.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/assign.hpp"

namespace metagrad {

/// A sample `<H, W, C>` (or any shape) becomes the vector of its `H*W*C` values in memory order,
/// channels fastest. PyTorch's `flatten` of its `C x H x W` images orders them channels slowest:
/// a dense layer after it, imported from PyTorch, has its columns permuted (docs/layers.md).
struct flatten {
    static constexpr std::string_view name = "flatten";
    template <class S>
    using output_shape = shape<S::size>;
    template <class S>
    static constexpr std::size_t flops = 0;
    using provides = hooks<flatten, onnx_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): Flatten of the input features last, so
    /// that the values keep metagrad's order (a dense layer after it is exported as it is).
    template <class S, class G>
    static void to_onnx(G& g) {
        g.output(g.node("Flatten", {g.input(onnx_layout::channels_last)}, {G::integer("axis", 1)}), onnx_layout::channels_last);
    }

    // The same values in the same order: a copy through eval/.
    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        eval::assign_to_fresh(io.y.data, reshape<typename IO::output_shape>(io.x));
    }
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) eval::assign_to_fresh(io.dl_dx.data, reshape<typename IO::input_shape>(io.dl_dy));
    }
};

}  // namespace metagrad
