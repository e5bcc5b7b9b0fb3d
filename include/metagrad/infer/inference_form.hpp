// metagrad::inference_form: a network type folded for inference, and its parameters folded from
// the trained network's.
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

namespace detail {

/// What becomes of each layer of a network in its inference form.
enum class inference_role {
    kept,           // as it is
    left_out,       // the identity in inference (dropout, random_flip)
    absorbs,        // a dense or convolution layer that takes in the scale and shift after it
    absorbed,       // that scale and shift (batch norm)
};

/// The plan of `Net`'s inference form, computed once per network type: each layer's role, the
/// layer a scale and shift is absorbed into (`partner`), and the source of each folded layer.
template <class Net>
struct inference_plan {
    static constexpr std::size_t depth = Net::depth;

    template <template <class, class> class Test>
    static constexpr std::array<bool, depth> each_layer() {
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return std::array<bool, depth>{Test<typename Net::template layer_type<I>, typename Net::template shape_at<I>>::value...};
        }(std::make_index_sequence<depth>{});
    }
    template <class L, class S>
    struct left_out_test {
        static constexpr bool value = declares_hook<L, identity_in_inference_hook>;
    };
    template <class L, class S>
    struct absorbs_test {
        static constexpr bool value = declares_hook<L, absorbs_scale_and_shift_hook>;
    };
    template <class L, class S>
    struct absorbed_test {
        static constexpr bool value = declares_hook<L, scale_and_shift_in_inference_hook>;
    };

    struct result {
        std::array<inference_role, depth> role{};
        std::array<std::size_t, depth> partner{};  // for `absorbs`: the absorbed layer
        std::array<std::size_t, depth> source{};   // folded layer j comes from source[j]
        std::size_t folded_depth = 0;
    };

    static constexpr result compute() {
        constexpr auto left_out = each_layer<left_out_test>();
        constexpr auto absorbs = each_layer<absorbs_test>();
        constexpr auto absorbed = each_layer<absorbed_test>();
        result r{};
        // The last kept layer, while it can absorb a scale and shift and has not yet: layers left
        // out between the two (dropout after a convolution, before its batch norm) do not matter.
        std::size_t absorber = depth;
        for (std::size_t i = 0; i < depth; ++i) {
            if (left_out[i]) {
                r.role[i] = inference_role::left_out;
            } else if (absorbed[i] && absorber < depth) {
                r.role[i] = inference_role::absorbed;
                r.role[absorber] = inference_role::absorbs;
                r.partner[absorber] = i;
                absorber = depth;
            } else {
                r.role[i] = inference_role::kept;
                absorber = absorbs[i] ? i : depth;
            }
        }
        for (std::size_t i = 0; i < depth; ++i)
            if (r.role[i] == inference_role::kept || r.role[i] == inference_role::absorbs) r.source[r.folded_depth++] = i;
        // A network of layers that are all the identity in inference keeps its first.
        if (r.folded_depth == 0) {
            r.role[0] = inference_role::kept;
            r.source[r.folded_depth++] = 0;
        }
        return r;
    }
    static constexpr result plan = compute();

    /// The folded layer taken from layer `I` (named lazily: only an absorbing layer has the type).
    template <class L, bool Absorbs>
    struct folded_layer_of {
        using type = L;
    };
    template <class L>
    struct folded_layer_of<L, true> {
        using type = typename L::absorbed_scale_and_shift;
    };
    template <std::size_t I>
    using folded_layer = typename folded_layer_of<typename Net::template layer_type<I>, plan.role[I] == inference_role::absorbs>::type;

    template <class Sequence>
    struct folded_network;
    template <std::size_t... J>
    struct folded_network<std::index_sequence<J...>> {
        using type = network<typename Net::input_shape, folded_layer<plan.source[J]>...>;
    };
    using type = typename folded_network<std::make_index_sequence<plan.folded_depth>>::type;
};

}  // namespace detail

/// `Net` as it runs in inference: layers that are the identity there (dropout, random_flip) left
/// out, and each batch norm folded into the dense or convolution layer before it (which gains a
/// bias if it had none), so that a convolution, its batch norm and a ReLU become one
/// convolution and a ReLU. The folding is read from the layers' declared hooks
/// (`identity_in_inference_hook`, `scale_and_shift_in_inference_hook`,
/// `absorbs_scale_and_shift_hook`), at the network's top level: sub-networks (`residual`,
/// `chain`, `parallel`) are kept as they are. `predictor` runs this form.
template <class Net>
using inference_form = typename detail::inference_plan<Net>::type;

/// Writes into `folded` the parameters of `inference_form<Net>` that give, in inference, what `p`
/// gives `Net`: layers kept are copied with their state; an absorbing layer's weight rows and
/// bias take in the scale and shift of the batch norm after it (its running statistics).
template <class Net, class T>
constexpr void fold_for_inference(const network_parameters<Net, T>& p, typename inference_form<Net>::template parameters<T>& folded) {
    using plan = detail::inference_plan<Net>;
    [&]<std::size_t... J>(std::index_sequence<J...>) {
        (
            [&] {
                constexpr std::size_t i = plan::plan.source[J];
                if constexpr (plan::plan.role[i] == detail::inference_role::absorbs) {
                    constexpr std::size_t a = plan::plan.partner[i];
                    using absorbed = typename Net::template layer_type<a>;
                    vector<T, Net::template shape_at<a>::last> scale, shift;
                    absorbed::inference_scale_and_shift(p.template layer<a>(), p.template state<a>(), scale, shift);
                    Net::template layer_type<i>::absorb_scale_and_shift(p.template layer<i>(), scale, shift, folded.template layer<J>());
                } else {
                    folded.template layer<J>() = p.template layer<i>();
                }
                if constexpr (plan::plan.role[i] != detail::inference_role::absorbs) folded.template state<J>() = p.template state<i>();
            }(),
            ...);
    }(std::make_index_sequence<plan::plan.folded_depth>{});
}

/// The same, returned (for small networks and constant evaluation; a large network's folded
/// parameters belong on the heap, as its parameters do).
template <class Net, class T>
constexpr auto fold_for_inference(const network_parameters<Net, T>& p) {
    typename inference_form<Net>::template parameters<T> folded;
    fold_for_inference(p, folded);
    return folded;
}

}  // namespace metagrad
