// metagrad::inference_form: a network type folded for inference, and its parameters folded from
// the trained network's.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <utility>

#include "metagrad/core/chain.hpp"
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

/// A chain's layers on its input shape `S`, as the plan reads a list of layers in sequence (a
/// network is read as it is).
template <class Chain, class S>
struct chain_on {
    static constexpr std::size_t depth = Chain::depth;
    template <std::size_t I>
    using layer_type = typename Chain::template layer_type<I>;
    template <std::size_t I>
    using shape_at = std::tuple_element_t<I, typename Chain::template shapes<S>>;
};

/// What layer `L` on sample shape `S` becomes in inference, apart from what its neighbours do to
/// it: itself, or a chain or branches folded inside (below the plan).
template <class L, class S>
struct layer_inference_form {
    using type = L;
};

/// The plan of a list of layers' inference form (a network's, or a chain's through `chain_on`),
/// computed once per list: each layer's role, the layer a scale and shift is absorbed into
/// (`partner`), and the source of each folded layer.
template <class List>
struct inference_plan {
    static constexpr std::size_t depth = List::depth;

    template <template <class, class> class Test>
    static constexpr std::array<bool, depth> each_layer() {
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return std::array<bool, depth>{Test<typename List::template layer_type<I>, typename List::template shape_at<I>>::value...};
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
        // A list of layers that are all the identity in inference keeps its first.
        if (r.folded_depth == 0) {
            r.role[0] = inference_role::kept;
            r.source[r.folded_depth++] = 0;
        }
        return r;
    }
    static constexpr result plan = compute();

    /// The folded layer taken from layer `I` (named lazily: only an absorbing layer has the type).
    template <std::size_t I, bool Absorbs>
    struct folded_layer_of {
        using type = typename layer_inference_form<typename List::template layer_type<I>, typename List::template shape_at<I>>::type;
    };
    template <std::size_t I>
    struct folded_layer_of<I, true> {
        using type = typename List::template layer_type<I>::absorbed_scale_and_shift;
    };
    template <std::size_t I>
    using folded_layer = typename folded_layer_of<I, plan.role[I] == inference_role::absorbs>::type;

    template <template <class...> class Into, class Sequence>
    struct folded_list;
    template <template <class...> class Into, std::size_t... J>
    struct folded_list<Into, std::index_sequence<J...>> {
        using type = Into<folded_layer<plan.source[J]>...>;
    };
    /// The folded layers, as the arguments of `Into` (a chain, or a network on its input).
    template <template <class...> class Into>
    using folded_into = typename folded_list<Into, std::make_index_sequence<plan.folded_depth>>::type;
};

template <class... Layers, class S>
struct layer_inference_form<chain<Layers...>, S> {
    using type = typename inference_plan<chain_on<chain<Layers...>, S>>::template folded_into<chain>;
};

template <class L, class S, class Branches>
struct branches_inference_form;
template <class L, class S, class... Branches>
struct branches_inference_form<L, S, std::tuple<Branches...>> {
    using type = typename L::template with_branches<typename layer_inference_form<Branches, S>::type...>;
};
template <class L, class S>
    requires declares_hook<L, branches_hook>
struct layer_inference_form<L, S> {
    using type = typename branches_inference_form<L, S, typename L::branch_types>::type;
};

template <class Net>
struct network_inference_form {
    template <class... Layers>
    using on_input = network<typename Net::input_shape, Layers...>;
    using type = typename inference_plan<Net>::template folded_into<on_input>;
};

/// Where a list's layers keep their parameters and state: a network's `layer<I>()` and
/// `state<I>()`, a chain's parts' `at<I>()`.
struct network_parts {
    template <std::size_t I, class P>
    static constexpr auto& parameters(P& p) {
        return p.template layer<I>();
    }
    template <std::size_t I, class P>
    static constexpr auto& state(P& p) {
        return p.template state<I>();
    }
};
struct chain_parts_access {
    template <std::size_t I, class P>
    static constexpr auto& parameters(P& p) {
        return p.template at<I>();
    }
    template <std::size_t I, class P>
    static constexpr auto& state(P& p) {
        return p.template at<I>();
    }
};

template <class L>
inline constexpr bool is_chain = false;
template <class... Layers>
inline constexpr bool is_chain<chain<Layers...>> = true;

template <class List, class Parts, class T, class P, class St, class FP, class FSt>
constexpr void fold_list(const P& p, const St& state, FP& folded, FSt& folded_state);

/// Writes layer `L`'s folded parameters and state: copied, or folded inside a chain or branches.
template <class L, class S, class T, class P, class St, class FP, class FSt>
constexpr void fold_layer(const P& p, const St& state, FP& folded, FSt& folded_state) {
    if constexpr (is_chain<L>) {
        fold_list<chain_on<L, S>, chain_parts_access, T>(p, state, folded, folded_state);
    } else if constexpr (declares_hook<L, branches_hook>) {
        using F = typename layer_inference_form<L, S>::type;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (fold_layer<std::tuple_element_t<I, typename L::branch_types>, S, T>(
                 L::template branch_part<I>(p), L::template branch_part<I>(state), F::template branch_part<I>(folded),
                 F::template branch_part<I>(folded_state)),
             ...);
        }(std::make_index_sequence<std::tuple_size_v<typename L::branch_types>>{});
    } else {
        folded = p;
        folded_state = state;
    }
}

/// Folds a list of layers by its plan: an absorbing layer's weight rows and bias take in the scale
/// and shift of the batch norm after it (its running statistics); the others are folded inside.
template <class List, class Parts, class T, class P, class St, class FP, class FSt>
constexpr void fold_list(const P& p, const St& state, FP& folded, FSt& folded_state) {
    using plan = inference_plan<List>;
    [&]<std::size_t... J>(std::index_sequence<J...>) {
        (
            [&] {
                constexpr std::size_t i = plan::plan.source[J];
                using L = typename List::template layer_type<i>;
                if constexpr (plan::plan.role[i] == inference_role::absorbs) {
                    constexpr std::size_t a = plan::plan.partner[i];
                    using absorbed = typename List::template layer_type<a>;
                    vector<T, List::template shape_at<a>::last> scale, shift;
                    absorbed::inference_scale_and_shift(Parts::template parameters<a>(p), Parts::template state<a>(state), scale, shift);
                    L::absorb_scale_and_shift(Parts::template parameters<i>(p), scale, shift, Parts::template parameters<J>(folded));
                } else {
                    fold_layer<L, typename List::template shape_at<i>, T>(Parts::template parameters<i>(p), Parts::template state<i>(state),
                                                                          Parts::template parameters<J>(folded),
                                                                          Parts::template state<J>(folded_state));
                }
            }(),
            ...);
    }(std::make_index_sequence<plan::plan.folded_depth>{});
}

}  // namespace detail

/// `Net` as it runs in inference: layers that are the identity there (dropout, random_flip) left
/// out, and each batch norm folded into the dense or convolution layer before it (which gains a
/// bias if it had none), so that a convolution, its batch norm and a ReLU become one
/// convolution and a ReLU. The folding is read from the layers' declared hooks
/// (`identity_in_inference_hook`, `scale_and_shift_in_inference_hook`,
/// `absorbs_scale_and_shift_hook`), and applies inside sub-networks too: in each `chain` as at the
/// top level, and in each branch of a layer that declares `branches_hook` (`residual`,
/// `parallel`). A batch norm is folded only into a layer before it in the same list. `predictor`
/// runs this form.
template <class Net>
using inference_form = typename detail::network_inference_form<Net>::type;

/// Writes into `folded` the parameters of `inference_form<Net>` that give, in inference, what `p`
/// gives `Net`: layers kept are copied with their state; an absorbing layer's weight rows and
/// bias take in the scale and shift of the batch norm after it (its running statistics).
template <class Net, class T>
constexpr void fold_for_inference(const network_parameters<Net, T>& p, typename inference_form<Net>::template parameters<T>& folded) {
    detail::fold_list<Net, detail::network_parts, T>(p, p, folded, folded);
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
