// metagrad::residual: y = body(x) + projection(x), the block of residual networks.
#pragma once

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/layers/identity.hpp"

namespace metagrad {

/// A residual block's parameters (or state): the body's and the projection's, named "body" and
/// "projection" (so a block at position 1 has "1.body.0.weight").
template <class Body, class Projection>
struct residual_parts {
    Body body{};
    Projection projection{};

    static constexpr auto fields =
        metagrad::fields(field<"body">(&residual_parts::body), field<"projection">(&residual_parts::projection));
};

/// A residual block (He et al., 2016): y = body(x) + projection(x). `Body` is any layer, usually a
/// `chain<...>`; `Projection` is the identity by default (the body must then keep the shape), or
/// a layer that maps the input to the body's output shape (a `dense<Out>`, later a 1x1
/// convolution). Both see x; the gradient of x is the sum of theirs. Blocks nest: a body may hold
/// residual blocks of its own.
template <class Body, class Projection = identity>
struct residual {
    static constexpr std::string_view name = "residual";

    /// Both branches take `S`, and give the same shape.
    template <class S>
    static constexpr bool accepts = [] {
        if constexpr (detail::layer_works<Body, S> && detail::layer_works<Projection, S>)
            return std::is_same_v<typename Body::template output_shape<S>, typename Projection::template output_shape<S>>;
        else
            return false;
    }();

    template <class S>
    using output_shape = typename Body::template output_shape<S>;

    /// Both branches' operations and the sum.
    template <class S>
    static constexpr std::size_t flops = layer_flops<Body, S> + layer_flops<Projection, S> + output_shape<S>::size;

    /// Its two branches, for what works on each (the inference form, `branches_hook`).
    using branch_types = std::tuple<Body, Projection>;
    template <class... Branches>
    using with_branches = residual<Branches...>;
    template <std::size_t I, class Parts>
    static constexpr auto& branch_part(Parts& parts) {
        if constexpr (I == 0)
            return parts.body;
        else
            return parts.projection;
    }
    using provides = hooks<residual, branches_hook, onnx_hook>;

    /// In an exported ONNX graph (io/onnx_graph.hpp): the body's nodes and the projection's (none
    /// for the identity) on the same input, and their Sum.
    template <class S, class G>
    static void to_onnx(G& g) {
        const auto x = g.current();
        const auto body = g.template layer<Body, S, 0>("body", x);
        g.sum({body, g.template layer<Projection, S, 1>("projection", x)});
    }

    // The identity projection adds x itself: nothing to run, nothing to keep.
    static constexpr bool identity_projection = std::is_same_v<Projection, identity>;

    template <class T, class S>
    using parameters = residual_parts<layer_parameters<Body, T, S>, layer_parameters<Projection, T, S>>;
    template <class T, class S>
    using state = residual_parts<layer_state<Body, T, S>, layer_state<Projection, T, S>>;

    /// The branches' outputs (what their backward passes read) and caches.
    template <class T, class S, std::size_t B>
    struct cache {
        pass_buffers<T, S, B, output_shape<S>, output_shape<S>> outputs{};
        layer_cache<Body, T, S, B> body{};
        layer_cache<Projection, T, S, B> projection{};
    };
    /// The projection's input gradient (added to the body's), and the branches' scratch.
    template <class T, class S, std::size_t B>
    struct scratch {
        pass_buffers<T, S, B, S> input_gradient{};
        layer_scratch<Body, T, S, B> body{};
        layer_scratch<Projection, T, S, B> projection{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx& ctx, const IO& io) {
        using T = typename IO::value_type;
        using S = typename IO::sample_shape;
        using X = typename IO::input_shape;
        using mode = typename Ctx::mode;
        auto& body_y = io.cache.outputs.template get<0, X>();
        auto& projection_y = io.cache.outputs.template get<1, X>();
        (void)projection_y;
        detail::run_forward<Body>(ctx.inside(0), forward_io_for<Body, T, S, X, mode>{io.x, body_y, io.parameters.body, io.state.body,
                                                                                     io.cache.body});
        if constexpr (identity_projection) {
            io.y = body_y + io.x;
        } else {
            detail::run_forward<Projection>(ctx.inside(1), forward_io_for<Projection, T, S, X, mode>{
                                                               io.x, projection_y, io.parameters.projection, io.state.projection,
                                                               io.cache.projection});
            io.y = body_y + projection_y;
        }
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx& ctx, const IO& io) {
        using T = typename IO::value_type;
        using S = typename IO::sample_shape;
        using X = typename IO::input_shape;
        constexpr bool wants = IO::wants_input_gradient;
        auto& projection_dx = io.scratch.input_gradient.template get<0, X>();
        // dl/d(body output) = dl/d(projection output) = dl/dy.
        detail::run_backward<Body>(ctx.inside(0), backward_io_for<Body, T, S, X, wants>{
                                                      io.x, io.cache.outputs.template get<0, X>(), io.dl_dy, io.parameters.body,
                                                      io.state.body, io.cache.body, io.dl_dparameters.body,
                                                      // Without an input gradient to give, the body's goes to scratch.
                                                      wants ? io.dl_dx : projection_dx, io.scratch.body});
        if constexpr (identity_projection) {
            if constexpr (wants) io.dl_dx = io.dl_dx + io.dl_dy;
        } else {
            detail::run_backward<Projection>(ctx.inside(1), backward_io_for<Projection, T, S, X, wants>{
                                                                io.x, io.cache.outputs.template get<1, X>(), io.dl_dy,
                                                                io.parameters.projection, io.state.projection, io.cache.projection,
                                                                io.dl_dparameters.projection, projection_dx, io.scratch.projection});
            if constexpr (wants) io.dl_dx = io.dl_dx + projection_dx;
        }
    }
};

}  // namespace metagrad
