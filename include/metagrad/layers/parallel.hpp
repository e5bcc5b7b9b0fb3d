// metagrad::parallel: branches that all see the input, their outputs summed or concatenated.
#pragma once

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/chain.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// How `parallel` merges its branches' outputs.
namespace merge {
/// Element by element: every branch gives the same shape.
struct sum {};
/// Along the last (feature) axis, as `torch.cat(..., dim=-1)`: the branches' shapes differ in
/// their last extent at most.
struct concatenate {};
}  // namespace merge

namespace detail {
template <class Merge, class... Out>
struct merged_shape {
    static constexpr bool valid = false;
    using type = shape<1>;
};
template <class First, class... Rest>
    requires(std::is_same_v<First, Rest> && ...)
struct merged_shape<merge::sum, First, Rest...> {
    static constexpr bool valid = true;
    using type = First;
};
template <class First, class... Rest>
    requires((Rest::rank == First::rank && Rest::rows == First::rows &&
              std::is_same_v<with_last<Rest, 1>, with_last<First, 1>>) && ...)
struct merged_shape<merge::concatenate, First, Rest...> {
    static constexpr bool valid = true;
    using type = with_last<First, (First::last + ... + Rest::last)>;
};

template <class S, class... Branches>
constexpr bool branches_work() {
    return (layer_works<Branches, S> && ...);
}
}  // namespace detail

/// Branches that each see the input, merged by `Merge` (`merge::sum` or `merge::concatenate`):
/// an inception-style block, or with a `chain` per branch a two-tower model. The branches'
/// parameters and state are named by position, "0.*", "1.*", as PyTorch names a `ModuleList`'s.
/// The gradient of the input is the sum of the branches'.
template <class Merge, class... Branches>
struct parallel {
    static_assert(sizeof...(Branches) > 0, "metagrad::parallel: give at least one branch");
    static constexpr std::string_view name = "parallel";
    static constexpr std::size_t count = sizeof...(Branches);
    template <std::size_t I>
    using branch = std::tuple_element_t<I, std::tuple<Branches...>>;

    /// Its branches, for what works on each (the inference form, `branches_hook`).
    using branch_types = std::tuple<Branches...>;
    template <class... Other>
    using with_branches = parallel<Merge, Other...>;
    template <std::size_t I, class Parts>
    static constexpr auto& branch_part(Parts& parts) {
        return parts.template at<I>();
    }
    using provides = hooks<parallel, branches_hook, onnx_hook>;

    /// In an exported ONNX graph (io/onnx_graph.hpp): each branch's nodes on the same input, then
    /// their Sum, or their Concat along the features.
    template <class S, class G>
    static void to_onnx(G& g) {
        const auto x = g.current();
        const auto outputs = [&]<std::size_t... I>(std::index_sequence<I...>) {
            // Braces: the branches are exported in order.
            return typename G::values{g.template layer<branch<I>, S, I>(index_name<I>.view(), x)...};
        }(std::make_index_sequence<count>{});
        if constexpr (std::is_same_v<Merge, merge::sum>)
            g.sum(outputs);
        else
            g.concatenate(outputs);
    }

    /// Every branch takes `S`, and their outputs merge.
    template <class S>
    static constexpr bool accepts = [] {
        if constexpr (detail::branches_work<S, Branches...>())
            return detail::merged_shape<Merge, typename Branches::template output_shape<S>...>::valid;
        else
            return false;
    }();

    template <class S>
    using output_shape = typename detail::merged_shape<Merge, typename Branches::template output_shape<S>...>::type;

    template <class S>
    static constexpr std::size_t flops = (layer_flops<Branches, S> + ... + 0) + (count - 1) * output_shape<S>::size;

    template <class T, class S>
    using parameters = indexed_parts<layer_parameters<Branches, T, S>...>;
    template <class T, class S>
    using state = indexed_parts<layer_state<Branches, T, S>...>;

    /// The branches' outputs and caches.
    template <class T, class S, std::size_t B>
    struct cache {
        pass_buffers<T, S, B, typename Branches::template output_shape<S>...> outputs{};
        boost::hana::tuple<layer_cache<Branches, T, S, B>...> caches{};
    };
    /// A branch's input gradient before it is added; each branch's slice of dl/dy (concatenation);
    /// the branches' scratch.
    template <class T, class S, std::size_t B>
    struct scratch {
        pass_buffers<T, S, B, S> input_gradient{};
        pass_buffers<T, S, B, typename Branches::template output_shape<S>...> output_gradients{};
        boost::hana::tuple<layer_scratch<Branches, T, S, B>...> scratches{};
    };

    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx& ctx, const IO& io) {
        using T = typename IO::value_type;
        using S = typename IO::sample_shape;
        using X = typename IO::input_shape;
        for_each_branch([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using L = branch<I>;
            detail::run_forward<L>(ctx.inside(I), forward_io_for<L, T, S, X, typename Ctx::mode>{
                                                      io.x, io.cache.outputs.template get<I, X>(), io.parameters.template at<I>(),
                                                      io.state.template at<I>(), boost::hana::at_c<I>(io.cache.caches)});
        });
        if constexpr (std::is_same_v<Merge, merge::sum>) {
            io.y = io.cache.outputs.template get<0, X>();
            for_each_branch([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
                if constexpr (I > 0) io.y = io.y + io.cache.outputs.template get<I, X>();
            });
        } else {
            // Row r of the output is row r of each branch's output, side by side.
            for_each_branch([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
                const auto& part = io.cache.outputs.template get<I, X>();
                constexpr std::size_t width = std::remove_cvref_t<decltype(part)>::shape_type::last;
                constexpr std::size_t total = IO::output_shape::last, offset = column_offset<S, I>();
                for (std::size_t r = 0; r < IO::output_shape::size / total; ++r)
                    for (std::size_t j = 0; j < width; ++j) io.y[r * total + offset + j] = part[r * width + j];
            });
        }
    }

    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx& ctx, const IO& io) {
        using T = typename IO::value_type;
        using S = typename IO::sample_shape;
        using X = typename IO::input_shape;
        constexpr bool wants = IO::wants_input_gradient;
        auto& spare = io.scratch.input_gradient.template get<0, X>();
        for_each_branch([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using L = branch<I>;
            // This branch's part of dl/dy: all of it for a sum, its columns for a concatenation.
            const auto& dl_dy = [&]() -> const auto& {
                if constexpr (std::is_same_v<Merge, merge::sum>) {
                    return io.dl_dy;
                } else {
                    auto& part = io.scratch.output_gradients.template get<I, X>();
                    constexpr std::size_t width = std::remove_cvref_t<decltype(part)>::shape_type::last;
                    constexpr std::size_t total = IO::output_shape::last, offset = column_offset<S, I>();
                    for (std::size_t r = 0; r < IO::output_shape::size / total; ++r)
                        for (std::size_t j = 0; j < width; ++j) part[r * width + j] = io.dl_dy[r * total + offset + j];
                    return part;
                }
            }();
            // The first branch writes dl/dx itself; the others write the spare, then add it.
            auto& dl_dx = I == 0 && wants ? io.dl_dx : spare;
            detail::run_backward<L>(ctx.inside(I), backward_io_for<L, T, S, X, wants>{
                                                       io.x, io.cache.outputs.template get<I, X>(), dl_dy,
                                                       io.parameters.template at<I>(), io.state.template at<I>(),
                                                       boost::hana::at_c<I>(io.cache.caches), io.dl_dparameters.template at<I>(),
                                                       dl_dx, boost::hana::at_c<I>(io.scratch.scratches)});
            if constexpr (I > 0 && wants) io.dl_dx = io.dl_dx + spare;
        });
    }

private:
    template <class F>
    static constexpr void for_each_branch(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::integral_constant<std::size_t, I>{}), ...);
        }(std::make_index_sequence<count>{});
    }
    // Where branch I's columns start in a concatenated row.
    template <class S, std::size_t I>
    static constexpr std::size_t column_offset() {
        std::size_t offset = 0;
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            ((offset += branch<K>::template output_shape<S>::last), ...);
        }(std::make_index_sequence<I>{});
        return offset;
    }
};

}  // namespace metagrad
