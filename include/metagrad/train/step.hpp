// metagrad::value_and_gradient and metagrad::train_step: one forward, loss, backward (and update).
#pragma once

#include <type_traits>

#include "metagrad/core/context.hpp"
#include "metagrad/core/network.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/losses/loss.hpp"
#include "metagrad/optim/sgd.hpp"
#include "metagrad/train/workspace.hpp"

namespace metagrad {

/// Diagnostic vocabulary: an optimizer and the parameters it was asked to update.
template <class Optimizer>
struct optimizer_of {};
template <class Parameters>
struct parameters_of {};

/// True when the optimizer can update these parameters (it was made for this network and element
/// type, or works for any, as `sgd<T>` does).
template <class Optimizer, class Parameters>
inline constexpr bool optimizer_takes = false;
template <class Optimizer, class Parameters>
    requires requires(Optimizer& o, Parameters& p, const Parameters& g) { o.step(p, g); }
inline constexpr bool optimizer_takes<optimizer_of<Optimizer>, parameters_of<Parameters>> = true;

/// A loss value with the gradients of every parameter, and the layers' state after the pass
/// (batch norm's running statistics: what a step commits).
template <class T, class Parameters>
struct loss_and_gradient {
    T loss{};
    Parameters gradient{};
    typename Parameters::state_tuple_type state{};
};

/// The loss of `p` on input `x` (sample or batch) and target `y`, and its gradient with respect
/// to every parameter: forward (in training mode, random numbers keyed by `key`), loss,
/// backward. Constexpr; no heap.
template <class Net, class T, class X, class Y, class Loss>
constexpr auto value_and_gradient(const network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y,
                                  Loss, random_key key = {}) {
    const auto trace = Net::forward_trace(p, x, key);
    using output = std::remove_cvref_t<decltype(trace.output())>;
    using result = loss_and_gradient<T, network_parameters<Net, T>>;
    // The type given as the loss lacks value(prediction, target) or gradient(prediction, target).
    static_assert(loss_for<Loss, T, typename output::shape_type>,
                  "metagrad: a loss must provide value(prediction, target) and gradient(prediction, target)");
    if constexpr (loss_for<Loss, T, typename output::shape_type>) {
        const T loss = Loss::value(trace.output(), y);
        const output dl_doutput = Loss::gradient(trace.output(), y);
        return result{loss, Net::backward(p, trace, dl_doutput).parameters, trace.states};
    } else {
        return result{};
    }
}

/// One training step on a sample or a batch: computes the loss and gradients, lets the optimizer
/// update `p`, commits the layers' new state, and returns the loss before the update.
/// Constexpr; no heap. A network that draws random numbers (dropout) needs a `key` whose step
/// changes from step to step; the workspace step below counts it itself.
template <class Net, class T, class X, class Y, class Loss, class Optimizer>
constexpr T train_step(network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y, Loss loss,
                       Optimizer& optimizer, random_key key = {}) {
    // The optimizer was made for another network's (or element type's) parameters.
    static_assert(optimizer_takes<optimizer_of<Optimizer>, parameters_of<network_parameters<Net, T>>>,
                  "metagrad::train_step: the optimizer must be made for the parameters it updates");
    const auto [value, gradient, state] = value_and_gradient(p, x, y, loss, key);
    if constexpr (optimizer_takes<optimizer_of<Optimizer>, parameters_of<network_parameters<Net, T>>>)
        optimizer.step(p, gradient);
    if constexpr (Net::has_state) p.states = state;
    return value;
}

namespace detail {
/// A check that checks nothing: the unguarded steps' hooks, inlined away.
struct no_check {
    template <class... A>
    constexpr void operator()(const A&...) const {}
};

/// The forward pass into `ws`, the loss with dl/d(output) written straight into the workspace
/// (where the backward pass keeps it), `check_loss(loss)` (which may throw: then nothing has been
/// updated), then `backward(dl_doutput)`; returns the loss. The part shared by the workspace step
/// with a separate update and the one with SGD fused in.
template <class Net, class T, class X, class Y, class Loss, class Backward, class CheckLoss = no_check>
constexpr T forward_loss_backward(const network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y,
                                  workspace<Net, T, X>& ws, Backward backward, CheckLoss check_loss = {}) {
    Net::forward_trace_into(p, x, ws.trace, ws.key);
    using output = std::remove_cvref_t<decltype(ws.trace.output())>;
    // The type given as the loss lacks value(prediction, target) or gradient(prediction, target).
    static_assert(loss_for<Loss, T, typename output::shape_type>,
                  "metagrad: a loss must provide value(prediction, target) and gradient(prediction, target)");
    if constexpr (loss_for<Loss, T, typename output::shape_type>) {
        auto& dl_doutput = ws.gradient.activations.output();
        const T loss = loss_value_and_gradient<Loss>(ws.trace.output(), y, dl_doutput);
        check_loss(loss);
        backward(dl_doutput);
        return loss;
    } else {
        return T{};
    }
}
}  // namespace detail

/// Whether a workspace step with `Optimizer` keeps the parameter gradients in the workspace
/// (`ws.gradient.parameters`): every optimizer but plain `sgd`, whose step is fused into the
/// backward pass.
template <class Optimizer, class T>
inline constexpr bool step_keeps_gradients = !std::is_same_v<Optimizer, sgd<T>>;

/// The loss of `p` on `x` and `y`, with every gradient written into `ws` (parameter gradients
/// in `ws.gradient.parameters`, the forward activations in `ws.trace`). Nothing is returned by
/// value but the loss, so the step's memory is the workspace's; the input's gradient is not
/// computed.
template <class Net, class T, class X, class Y, class Loss>
constexpr T value_and_gradient(const network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y, Loss,
                               workspace<Net, T, X>& ws) {
    return detail::forward_loss_backward<Net, T, X, Y, Loss>(p, x, y, ws, [&](const auto& dl_doutput) {
        Net::template backward_into<input_gradient::skip>(p, ws.trace, dl_doutput, ws.gradient);
    });
}

namespace detail {
/// The workspace step with two hooks that may throw, each before anything is updated:
/// `check_loss(loss)` after the loss, and `check_gradients(ws.gradient.parameters)` after the
/// backward pass where the step keeps the gradients (`step_keeps_gradients`). `train_epoch`
/// checks finiteness through them; `train_step` passes checks that do nothing. After the update
/// the layers' new state is committed to `p` and the key counts one step on.
template <class Net, class T, class X, class Y, class Loss, class Optimizer, class CheckLoss, class CheckGradients>
constexpr T guarded_train_step(network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y, Loss,
                               Optimizer& optimizer, workspace<Net, T, X>& ws, CheckLoss check_loss,
                               CheckGradients check_gradients) {
    // The optimizer was made for another network's (or element type's) parameters.
    static_assert(optimizer_takes<optimizer_of<Optimizer>, parameters_of<network_parameters<Net, T>>>,
                  "metagrad::train_step: the optimizer must be made for the parameters it updates");
    T value{};
    if constexpr (!step_keeps_gradients<Optimizer, T>) {
        value = forward_loss_backward<Net, T, X, Y, Loss>(
            p, x, y, ws,
            [&](const auto& dl_doutput) {
                Net::backward_sgd_into(p, ws.trace, dl_doutput, ws.gradient, optimizer.learning_rate);
            },
            check_loss);
    } else {
        value = forward_loss_backward<Net, T, X, Y, Loss>(
            p, x, y, ws,
            [&](const auto& dl_doutput) {
                Net::template backward_into<input_gradient::skip>(p, ws.trace, dl_doutput, ws.gradient);
            },
            check_loss);
        check_gradients(ws.gradient.parameters);
        if constexpr (optimizer_takes<optimizer_of<Optimizer>, parameters_of<network_parameters<Net, T>>>)
            optimizer.step(p, ws.gradient.parameters);
    }
    if constexpr (Net::has_state) p.states = ws.trace.states;
    ++ws.key.step;
    return value;
}
}  // namespace detail

/// One training step using workspace `ws`: no allocation, and nothing large on the stack. With
/// plain `sgd`, each layer takes its step during the backward pass, inside the kernel that sums
/// its weight gradient where it can (`Net::backward_sgd_into`): one pass over the weights is
/// saved, and those layers' gradients are not kept in `ws`. The result is that of the separate
/// update up to one rounding per weight (the step is a fused multiply-add, or not, as the
/// compiler contracts each loop).
template <class Net, class T, class X, class Y, class Loss, class Optimizer>
constexpr T train_step(network_parameters<Net, T>& p, const tensor<T, X>& x, const tensor<T, Y>& y, Loss loss,
                       Optimizer& optimizer, workspace<Net, T, X>& ws) {
    return detail::guarded_train_step(p, x, y, loss, optimizer, ws, detail::no_check{}, detail::no_check{});
}

}  // namespace metagrad
