// metagrad::chain: a list of layers that is itself a layer, and metagrad::indexed_parts, the
// described struct of its layers' parameters (or state), named by position.
#pragma once

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

namespace detail {
template <std::size_t I>
struct element_access {
    template <class S>
    constexpr auto& operator()(S& s) const {
        return boost::hana::at_c<I>(s.elements);
    }
};
}  // namespace detail

/// The parameters (or state) of a list of layers: one described struct per layer, named "0",
/// "1", ... as PyTorch names a `Sequential`'s modules, so a chain at position 1 of a network has
/// the tensors "1.0.weight", "1.2.bias".
template <class... Parts>
struct indexed_parts {
    boost::hana::tuple<Parts...> elements{};

    static constexpr auto fields = []<std::size_t... I>(std::index_sequence<I...>) {
        return metagrad::fields(field<index_name<I>>(detail::element_access<I>{})...);
    }(std::index_sequence_for<Parts...>{});

    template <std::size_t I>
    constexpr auto& at() {
        return boost::hana::at_c<I>(elements);
    }
    template <std::size_t I>
    constexpr const auto& at() const {
        return boost::hana::at_c<I>(elements);
    }
};

namespace detail {
template <class T, class Shapes, std::size_t B, class LayerTuple, class Sequence>
struct chain_parts;
template <class T, class Shapes, std::size_t B, class... L, std::size_t... I>
struct chain_parts<T, Shapes, B, std::tuple<L...>, std::index_sequence<I...>> {
    using parameters = indexed_parts<layer_parameters<L, T, std::tuple_element_t<I, Shapes>>...>;
    using state = indexed_parts<layer_state<L, T, std::tuple_element_t<I, Shapes>>...>;
    using caches = boost::hana::tuple<layer_cache<L, T, std::tuple_element_t<I, Shapes>, B>...>;
    using scratches = boost::hana::tuple<layer_scratch<L, T, std::tuple_element_t<I, Shapes>, B>...>;
};
// The tensors between the layers: layer I's output for I < n - 1.
template <class T, class Shapes, std::size_t B, class Sequence>
struct chain_between;
template <class T, class Shapes, std::size_t B, std::size_t... I>
struct chain_between<T, Shapes, B, std::index_sequence<I...>> {
    using type = pass_buffers<T, std::tuple_element_t<0, Shapes>, B, std::tuple_element_t<I + 1, Shapes>...>;
};
}  // namespace detail

/// A list of layers taking its input shape from outside, which is itself a layer: its shape is the
/// fold of its layers' shapes, its parameters and state are its layers' (`indexed_parts`), its
/// cache holds the tensors between its layers and their caches, and its passes are the folds a
/// network runs. So a chain nests in a network, in a residual block or in another chain with no
/// special case. Its layers run their own passes (the fusions of adjacent layers are the
/// network's, at its top level).
template <class... Layers>
struct chain {
    static_assert(sizeof...(Layers) > 0, "metagrad::chain: a chain needs at least one layer");
    static constexpr std::size_t depth = sizeof...(Layers);
    template <std::size_t I>
    using layer_type = std::tuple_element_t<I, std::tuple<Layers...>>;

    /// The sample shapes entering each layer for a chain input of shape `S`, and the output's.
    template <class S>
    using shapes = detail::shapes_of<S, Layers...>;

    /// A chain takes the shapes its layers compose on.
    template <class S>
    static constexpr bool accepts = composable<S, Layers...>;

    // On a shape its layers do not compose on, the input's shape: `layer<chain<...>>` probes a
    // vector, which a chain of convolutions rejects, and must still see tensors there. The
    // network's checks reject the shape through `accepts`.
    template <class S>
    using output_shape = std::conditional_t<accepts<S>, std::tuple_element_t<depth, shapes<S>>, S>;

    static constexpr std::string_view name = "chain";
    using provides = hooks<chain, onnx_hook>;
    /// In an exported ONNX graph (io/onnx_graph.hpp): its layers' nodes in turn, their tensors
    /// under "PATH.0", "PATH.1", ...
    template <class S, class G>
    static void to_onnx(G& g) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (g.template layer<layer_type<I>, std::tuple_element_t<I, shapes<S>>, I>(index_name<I>.view(), g.current()), ...);
        }(std::make_index_sequence<depth>{});
    }
    /// Its layers' operations, summed.
    template <class S>
    static constexpr std::size_t flops = []<std::size_t... I>(std::index_sequence<I...>) {
        return (layer_flops<layer_type<I>, std::tuple_element_t<I, shapes<S>>> + ... + 0);
    }(std::make_index_sequence<depth>{});

private:
    template <class T, class S, std::size_t B = 1>
    using parts = detail::chain_parts<T, shapes<S>, B, std::tuple<Layers...>, std::make_index_sequence<depth>>;

public:
    template <class T, class S>
    using parameters = typename parts<T, S>::parameters;
    template <class T, class S>
    using state = typename parts<T, S>::state;

    /// What the forward pass leaves: the tensors between the layers, and the layers' caches.
    template <class T, class S, std::size_t B>
    struct cache {
        typename detail::chain_between<T, shapes<S>, B, std::make_index_sequence<depth - 1>>::type values{};
        typename parts<T, S, B>::caches caches{};
    };
    /// What the backward pass writes for itself: the gradients between the layers, and the
    /// layers' scratch.
    template <class T, class S, std::size_t B>
    struct scratch {
        typename detail::chain_between<T, shapes<S>, B, std::make_index_sequence<depth - 1>>::type gradients{};
        typename parts<T, S, B>::scratches scratches{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx& ctx, const IO& io) {
        using S = typename IO::sample_shape;
        using T = typename IO::value_type;
        using X = typename IO::input_shape;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            const auto step = [&]<std::size_t K>(std::integral_constant<std::size_t, K>) {
                using L = layer_type<K>;
                using SK = std::tuple_element_t<K, shapes<S>>;
                using io_type = forward_io_for<L, T, SK, with_batch_of_shape<X, S, SK>, typename Ctx::mode>;
                detail::run_forward<L>(ctx.inside(K), io_type{input_of<K>(io), output_of<K>(io), io.parameters.template at<K>(),
                                                              io.state.template at<K>(), boost::hana::at_c<K>(io.cache.caches)});
            };
            (step(std::integral_constant<std::size_t, I>{}), ...);
        }(std::make_index_sequence<depth>{});
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx& ctx, const IO& io) {
        using S = typename IO::sample_shape;
        using T = typename IO::value_type;
        using X = typename IO::input_shape;
        [&]<std::size_t... R>(std::index_sequence<R...>) {
            const auto step = [&]<std::size_t K>(std::integral_constant<std::size_t, K>) {
                using L = layer_type<K>;
                using SK = std::tuple_element_t<K, shapes<S>>;
                // Every layer but the first passes its input gradient on; the first as asked.
                constexpr bool wants = K > 0 || IO::wants_input_gradient;
                using io_type = backward_io_for<L, T, SK, with_batch_of_shape<X, S, SK>, wants>;
                auto& dl_dx = [&]() -> auto& {
                    if constexpr (K == 0)
                        return io.dl_dx;
                    else
                        return io.scratch.gradients.template get<K - 1, X>();
                }();
                const auto& dl_dy = [&]() -> const auto& {
                    if constexpr (K + 1 == depth)
                        return io.dl_dy;
                    else
                        return io.scratch.gradients.template get<K, X>();
                }();
                detail::run_backward<L>(ctx.inside(K),
                                        io_type{input_of<K>(io), output_of<K>(io), dl_dy, io.parameters.template at<K>(),
                                                io.state.template at<K>(), boost::hana::at_c<K>(io.cache.caches),
                                                io.dl_dparameters.template at<K>(), dl_dx, boost::hana::at_c<K>(io.scratch.scratches)});
            };
            (step(std::integral_constant<std::size_t, depth - 1 - R>{}), ...);
        }(std::make_index_sequence<depth>{});
    }

private:
    // Layer K reads the chain's input or the tensor before it, and writes the chain's output or
    // the tensor after it.
    template <std::size_t K, class IO>
    static constexpr const auto& input_of(const IO& io) {
        if constexpr (K == 0)
            return io.x;
        else
            return io.cache.values.template get<K - 1, typename IO::input_shape>();
    }
    template <std::size_t K, class IO>
    static constexpr auto& output_of(const IO& io) {
        if constexpr (K + 1 == depth)
            return io.y;
        else
            return io.cache.values.template get<K, typename IO::input_shape>();
    }
};

}  // namespace metagrad
