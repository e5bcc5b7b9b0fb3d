// metagrad::layer_state, layer_cache, hooks and the passes' dispatch: every optional member of a
// layer, with its default, looked up in this one place.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/core/context.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

namespace detail {
template <class L, class T, class S>
struct parameters_of_layer {
    using type = no_parameters;
};
template <class L, class T, class S>
    requires requires { typename L::template parameters<T, S>; }
struct parameters_of_layer<L, T, S> {
    using type = typename L::template parameters<T, S>;
};

template <class L, class T, class S>
struct state_of {
    using type = no_state;
};
template <class L, class T, class S>
    requires requires { typename L::template state<T, S>; }
struct state_of<L, T, S> {
    using type = typename L::template state<T, S>;
};

template <class L, class T, class S, std::size_t B>
struct cache_of {
    using type = no_cache;
};
template <class L, class T, class S, std::size_t B>
    requires requires { typename L::template cache<T, S, B>; }
struct cache_of<L, T, S, B> {
    using type = typename L::template cache<T, S, B>;
};

template <class L, class T, class S, std::size_t B>
struct scratch_of {
    using type = no_cache;
};
template <class L, class T, class S, std::size_t B>
    requires requires { typename L::template scratch<T, S, B>; }
struct scratch_of<L, T, S, B> {
    using type = typename L::template scratch<T, S, B>;
};
}  // namespace detail

/// Layer `L`'s trained parameters for sample shape `S`: `L::parameters<T, S>`, or `no_parameters`.
/// A described struct (`fields`, core/fields.hpp); optimizers step them, checkpoints save them.
template <class L, class T, class S>
using layer_parameters = typename detail::parameters_of_layer<L, T, S>::type;

/// Layer `L`'s state for sample shape `S`: `L::state<T, S>`, or `no_state`. Untrained values
/// carried from step to step and saved in checkpoints (batch norm's running statistics); a
/// described struct (`fields`, core/fields.hpp), as parameters are.
template <class L, class T, class S>
using layer_state = typename detail::state_of<L, T, S>::type;

/// Layer `L`'s cache for a pass over `B` samples of shape `S`: `L::cache<T, S, B>`, or
/// `no_cache`. What its forward pass keeps for its backward pass; it lives in the workspace.
template <class L, class T, class S, std::size_t B>
using layer_cache = typename detail::cache_of<L, T, S, B>::type;

/// Layer `L`'s scratch for the backward pass over `B` samples of shape `S`: `L::scratch<T, S, B>`,
/// or `no_cache`. Buffers the backward pass writes for itself (a chain's gradients between its
/// layers); it lives with the gradients, in the workspace, as the cache lives with the trace.
template <class L, class T, class S, std::size_t B>
using layer_scratch = typename detail::scratch_of<L, T, S, B>::type;

/// Layer `L`'s name in summaries: `L::name`, or "layer".
template <class L>
inline constexpr std::string_view layer_name = [] {
    if constexpr (requires { std::string_view(L::name); })
        return std::string_view(L::name);
    else
        return std::string_view("layer");
}();

/// The floating-point operations of `L`'s forward pass on one sample of shape `S`: `L::flops<S>`,
/// or one per output element (an element-wise layer).
template <class L, class S>
inline constexpr std::size_t layer_flops = [] {
    if constexpr (requires { std::size_t(L::template flops<S>); })
        return std::size_t(L::template flops<S>);
    else
        return L::template output_shape<S>::size;
}();

/// The io types the network makes for layer `L` on `B` samples of shape `S` (input tensors of
/// shape `X`): in training the state is writable, in inference it is read only.
template <class L, class T, class S, class X, class Mode>
using forward_io_for =
    forward_io<T, S, X, with_batch_of_shape<X, S, typename L::template output_shape<S>>, layer_parameters<L, T, S>,
               std::conditional_t<std::is_same_v<Mode, training_mode>, layer_state<L, T, S>, const layer_state<L, T, S>>,
               layer_cache<L, T, S, batch_extent<X, S>>>;
template <class L, class T, class S, class X, bool InputGradient>
using backward_io_for = backward_io<T, S, X, with_batch_of_shape<X, S, typename L::template output_shape<S>>,
                                    layer_parameters<L, T, S>, layer_state<L, T, S>, layer_cache<L, T, S, batch_extent<X, S>>,
                                    layer_scratch<L, T, S, batch_extent<X, S>>, InputGradient>;

namespace detail {
/// Whether `L` has the io form of a pass, `forward(ctx, io)` / `backward(ctx, io)`, for these
/// types. A class derived from a layer that overrides the value-returning form hides the io form
/// it inherits (the name is the same), so its own pass is the one found.
template <class L, class Ctx, class IO>
concept forward_in_io_form = requires(const Ctx& ctx, const IO& io) { L::forward(ctx, io); };
template <class L, class Ctx, class IO>
concept backward_in_io_form = requires(const Ctx& ctx, const IO& io) { L::backward(ctx, io); };

/// The value-returning shorthand, `forward(p, x)` and `backward(p, x, y, dl_dy, dl_dp)`, for a
/// layer that needs neither state, cache nor context.
template <class L, class IO>
concept forward_in_short_form = requires(const IO& io) {
    { L::forward(io.parameters, io.x) } -> std::same_as<std::remove_cvref_t<decltype(io.y)>>;
};
template <class L, class IO>
concept backward_in_short_form = requires(const IO& io) {
    { L::backward(io.parameters, io.x, io.y, io.dl_dy, io.dl_dparameters) } -> std::same_as<std::remove_cvref_t<decltype(io.dl_dx)>>;
};

/// Runs layer `L`'s forward pass in whichever form it has (the io form first).
template <class L, class Ctx, class IO>
constexpr void run_forward(const Ctx& ctx, const IO& io) {
    if constexpr (forward_in_io_form<L, Ctx, IO>)
        L::forward(ctx, io);
    else
        io.y = L::forward(io.parameters, io.x);
}
/// Runs layer `L`'s backward pass in whichever form it has. The shorthand always computes dl/dx.
template <class L, class Ctx, class IO>
constexpr void run_backward(const Ctx& ctx, const IO& io) {
    if constexpr (backward_in_io_form<L, Ctx, IO>)
        L::backward(ctx, io);
    else
        io.dl_dx = L::backward(io.parameters, io.x, io.y, io.dl_dy, io.dl_dparameters);
}

/// Whether `L`'s passes exist, in either form, on one sample of shape `S` (what `layer_for` asks).
template <class L, class T, class S>
concept passes_exist =
    (forward_in_io_form<L, pass_context<1, training_mode>, forward_io_for<L, T, S, S, training_mode>> ||
     forward_in_short_form<L, forward_io_for<L, T, S, S, training_mode>>) &&
    (backward_in_io_form<L, pass_context<1, training_mode>, backward_io_for<L, T, S, S, true>> ||
     backward_in_short_form<L, backward_io_for<L, T, S, S, true>>);
}  // namespace detail

/// The optional passes a layer provides, declared by the layer itself:
///
///     using provides = metagrad::hooks<my_layer, metagrad::packing_hook>;
///
/// A hook is used only when declared (a misspelled or undeclared member is never looked for, so
/// never silently skipped), and a declared hook is checked against its expected signature on the
/// shape the layer receives: where it does not match, the network's one error names the layer,
/// its position and the hook. The first argument names the layer, so a class derived from it
/// (which may override its passes) declares nothing until it says so itself.
template <class Layer, class... Hooks>
struct hooks {
    using layer = Layer;
};

namespace detail {
template <class Hooks, class Hook>
inline constexpr bool lists_hook = false;
template <class Layer, class... Hooks, class Hook>
inline constexpr bool lists_hook<hooks<Layer, Hooks...>, Hook> = (std::is_same_v<Hooks, Hook> || ...);

/// An activation for checking the fusion hooks' signatures: functions of any argument type.
struct probe_activation {
    template <class V>
    static constexpr V value(V x) {
        return x;
    }
    template <class V>
    static constexpr V derivative(V x, V) {
        return x;
    }
};
}  // namespace detail

/// Whether layer `L` itself declares hook `Hook` (see `hooks`).
template <class L, class Hook>
concept declares_hook = requires { typename L::provides::layer; } && std::is_same_v<typename L::provides::layer, L> &&
                        detail::lists_hook<typename L::provides, Hook>;

// The hooks of the run-time passes (eval/'s fusions and packing). Each says what it is and checks
// a layer's members on the sample shape `S` the layer receives.

/// An element-wise activation whose `value(x)` and `derivative(x, y)` are written with operators
/// alone, so they work on SIMD vectors: a layer with `activation_after_hook` may apply it in its
/// kernel's epilogue.
struct vector_maths_hook {
    static constexpr std::string_view name = "vector_maths_hook";
    template <class L, class S>
    static constexpr bool works_for = requires(float v) {
        { L::value(v) } -> std::same_as<float>;
        { L::derivative(v, v) } -> std::same_as<float>;
    };
};

/// `forward_activated_into<F>(p, x, z, h)`: the forward pass and the activation `F` (a
/// `vector_maths_hook` layer) after it, into z and h = F(z), in one kernel.
struct activation_after_hook {
    static constexpr std::string_view name = "activation_after_hook";
    template <class L, class S>
    static constexpr bool works_for = requires(const layer_parameters<L, float, S>& p, const tensor<float, S>& x,
                                               tensor<float, typename L::template output_shape<S>>& z) {
        L::template forward_activated_into<detail::probe_activation>(p, x, z, z);
    };
};

/// `input_gradient_through<F>(p, dl_dy, dl_dx, z, x, dl_dz)`: dl/dx and the gradient through the
/// activation `F` before the layer (x = F(z)), in one kernel.
struct gradient_through_activation_hook {
    static constexpr std::string_view name = "gradient_through_activation_hook";
    template <class L, class S>
    static constexpr bool works_for = requires(const layer_parameters<L, float, S>& p, tensor<float, S>& x,
                                               const tensor<float, typename L::template output_shape<S>>& dl_dy) {
        L::template input_gradient_through<detail::probe_activation>(p, dl_dy, x, x, x, x);
    };
};

/// `backward_sgd_into<InputGradient>(p, x, y, dl_dy, learning_rate, dl_dx)`: the backward pass
/// with plain SGD's step taken inside it, the parameter gradients never stored.
struct sgd_step_hook {
    static constexpr std::string_view name = "sgd_step_hook";
    template <class L, class S>
    static constexpr bool works_for = requires(layer_parameters<L, float, S>& p, tensor<float, S>& x,
                                               const tensor<float, typename L::template output_shape<S>>& y) {
        L::template backward_sgd_into<true>(p, x, y, y, 1.0f, x);
    };
};

/// `packed_parameters<T, S>`, `pack(p, packed)` and `packed_forward_into(packed, x, y)`: the
/// parameters laid out for inference (`predictor`), and the forward pass from them.
struct packing_hook {
    static constexpr std::string_view name = "packing_hook";
    template <class L, class S>
    static constexpr bool works_for = requires { typename L::template packed_parameters<float, S>; } &&
                                      requires(const layer_parameters<L, float, S>& p,
                                               typename L::template packed_parameters<float, S>& q, const tensor<float, S>& x,
                                               tensor<float, typename L::template output_shape<S>>& y) {
                                          L::pack(p, q);
                                          L::packed_forward_into(q, x, y);
                                      };
};

// The hooks of the inference form (infer/inference_form.hpp): what a layer becomes when the
// network is folded for inference.

/// The layer is the identity in inference (dropout, augmentation): the inference form leaves it
/// out. It must give its input's shape.
struct identity_in_inference_hook {
    static constexpr std::string_view name = "identity_in_inference_hook";
    template <class L, class S>
    static constexpr bool works_for = std::is_same_v<typename L::template output_shape<S>, S>;
};

/// In inference the layer is y = scale * x + shift per feature (the last axis), with
/// `inference_scale_and_shift(p, state, scale, shift)` giving them (batch norm with its running
/// statistics): the inference form folds it into a layer before it that absorbs it.
struct scale_and_shift_in_inference_hook {
    static constexpr std::string_view name = "scale_and_shift_in_inference_hook";
    template <class L, class S>
    static constexpr bool works_for = requires(const layer_parameters<L, float, S>& p, const layer_state<L, float, S>& state,
                                               vector<float, S::last>& v) { L::inference_scale_and_shift(p, state, v, v); };
};

/// Each output feature (the last axis) of the layer is linear in its parameters' rows: followed by
/// a per-feature scale and shift it becomes `absorbed_scale_and_shift` (the same layer with a
/// bias, where it had none), whose parameters `absorb_scale_and_shift(p, scale, shift, folded)`
/// writes: weight rows times scale, bias times scale plus shift. (Dense, convolutions.)
struct absorbs_scale_and_shift_hook {
    static constexpr std::string_view name = "absorbs_scale_and_shift_hook";
    template <class L, class S>
    static constexpr bool works_for = requires { typename L::absorbed_scale_and_shift; } &&
                                      requires(const layer_parameters<L, float, S>& p,
                                               const vector<float, L::template output_shape<S>::last>& v,
                                               layer_parameters<typename L::absorbed_scale_and_shift, float, S>& folded) {
                                          L::absorb_scale_and_shift(p, v, v, folded);
                                      };
};

/// The layer runs sub-layers side by side on its own input and combines their outputs (a
/// residual block's body and projection, `parallel`'s branches): `branch_types` lists them (a
/// std::tuple), `with_branches<B...>` is the same layer over other branches, and
/// `branch_part<I>(parts)` is branch I's part of the layer's parameters or state. The inference
/// form folds each branch on its own.
struct branches_hook {
    static constexpr std::string_view name = "branches_hook";
    template <class L, class S>
    static constexpr bool works_for =
        requires { typename L::branch_types; } &&
        requires(layer_parameters<L, float, S>& p, layer_state<L, float, S>& state) {
            L::template branch_part<0>(p);
            L::template branch_part<0>(state);
        };
};

// The hook of streaming (infer/stream.hpp): what may run one time step at a time.

/// The layer's output at a time step (a row of a sequence `<T, Features>`) depends on that
/// step's input alone (dense per step, element-wise and row-wise layers), or on earlier steps
/// through state it carries in its cache between calls: such a layer names the form that carries
/// it, `streaming_form` (a recurrent layer's `stateful` form, a causal convolution's). A layer
/// that mixes steps otherwise (pooling or a centred convolution over time) cannot stream.
struct streams_hook {
    static constexpr std::string_view name = "streams_hook";
    template <class L, class S>
    static constexpr bool works_for = true;
};

/// One time step of one stream, from parameters laid out for it (what `stream` runs for a layer
/// that declares it; others run their ordinary forward pass on one step): `stepping_parameters<T,
/// S>` and `pack_for_stepping(p, packed)`, what one stream carries from step to step,
/// `carried<T, S>` (zeros to start), and `step(packed, carried, x, y)`, from the step's `S::last`
/// inputs at `x` to its outputs at `y`.
struct stepping_hook {
    static constexpr std::string_view name = "stepping_hook";
    template <class L, class S>
    static constexpr bool works_for =
        requires { typename L::template stepping_parameters<float, S>; typename L::template carried<float, S>; } &&
        requires(const layer_parameters<L, float, S>& p, typename L::template stepping_parameters<float, S>& q,
                 typename L::template carried<float, S>& c, const float* x, float* y) {
            L::pack_for_stepping(p, q);
            L::step(q, c, x, y);
        };
};

// The hook of ONNX export (io/onnx_graph.hpp): what the layer is as nodes of an ONNX graph.

/// The axis order of a value in an exported graph: metagrad's own, features last (`N x H x W x
/// C`), or ONNX's for convolutions, pooling and batch norm on images, channels first (`N x C x H
/// x W`). The exporter inserts the transposes between them.
enum class onnx_layout { channels_last, channels_first };

namespace detail {
/// Stands in for `onnx_graph` when `onnx_hook` is checked, so that this header and the layers'
/// need none of export's.
class onnx_graph_probe;
}  // namespace detail

/// `to_onnx<S>(graph)`: the layer's inference pass on samples of shape `S`, written as ONNX nodes
/// into `graph` (an `onnx_graph`, io/onnx_graph.hpp, taken as a template parameter `G&` so that a
/// layer's header includes nothing of export). Layers that are the identity in inference
/// (`identity_in_inference_hook`) need none: export leaves them out.
struct onnx_hook {
    static constexpr std::string_view name = "onnx_hook";
    template <class L, class S>
    static constexpr bool works_for = requires(detail::onnx_graph_probe& g) { L::template to_onnx<S>(g); };
};

/// Whether every hook `L` declares works on shape `S`; `first_broken_hook` names the first that
/// does not (void when all do).
namespace detail {
template <class L, class S, class Hooks>
struct first_broken_in {
    using type = void;
};
template <class L, class S, class Layer, class Hook, class... Rest>
struct first_broken_in<L, S, hooks<Layer, Hook, Rest...>> {
    using type = std::conditional_t<Hook::template works_for<L, S>, typename first_broken_in<L, S, hooks<Layer, Rest...>>::type, Hook>;
};
template <class L, class S>
struct first_broken_hook {
    using type = void;
};
template <class L, class S>
    requires requires { typename L::provides::layer; } && std::is_same_v<typename L::provides::layer, L>
struct first_broken_hook<L, S> {
    using type = typename first_broken_in<L, S, typename L::provides>::type;
};
}  // namespace detail

}  // namespace metagrad
