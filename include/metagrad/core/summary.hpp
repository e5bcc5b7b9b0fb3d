// metagrad::network_summary: what a network type costs, computed from the type alone.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network.hpp"

namespace metagrad {

/// One row of a summary: a layer's name, the shape it outputs (per sample), its parameters and
/// its forward FLOPs per sample.
struct layer_summary {
    std::string_view name;
    std::array<std::size_t, 8> output_extents{};
    std::size_t output_rank = 0;
    std::size_t parameters = 0;
    std::size_t flops = 0;
};

/// Everything about network `Net` that its type determines, as constants: per layer (0-based)
/// a `layer_summary`; in total the parameter count, forward FLOPs per sample, and bytes of
/// parameters and of the activations a forward pass keeps per sample, for element type `T`.
/// `static_assert(network_summary<net>::parameters == 26)` holds for the homework network;
/// `print_summary` (report/summary_table.hpp) prints it as a table.
template <class Net>
struct network_summary {
    static constexpr std::size_t depth = Net::depth;

    static constexpr std::array<layer_summary, Net::depth> layers = [] {
        std::array<layer_summary, Net::depth> rows{};
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((rows[I] = [] {
                 using L = typename Net::template layer_type<I>;
                 using In = typename Net::template shape_at<I>;
                 using Out = typename Net::template shape_at<I + 1>;
                 layer_summary row;
                 row.name = layer_name<L>;
                 row.output_rank = Out::rank;
                 for (std::size_t k = 0; k < Out::rank; ++k) row.output_extents[k] = Out::extents[k];
                 row.parameters = detail::scalar_count<std::remove_cvref_t<
                     decltype(std::declval<typename Net::template parameters<float>&>().template layer<I>())>>();
                 row.flops = layer_flops<L, In>;
                 return row;
             }()),
             ...);
        }(std::make_index_sequence<Net::depth>{});
        return rows;
    }();

    static constexpr std::size_t parameters = Net::parameter_count;
    static constexpr std::size_t flops_per_sample = [] {
        std::size_t total = 0;
        for (const auto& row : layers) total += row.flops;
        return total;
    }();
    /// Scalars a forward pass keeps per sample: the input and every layer's output.
    static constexpr std::size_t activation_scalars = [] {
        std::size_t total = Net::input_shape::size;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((total += Net::template shape_at<I + 1>::size), ...);
        }(std::make_index_sequence<Net::depth>{});
        return total;
    }();

    template <class T>
    static constexpr std::size_t parameter_bytes = parameters * sizeof(T);
    template <class T>
    static constexpr std::size_t activation_bytes_per_sample = activation_scalars * sizeof(T);
};

}  // namespace metagrad
