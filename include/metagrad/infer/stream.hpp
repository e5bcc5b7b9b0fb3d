// metagrad::stream: a sequence network run one time step at a time, its recurrent state carried
// between calls, for real-time use (audio, control).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/activations.hpp"
#include "metagrad/core/context.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/simd.hpp"
#include "metagrad/eval/vector_math.hpp"

namespace metagrad {

/// Diagnostic vocabulary: the layer at `Position` of a network given to `stream` mixes time
/// steps (it declares no `streams_hook`), so it cannot run one step at a time.
template <std::size_t Position, class Layer>
struct layer_at_position {};
template <class What>
inline constexpr bool streams_step_by_step = false;
template <std::size_t Position, class Layer>
    requires declares_hook<Layer, streams_hook>
inline constexpr bool streams_step_by_step<layer_at_position<Position, Layer>> = true;

namespace detail {
/// Layer `L` as a stream runs it: its `streaming_form` where it has one (a recurrent layer that
/// carries its state between calls), otherwise itself.
template <class L>
struct streaming_layer {
    using type = L;
};
template <class L>
    requires requires { typename L::streaming_form; }
struct streaming_layer<L> {
    using type = typename L::streaming_form;
};

// The check lives in a class of its own, so that a failed assertion leaves the stream's types
// usable and the mistake is the one error: every layer steps (the compilers name the first that
// does not).
template <class Net, class Positions>
struct check_streaming;
template <class In, class... Layers, std::size_t... I>
struct check_streaming<network<In, Layers...>, std::index_sequence<I...>> {
    static_assert((streams_step_by_step<layer_at_position<I, Layers>> && ...),
                  "metagrad::stream: this layer mixes time steps and cannot run one step at a time");
    static constexpr bool value = true;
};

template <class Net, class Positions>
struct step_network_of;
template <class In, class... Layers, std::size_t... I>
struct step_network_of<network<In, Layers...>, std::index_sequence<I...>> {
    static_assert(In::rank == 2, "metagrad::stream: the network must take sequences, shape<T, Features>");
    using type = network<shape<1, In::last>, typename streaming_layer<Layers>::type...>;
};

/// Whether a stream runs layer `L` through its stepping form (`stepping_hook`).
template <class L, class S>
concept steps_alone = declares_hook<L, stepping_hook>;

/// A narrow float vector repeated to fill a register (element-wise functions do not mind what the
/// extra lanes hold), and the first `N` lanes of a register.
template <class V, std::size_t... I>
inline eval::simd<float> widen(V v, std::index_sequence<I...>) {
    constexpr std::size_t n = sizeof(V) / sizeof(float);
    return __builtin_shufflevector(v, v, static_cast<int>(I % n)...);
}
template <std::size_t N, std::size_t... I>
inline typename eval::narrow_floats<N>::type narrow_to(eval::simd<float> v, std::index_sequence<I...>) {
    return __builtin_shufflevector(v, v, static_cast<int>(I)...);
}

/// What a stream keeps for layer `L` on step shape `S`: its parameters (packed for stepping where
/// it steps alone) and what the voices carry (stepping) or its cache over all voices (otherwise).
/// `run(x, y)` takes one step of every voice, the voices as the rows of a batch.
template <class L, class T, class S, std::size_t Voices>
struct stream_part {
    layer_parameters<L, T, S> parameters{};
    layer_state<L, T, S> state{};
    layer_cache<L, T, S, Voices> caches{};

    void load(const layer_parameters<L, T, S>& p, const layer_state<L, T, S>& s) {
        parameters = p;
        state = s;
    }
    template <class X, class Y>
    void run(const X& x, Y& y) {
        if constexpr (requires(eval::simd<T> v) { L::template vector_value<T>(v); }) {
            // An element-wise function with a vector form, on a step's few values (8 channels
            // against 16 lanes): a run of 4 or 8 values after the whole vectors widened in
            // registers to a vector and back; otherwise eval::map_lanes (whole vectors, the last
            // one padded with zeros through memory). Lanes are independent, so both give the
            // values of the layer's own pass, bit for bit.
            constexpr std::size_t n = X::shape_type::size, w = eval::lanes<T>, whole = n - n % w, rest = n - whole;
            const auto f = [](eval::simd<T> v) { return L::template vector_value<T>(v); };
            if constexpr ((rest == 4 || rest == 8) && rest < w) {
                for (std::size_t i = 0; i < whole; i += w) eval::store(&y[i], f(eval::load(&x[i])));
                using narrow = typename eval::narrow_floats<rest>::type;
                const narrow v = eval::load_as<narrow>(&x[whole]);
                if constexpr (requires { L::template vector_value<T, narrow>(v); }) {
                    eval::store_as(&y[whole], L::template vector_value<T, narrow>(v));
                    return;
                }
                eval::store_as(&y[whole], narrow_to<rest>(f(widen(v, std::make_index_sequence<w>{})), std::make_index_sequence<rest>{}));
            } else {
                eval::map_lanes<n>(&y[0], &x[0], f);
            }
        } else {
            const pass_context<Voices, inference_mode> ctx{};
            run_forward<L>(ctx, forward_io_for<L, T, S, typename X::shape_type, inference_mode>{x, y, parameters, state, caches});
        }
    }
};
/// Whether `L` steps every voice at once (`step_voices`: the voices' products as one, each
/// loaded weight serving them all), rather than one voice after another. One voice takes `step`
/// (the same sums, bit for bit): there its products land in the step's own arrays, not in the
/// voices' buffers, and GRU 16 streamed 36 ns a sample against 40 (W6, Zen 5).
template <class L, class T, class S, std::size_t Voices>
concept steps_voices_at_once = Voices > 1 && requires { typename L::template carried_voices<T, S, Voices>; };

// What the voices carry: one `carried_voices` for them all, or a `carried` each.
template <class L, class T, class S, std::size_t Voices, bool AtOnce = steps_voices_at_once<L, T, S, Voices>>
struct carried_by_voices {
    using type = typename L::template carried<T, S>[Voices];
};
template <class L, class T, class S, std::size_t Voices>
struct carried_by_voices<L, T, S, Voices, true> {
    using type = typename L::template carried_voices<T, S, Voices>;
};

template <class L, class T, class S, std::size_t Voices>
    requires steps_alone<L, S>
struct stream_part<L, T, S, Voices> {
    static constexpr bool at_once = steps_voices_at_once<L, T, S, Voices>;
    typename L::template stepping_parameters<T, S> parameters{};
    typename carried_by_voices<L, T, S, Voices>::type caches{};

    void load(const layer_parameters<L, T, S>& p, const layer_state<L, T, S>&) { L::pack_for_stepping(p, parameters); }
    template <class X, class Y>
    void run(const X& x, Y& y) {
        if constexpr (at_once) {
            L::template step_voices<Voices>(parameters, caches, x.data.data(), y.data.data());
        } else {
            constexpr std::size_t in = X::shape_type::size / Voices, out = Y::shape_type::size / Voices;
            for (std::size_t v = 0; v < Voices; ++v) L::step(parameters, caches[v], x.data.data() + v * in, y.data.data() + v * out);
        }
    }
};

template <class Net, class T, std::size_t Voices, class Positions>
struct stream_parts_of;
template <class Net, class T, std::size_t Voices, std::size_t... I>
struct stream_parts_of<Net, T, Voices, std::index_sequence<I...>> {
    using type = boost::hana::tuple<
        stream_part<typename Net::template layer_type<I>, T, typename Net::template shape_at<I>, Voices>...>;
};
}  // namespace detail

/// `Net` (a network over sequences `shape<T, Features>`) run one time step at a time on `Voices`
/// independent streams (channels, voices), in inference mode: each recurrent layer carries its
/// hidden (and cell) state from call to call, voice by voice. A layer that declares
/// `stepping_hook` (GRU, LSTM) runs one step from parameters packed for it, the others their
/// ordinary forward pass on one step. A step runs layer by layer, the voices as the rows of a
/// batch: a recurrent layer takes every voice's products in one pass over its weights
/// (`step_voices`), each voice's values still its own stream's, bit for bit. Every buffer is a
/// member, so after construction a call allocates nothing, locks nothing and makes no system call
/// (tests/layers/sequences.cpp counts allocations). Outputs equal `Net`'s on the whole sequence at
/// run time, step by step, bit for bit: its pass takes a stream's sums (docs/design.md,
/// "Sequences"). A stream of a large network belongs on the heap.
///
///     metagrad::stream<net, float> s(p);
///     for (float sample : input) out.push_back(s.step(decltype(s)::input_type{sample})[0]);
template <class Net, class T = float, std::size_t Voices = 1>
class stream {
    static_assert(Voices > 0, "metagrad::stream: at least one voice");
    static_assert(detail::check_streaming<Net, std::make_index_sequence<Net::depth>>::value);
    using step_network_of = detail::step_network_of<Net, std::make_index_sequence<Net::depth>>;

public:
    /// The network over one time step, layers in their streaming form.
    using step_network = typename step_network_of::type;
    static constexpr std::size_t voices = Voices;
    static constexpr std::size_t features = Net::input_shape::last;
    /// Values per voice and step out.
    static constexpr std::size_t outputs = step_network::output_shape::size;
    /// What one step of every voice takes and gives (a voice's values contiguous).
    using input_type = tensor<T, shape<Voices, features>>;
    using output_type = tensor<T, shape<Voices, outputs>>;

    explicit stream(const typename Net::template parameters<T>& p) { load(p); }

    /// Takes `p` (after more training), keeping what the voices carry.
    void load(const typename Net::template parameters<T>& p) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (boost::hana::at_c<I>(parts_).load(p.template layer<I>(), p.template state<I>()), ...);
        }(std::make_index_sequence<depth>{});
    }

    /// One time step of every voice: `x` holds voice 0's features, then voice 1's, ...; the
    /// result (valid until the next call) holds each voice's outputs likewise.
    const output_type& step(const input_type& x) {
        run(x.data.data(), output_.data.data());
        return output_;
    }

    /// `steps` consecutive time steps: `in` holds `steps * Voices * features` values (step by
    /// step, each step voice by voice), `out` receives `steps * Voices * outputs`.
    void process(const T* in, T* out, std::size_t steps) {
        for (std::size_t t = 0; t < steps; ++t) run(in + t * Voices * features, out + t * Voices * outputs);
    }

    /// Starts every voice again from zeros (a new signal).
    void reset() {
        boost::hana::for_each(parts_, [](auto& part) {
            using caches = std::remove_cvref_t<decltype(part.caches)>;
            static_assert(std::is_trivially_copyable_v<caches>);
            std::memset(static_cast<void*>(&part.caches), 0, sizeof(caches));
        });
    }

private:
    static constexpr std::size_t depth = step_network::depth;

    // Layer by layer, every voice at once (the voices are the rows of a batch).
    void run(const T* in, T* out) {
        // Loops of constant bounds rather than std::copy, which calls memmove for one value.
        for (std::size_t i = 0; i < Voices * features; ++i) activations_.input()[i] = in[i];
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (boost::hana::at_c<I>(parts_).run(activations_.template get<I>(), activations_.template get<I + 1>()), ...);
        }(std::make_index_sequence<depth>{});
        for (std::size_t i = 0; i < Voices * outputs; ++i) out[i] = activations_.output()[i];
    }

    typename detail::stream_parts_of<step_network, T, Voices, std::make_index_sequence<depth>>::type parts_{};
    typename step_network::template activations_for<T, batch_of<Voices, typename step_network::input_shape>> activations_{};
    output_type output_{};
};

}  // namespace metagrad
