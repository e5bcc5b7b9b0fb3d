// metagrad::predictor: a network's parameters packed for run-time inference, with the
// activations of one forward pass.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/context.hpp"
#include "metagrad/core/layer.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/infer/inference_form.hpp"

namespace metagrad {

namespace detail {
/// Whether layer `L` has a packed form of its own (it declares `packing_hook`): a class derived
/// from dense, which may override `forward`, has not.
template <class L, class T, class S>
concept packs = declares_hook<L, packing_hook>;

/// What a predictor keeps for layer `L` on input shape `S`: the layer's packed parameters where
/// it has a packed form, otherwise its parameters as trained.
template <class L, class T, class S>
struct packed_at {
    using type = layer_parameters<L, T, S>;
};
template <class L, class T, class S>
    requires packs<L, T, S>
struct packed_at<L, T, S> {
    using type = typename L::template packed_parameters<T, S>;
};

template <class Net, class T, class Sequence>
struct packed_tuple_of;
template <class Net, class T, std::size_t... I>
struct packed_tuple_of<Net, T, std::index_sequence<I...>> {
    using type = boost::hana::tuple<
        typename packed_at<typename Net::template layer_type<I>, T, typename Net::template shape_at<I>>::type...>;
};
}  // namespace detail

/// Inference with `TrainedNet`'s parameters folded (`inference_form`: dropout left out, batch norm folded
/// into the layer before it) and repacked, once, into the layout the run-time kernels read
/// fastest for inputs of shape `X` (a sample, by default, or a batch): dense layers keep their
/// weights input-major where that avoids sums across vector lanes (`dense_packed`). It owns the
/// activations of one forward pass, so a call allocates nothing and clears nothing; it is
/// therefore not for use by two threads at once (make one per thread). Outputs agree with
/// `TrainedNet::forward` up to rounding: the sums are taken in another order. A large network's
/// predictor belongs on the heap, as its workspace does.
///
///     metagrad::predictor<net, float> predict(p);   // after training; predict.pack(p) again after more
///     const auto& y = predict(x);                    // valid until the next call
template <class TrainedNet, class T, class X = typename TrainedNet::input_shape>
class predictor {
public:
    /// The network it runs: `TrainedNet` folded for inference.
    using network_type = inference_form<TrainedNet>;
    using parameters_type = typename TrainedNet::template parameters<T>;
    using trace_type = typename network_type::template trace_for<T, X>;
    using packed_type = typename detail::packed_tuple_of<network_type, T, std::make_index_sequence<network_type::depth>>::type;

    explicit predictor(const parameters_type& p) { pack(p); }

    /// Folds and packs `p` (after more training, for instance) in place of the parameters packed
    /// before; the state of the layers kept is copied as it is.
    void pack(const parameters_type& p) {
        // Folded on the heap, once: a large network's parameters do not belong on the stack.
        // Owned by a plain new and delete: <memory> would cost every program that includes this
        // header about 0.3 s of parsing.
        using folded_type = typename network_type::template parameters<T>;
        struct owner {
            folded_type* value = new folded_type();
            owner() = default;
            owner(const owner&) = delete;
            owner& operator=(const owner&) = delete;
            ~owner() { delete value; }
        };
        const owner folded;
        fold_for_inference(p, *folded.value);
        states_ = folded.value->states;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (pack_layer<I>(folded.value->template layer<I>(), boost::hana::at_c<I>(packed_)), ...);
        }(std::make_index_sequence<network_type::depth>{});
    }

    /// The network's output for `x`, a reference into this predictor valid until the next call.
    const auto& operator()(const tensor<T, X>& x) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (forward_layer<I>(x), ...);  // left to right
        }(std::make_index_sequence<network_type::depth>{});
        return trace_.output();
    }

    /// The packed parameters (for inspection and tests).
    const packed_type& packed() const { return packed_; }

private:
    using Net = network_type;

    template <std::size_t I, class P, class Q>
    static void pack_layer(const P& p, Q& q) {
        using L = typename Net::template layer_type<I>;
        if constexpr (detail::packs<L, T, typename Net::template shape_at<I>>)
            L::pack(p, q);
        else
            q = p;
    }

    template <std::size_t I>
    void forward_layer(const tensor<T, X>& x) {
        using L = typename Net::template layer_type<I>;
        const auto& q = boost::hana::at_c<I>(packed_);
        // The first layer reads the caller's input where it lies: nothing is copied.
        const auto& in = [&]() -> const auto& {
            if constexpr (I == 0)
                return x;
            else
                return trace_.template get<I>();
        }();
        auto& out = trace_.template get<I + 1>();
        using S = typename Net::template shape_at<I>;
        if constexpr (detail::packs<L, T, S>) {
            L::packed_forward_into(q, in, out);
        } else {
            using io_type = forward_io_for<L, T, S, typename std::remove_cvref_t<decltype(in)>::shape_type, inference_mode>;
            const pass_context<batch_extent<X, typename Net::input_shape>, inference_mode> ctx{{}, I};
            detail::run_forward<L>(ctx, io_type{in, out, q, boost::hana::at_c<I>(states_), trace_.template cache<I>()});
        }
    }

    packed_type packed_{};
    typename Net::template state_tuple<T> states_{};
    trace_type trace_{};
};

}  // namespace metagrad
