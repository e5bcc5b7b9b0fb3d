// metagrad::network and metagrad::sequential: a list of layer types as one network type, with its
// shapes inferred and checked at compile time and its forward and backward passes generated.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/activations.hpp"
#include "metagrad/core/context.hpp"
#include "metagrad/core/layer.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_checks.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

namespace detail {
/// One layer's parameters, state and cache, or none where the layer could not be placed (already
/// diagnosed).
template <class L, class T, class S>
struct parts_at {
    using parameters = no_parameters;
    using state = no_state;
    template <std::size_t B>
    using cache = no_cache;
    template <std::size_t B>
    using scratch = no_cache;
};
template <class L, class T, class S>
    requires layer_works<L, S>
struct parts_at<L, T, S> {
    using parameters = layer_parameters<L, T, S>;
    using state = layer_state<L, T, S>;
    template <std::size_t B>
    using cache = layer_cache<L, T, S, B>;
    template <std::size_t B>
    using scratch = layer_scratch<L, T, S, B>;
};

template <class T, class Shapes, class LayerTuple, class Sequence>
struct part_tuples_of;
template <class T, class Shapes, class... L, std::size_t... I>
struct part_tuples_of<T, Shapes, std::tuple<L...>, std::index_sequence<I...>> {
    using parameters = boost::hana::tuple<typename parts_at<L, T, std::tuple_element_t<I, Shapes>>::parameters...>;
    using states = boost::hana::tuple<typename parts_at<L, T, std::tuple_element_t<I, Shapes>>::state...>;
    template <std::size_t B>
    using caches = boost::hana::tuple<typename parts_at<L, T, std::tuple_element_t<I, Shapes>>::template cache<B>...>;
    template <std::size_t B>
    using scratches = boost::hana::tuple<typename parts_at<L, T, std::tuple_element_t<I, Shapes>>::template scratch<B>...>;
};

// Whether layer L (a dense layer) applies activation A, the layer after it, in its own kernel,
// and whether it takes the gradient through activation A, the layer before it, in its
// input-gradient kernel: both declare the hooks themselves (a class derived from either, which
// may override its passes, keeps them).
template <class L, class A>
concept applies_next_activation = declares_hook<L, activation_after_hook> && declares_hook<A, vector_maths_hook>;
template <class L, class A>
concept passes_back_through = declares_hook<L, gradient_through_activation_hook> && declares_hook<A, vector_maths_hook>;
}  // namespace detail

template <class InputShape, class... Layers>
struct network;

namespace detail {
template <class In, class LayerTuple, std::size_t Begin, class Sequence>
struct slice_of;
template <class In, class LayerTuple, std::size_t Begin, std::size_t... I>
struct slice_of<In, LayerTuple, Begin, std::index_sequence<I...>> {
    using type = network<In, std::tuple_element_t<Begin + I, LayerTuple>...>;
};
}  // namespace detail

/// A network of `Layers...` taking samples of shape `InputShape`. The type is the whole
/// description: shapes between layers are computed and checked at compile time, parameters are
/// a value of type `parameters<T>`, and forward and backward passes are generated from the list
/// (no tape, no virtual call, no heap). Every function is constexpr. Inputs may be a sample of
/// `InputShape` or a batch `shape<B, InputShape...>`; parameters are shared across a batch.
template <class InputShape, class... Layers>
struct network {
    static constexpr std::size_t depth = sizeof...(Layers);
    static_assert(depth > 0, "metagrad::sequential: a network needs at least one layer");

    // In a class of its own, like check_layers below: clang drops a class whose own assertion
    // fails, and each later use of the network then adds an error.
    static_assert(detail::check_first_layer_fixes_input<InputShape>::value);

    /// The network itself: what `sequential<...>` names, so that the checks below run there.
    using type = network;
    using input_shape = InputShape;
    /// `shape_at<I>`: the sample shape entering layer `I`; `shape_at<depth>` is the output's.
    using shapes = detail::shapes_of<InputShape, Layers...>;
    template <std::size_t I>
    using shape_at = std::tuple_element_t<I, shapes>;
    using output_shape = shape_at<depth>;
    template <std::size_t I>
    using layer_type = std::tuple_element_t<I, std::tuple<Layers...>>;

private:
    static constexpr detail::problem_at problem = detail::first_problem<shapes, Layers...>(std::make_index_sequence<depth>{});
    using diagnosis = detail::diagnosis<problem.kind, problem.position,
                                        std::tuple_element_t<(problem.position < depth ? problem.position : 0), std::tuple<Layers...>>,
                                        shape_at<problem.position>>;

public:
    // Checks every layer where the network type is first used; only the first problem is reported.
    static_assert(detail::check_layers<diagnosis>::value);

    /// Whether the layers compose; when they do not, a static_assert has said where.
    static constexpr bool valid =
        problem.kind == detail::layer_problem::none && !std::is_same_v<InputShape, detail::unknown_shape>;

    template <class T>
    using parameter_tuple = typename detail::part_tuples_of<T, shapes, std::tuple<Layers...>, std::make_index_sequence<depth>>::parameters;
    template <class T>
    using state_tuple = typename detail::part_tuples_of<T, shapes, std::tuple<Layers...>, std::make_index_sequence<depth>>::states;

    template <class T>
    using parameters = network_parameters<network, T>;

    /// The number of scalar parameters (the same for every element type; state not counted).
    static constexpr std::size_t parameter_count = detail::total_scalars<parameter_tuple<float>>::value;

    /// Whether some layer carries state (which a training step then commits).
    static constexpr bool has_state = detail::total_scalars<state_tuple<float>>::value > 0;

    /// The activations of a forward pass on input shape `X` (sample or batch).
    template <class T, class X>
    using activations_for = typename detail::activations_of<T, X, InputShape, shapes>::type;

    /// What a forward pass on input shape `X` leaves for the backward pass: the activations, each
    /// layer's cache and the state after the pass (`network_trace`).
    template <class T, class X>
    using trace_for = network_trace<activations_for<T, X>,
                                    typename detail::part_tuples_of<T, shapes, std::tuple<Layers...>, std::make_index_sequence<depth>>::
                                        template caches<batch_extent<X, InputShape>>,
                                    state_tuple<T>>;

    /// What a backward pass on input shape `X` writes: parameter and activation gradients, and the
    /// layers' scratch.
    template <class T, class X>
    using gradients_for =
        gradients<parameters<T>, activations_for<T, X>,
                  typename detail::part_tuples_of<T, shapes, std::tuple<Layers...>, std::make_index_sequence<depth>>::template scratches<
                      batch_extent<X, InputShape>>>;

    /// The sub-network of layers [Begin, End), taking what layer Begin takes.
    template <std::size_t Begin, std::size_t End>
        requires(Begin < End && End <= depth)
    using slice = typename detail::slice_of<shape_at<Begin>, std::tuple<Layers...>, Begin,
                                            std::make_index_sequence<End - Begin>>::type;

    /// The parameters and state of `slice<Begin, End>`, copied out of `p`.
    template <std::size_t Begin, std::size_t End, class T>
    static constexpr auto slice_parameters(const parameters<T>& p) {
        typename slice<Begin, End>::template parameters<T> out;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((out.template layer<I>() = p.template layer<Begin + I>(), out.template state<I>() = p.template state<Begin + I>()), ...);
        }(std::make_index_sequence<End - Begin>{});
        return out;
    }

    /// Runs every layer in `Mode` (training by default: this is the pass a backward pass
    /// follows) and keeps what the backward pass needs (`trace_for`). `key` keys the pass's
    /// random numbers (dropout's masks).
    template <class Mode = training_mode, class T, class X>
    static constexpr auto forward_trace(const parameters<T>& p, const tensor<T, X>& x, random_key key = {}) {
        if constexpr (!valid) {
            return invalid_network<T>{};
        } else {
            // The argument is neither a sample of the network's input shape nor a batch of them.
            static_assert(input_fits<network_takes<InputShape>, argument_given<X>>,
                          "metagrad::network: the input must be a sample of the network's input shape or a batch of them");
            if constexpr (input_fits<network_takes<InputShape>, argument_given<X>>) {
                trace_for<T, X> a;
                forward_trace_into<Mode>(p, x, a, key);
                return a;
            } else {
                return invalid_network<T>{};  // a stand-in, so that the assertion is the only error
            }
        }
    }

    /// `forward_trace` into a trace the caller owns (a workspace allocated once, so that a large
    /// network's activations need not live on the stack). In training, layers update the trace's
    /// copy of the state (`a.states`), not `p`'s: a step commits it once it has succeeded.
    template <class Mode = training_mode, class T, class X>
    static constexpr void forward_trace_into(const parameters<T>& p, const tensor<T, X>& x, trace_for<T, X>& a,
                                             random_key key = {}) {
        // Through eval/ (core/tensor.hpp's `evaluate_into`), which splits a batch-sized copy
        // between the kernel threads; nothing to copy when the caller loaded its input into the
        // trace itself.
        if (&a.input() != &x) evaluate_into(detail::fresh_destination{}, a.input(), x);
        constexpr bool training = std::is_same_v<Mode, training_mode>;
        if constexpr (training && has_state) a.states = p.states;
        a.key = key;
        const pass_context<batch_extent<X, InputShape>, Mode> ctx{key, 0};
        const auto step = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            if constexpr (fused_with_next<I>) {
                // This layer writes the next one's output too (a dense layer and its ReLU).
                layer_type<I>::template forward_activated_into<layer_type<I + 1>>(p.template layer<I>(), a.template get<I>(),
                                                                                  a.template get<I + 1>(), a.template get<I + 2>());
            } else if constexpr (!fused_with_previous<I>) {
                using L = layer_type<I>;
                using io_type = forward_io_for<L, T, shape_at<I>, typename std::remove_cvref_t<decltype(a.template get<I>())>::shape_type, Mode>;
                auto& state = [&]() -> auto& {
                    if constexpr (training)
                        return a.template state<I>();
                    else
                        return p.template state<I>();
                }();
                detail::run_forward<L>(ctx.at_layer(I), io_type{a.template get<I>(), a.template get<I + 1>(), p.template layer<I>(),
                                                                state, a.template cache<I>()});
            }
        };
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            // Left to right: a fold over the comma operator sequences the layers.
            (step(std::integral_constant<std::size_t, I>{}), ...);
        }(std::make_index_sequence<depth>{});
    }

    /// The network's output for `x` (a sample or a batch), in `Mode` (inference by default:
    /// dropout off, batch norm on its running statistics). It keeps every activation on the
    /// way, as `forward_trace` does: an inference path with two buffers is `predictor`'s.
    template <class Mode = inference_mode, class T, class X>
    static constexpr auto forward(const parameters<T>& p, const tensor<T, X>& x, random_key key = {}) {
        if constexpr (!valid)
            return invalid_network<T>{};
        else
            return forward_trace<Mode>(p, x, key).output();
    }

    /// The backward pass: from dl/d(output), the gradients of every parameter and activation,
    /// after a forward pass in `Mode` that left `a`. Generated as a reverse fold over the layers;
    /// each layer's vector-Jacobian product feeds the one before it.
    template <class Mode = training_mode, class T, class Caches, class States, class... S>
    static constexpr auto backward(const parameters<T>& p, const network_trace<activations<T, S...>, Caches, States>& a,
                                   const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput) {
        gradients_for<T, std::tuple_element_t<0, std::tuple<S...>>> g;
        backward_into<input_gradient::compute, Mode>(p, a, dl_doutput, g);
        return g;
    }

    /// `backward` into gradients the caller owns. With `input_gradient::skip`, the gradients of
    /// activations before the first layer with parameters are left as they were, and that layer
    /// is asked for its parameter gradients only (`io.wants_input_gradient` false): training
    /// never needs them.
    template <input_gradient Input = input_gradient::compute, class Mode = training_mode, class T, class Caches, class States,
              class Scratch, class... S>
    static constexpr void backward_into(const parameters<T>& p, const network_trace<activations<T, S...>, Caches, States>& a,
                                        const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput,
                                        gradients<parameters<T>, activations<T, S...>, Scratch>& g) {
        backward_steps<Input, Mode>(p, a, dl_doutput, g, no_update{});
    }

    /// The backward pass of a training step with plain SGD, the step fused in: each layer's
    /// parameters take their step p <- p - learning_rate * dl/dp as soon as the layer has computed
    /// its input gradient (from the parameters before the step), while they are still in cache.
    /// A layer that declares `sgd_step_hook` (dense) takes the step inside its weight-gradient
    /// kernel, and its parameter gradients are never stored in `g`; other layers' are. Input
    /// gradients before the first layer with parameters are skipped, as with `input_gradient::skip`.
    template <class T, class Caches, class States, class Scratch, class... S>
    static constexpr void backward_sgd_into(parameters<T>& p, const network_trace<activations<T, S...>, Caches, States>& a,
                                            const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput,
                                            gradients<parameters<T>, activations<T, S...>, Scratch>& g, T learning_rate) {
        backward_steps<input_gradient::skip, training_mode>(p, a, dl_doutput, g, sgd_update<T>{learning_rate});
    }

private:
    // Whether layer I also computes layer I + 1 in its forward pass (detail::applies_next_activation).
    template <std::size_t I>
    static constexpr bool fused_with_next = [] {
        if constexpr (I + 1 < depth)
            return detail::applies_next_activation<layer_type<I>, layer_type<I + 1>>;
        else
            return false;
    }();
    template <std::size_t I>
    static constexpr bool fused_with_previous = [] {
        if constexpr (I > 0)
            return fused_with_next<I - 1>;
        else
            return false;
    }();

    // Whether layer I computes the gradient through layer I - 1 too (detail::passes_back_through).
    template <std::size_t I>
    static constexpr bool passes_back_to_previous = [] {
        if constexpr (I > 0 && I < depth)
            return detail::passes_back_through<layer_type<I>, layer_type<I - 1>>;
        else
            return false;
    }();

    struct no_update {};
    template <class T>
    struct sgd_update {
        T learning_rate;
    };

    // The position of the first layer with parameters (`depth` if none has any).
    template <class T>
    static constexpr std::size_t first_trainable = [] {
        std::size_t first = depth;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((first = first == depth && !std::is_same_v<std::remove_cvref_t<decltype(std::declval<parameters<T>&>().template layer<I>())>,
                                                        no_parameters>
                          ? I
                          : first),
             ...);
        }(std::make_index_sequence<depth>{});
        return first;
    }();

    // The reverse fold over the layers shared by both backward passes; `Params` is const unless
    // `update` takes steps.
    template <input_gradient Input, class Mode, class Params, class T, class Caches, class States, class Scratch, class... S,
              class Update>
    static constexpr void backward_steps(Params& p, const network_trace<activations<T, S...>, Caches, States>& a,
                                         const tensor<T, std::tuple_element_t<depth, std::tuple<S...>>>& dl_doutput,
                                         gradients<parameters<T>, activations<T, S...>, Scratch>& g, Update update) {
        if (&g.activations.output() != &dl_doutput) g.activations.output() = dl_doutput;
        constexpr std::size_t first = first_trainable<T>;
        using input_type = std::tuple_element_t<0, std::tuple<S...>>;
        const pass_context<batch_extent<input_type, InputShape>, Mode> ctx{a.key, 0};
        const auto step = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using L = layer_type<I>;
            auto& layer_p = p.template layer<I>();
            auto& dl_dp = g.parameters.template layer<I>();
            const auto& x = a.template get<I>();
            const auto& y = a.template get<I + 1>();
            const auto& dl_dy = g.activations.template get<I + 1>();
            auto& dl_dx = g.activations.template get<I>();
            constexpr bool input_needed = Input == input_gradient::compute || I > first;
            // Whether this layer's step runs at all: nothing before the first layer with
            // parameters is needed for training.
            constexpr bool runs = Input == input_gradient::compute || I >= first;
            // This layer's input-gradient kernel also takes the gradient through the activation
            // before it, whose own step then has nothing left to do. (That step runs exactly when
            // this layer's input gradient is needed.)
            constexpr bool through_previous = passes_back_to_previous<I> && input_needed;
            constexpr bool done_by_next = passes_back_to_previous<I + 1> && runs;
            // The layer's own pass, told whether its input's gradient is wanted. In training the
            // state is the one the forward pass left (a.states), in inference the parameters'.
            const auto backward_pass = [&]<bool WantsInput>(std::bool_constant<WantsInput>) {
                using io_type = backward_io_for<L, T, shape_at<I>, std::tuple_element_t<I, std::tuple<S...>>, WantsInput>;
                const auto& state = [&]() -> const auto& {
                    if constexpr (std::is_same_v<Mode, training_mode>)
                        return a.template state<I>();
                    else
                        return p.template state<I>();
                }();
                detail::run_backward<L>(ctx.at_layer(I), io_type{x, y, dl_dy, layer_p, state, a.template cache<I>(), dl_dp, dl_dx,
                                                                 boost::hana::at_c<I>(g.scratch)});
            };
            // dl/dx and dl/d(the activation's input) from the weights before any step.
            const auto input_gradient_through = [&] {
                if constexpr (through_previous)
                    L::template input_gradient_through<layer_type<I - 1>>(layer_p, dl_dy, dl_dx, a.template get<I - 1>(), x,
                                                                          g.activations.template get<I - 1>());
            };
            if constexpr (!runs || done_by_next) {
                // Nothing to do here (see `runs`), or done by the layer after this one.
            } else if constexpr (std::is_same_v<Update, sgd_update<T>>) {
                // (The condition on `Update` first: clang checks `update.learning_rate` in a
                // branch discarded only by a condition on I.)
                if constexpr (declares_hook<L, sgd_step_hook>) {
                    input_gradient_through();
                    L::template backward_sgd_into<input_needed && !through_previous>(layer_p, x, y, dl_dy, update.learning_rate, dl_dx);
                } else {
                    input_gradient_through();
                    backward_pass(std::bool_constant<input_needed && !through_previous>{});
                    detail::for_each_member([lr = update.learning_rate](auto& w, const auto& dw) { w = w - lr * dw; }, layer_p, dl_dp);
                }
            } else if constexpr (through_previous) {
                input_gradient_through();
                backward_pass(std::false_type{});
            } else {
                backward_pass(std::bool_constant<input_needed>{});
            }
        };
        [&]<std::size_t... R>(std::index_sequence<R...>) {
            (step(std::integral_constant<std::size_t, depth - 1 - R>{}), ...);
        }(std::make_index_sequence<depth>{});
    }
};

namespace detail {
template <class... Layers>
struct first_input_shape {
    using type = unknown_shape;
};
template <class First, class... Rest>
    requires has_fixed_input<First>
struct first_input_shape<First, Rest...> {
    using type = typename First::input_shape;
};
}  // namespace detail

/// A network whose input shape is fixed by its first layer (`input<...>` or `dense<In, Out>`):
/// `sequential<dense<4, 3>, relu, dense<3, 2>, relu, dense<2, 1>>`.
/// Naming the network's own `type` makes it complete where `sequential<...>` is written, so that a
/// mistake in the layer list is reported at the user's `using` line rather than at its first use.
template <class... Layers>
using sequential = typename network<typename detail::first_input_shape<Layers...>::type, Layers...>::type;

}  // namespace metagrad
