// metagrad::stream: a sequence network run one time step at a time, its recurrent state carried
// between calls, for real-time use (audio, control).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>

#include "metagrad/core/context.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

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

template <std::size_t Position, class L>
struct check_streams {
    static_assert(streams_step_by_step<layer_at_position<Position, L>>,
                  "metagrad::stream: this layer mixes time steps and cannot run one step at a time");
    static constexpr bool value = true;
};

template <class Net, class Positions>
struct step_network_of;
template <class In, class... Layers, std::size_t... I>
struct step_network_of<network<In, Layers...>, std::index_sequence<I...>> {
    static_assert(In::rank == 2, "metagrad::stream: the network must take sequences, shape<T, Features>");
    static constexpr bool checked = (check_streams<I, Layers>::value && ...);
    using type = network<shape<1, In::last>, typename streaming_layer<Layers>::type...>;
};
}  // namespace detail

/// `Net` (a network over sequences `shape<T, Features>`) run one time step at a time on `Voices`
/// independent streams (channels, voices), in inference mode: each recurrent layer carries its
/// hidden (and cell) state from call to call, voice by voice, in the stream's own buffers.
/// Every buffer is a member, so after construction a call allocates nothing, locks nothing and
/// makes no system call (tests/infer/stream.cpp counts allocations). Outputs equal `Net`'s on the
/// whole sequence, step by step, to rounding. A stream of a large network belongs on the heap.
///
///     metagrad::stream<net, float> s(p);
///     for (float sample : input) out.push_back(s.step(metagrad::vector<float, 1>{sample})[0]);
template <class Net, class T = float, std::size_t Voices = 1>
class stream {
    static_assert(Voices > 0, "metagrad::stream: at least one voice");
    using step_network_of = detail::step_network_of<Net, std::make_index_sequence<Net::depth>>;
    static_assert(step_network_of::checked);

public:
    /// The network over one time step, recurrent layers in their stateful form.
    using step_network = typename step_network_of::type;
    static constexpr std::size_t voices = Voices;
    static constexpr std::size_t features = Net::input_shape::last;
    /// Values per voice and step out.
    static constexpr std::size_t outputs = step_network::output_shape::size;
    /// What one step of every voice takes and gives (a voice's values contiguous).
    using input_type = tensor<T, shape<Voices, features>>;
    using output_type = tensor<T, shape<Voices, outputs>>;

    explicit stream(const typename Net::template parameters<T>& p) { load(p); }

    /// Takes `p` (after more training), keeping the carried state.
    void load(const typename Net::template parameters<T>& p) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((parameters_.template layer<I>() = p.template layer<I>(), parameters_.template state<I>() = p.template state<I>()), ...);
        }(std::make_index_sequence<Net::depth>{});
    }

    /// One time step of every voice: `x` holds voice 0's features, then voice 1's, ...; the
    /// result (valid until the next call) holds each voice's outputs likewise.
    const output_type& step(const input_type& x) {
        std::copy(x.data.begin(), x.data.end(), trace_.input().data.begin());
        run();
        std::copy(trace_.output().data.begin(), trace_.output().data.end(), output_.data.begin());
        return output_;
    }

    /// `steps` consecutive time steps: `in` holds `steps * Voices * features` values (step by
    /// step, each step voice by voice), `out` receives `steps * Voices * outputs`.
    void process(const T* in, T* out, std::size_t steps) {
        for (std::size_t t = 0; t < steps; ++t) {
            std::copy(in + t * Voices * features, in + (t + 1) * Voices * features, trace_.input().data.begin());
            run();
            std::copy(trace_.output().data.begin(), trace_.output().data.end(), out + t * Voices * outputs);
        }
    }

    /// Starts every voice again from zero state (a new signal).
    void reset() {
        using caches = decltype(trace_.caches);
        static_assert(std::is_trivially_copyable_v<caches>);
        std::memset(static_cast<void*>(&trace_.caches), 0, sizeof(caches));
    }

private:
    using step_input = std::conditional_t<Voices == 1, shape<1, features>, shape<Voices, 1, features>>;

    void run() { step_network::template forward_trace_into<inference_mode>(parameters_, trace_.input(), trace_); }

    typename step_network::template parameters<T> parameters_{};
    typename step_network::template trace_for<T, step_input> trace_{};
    output_type output_{};
};

}  // namespace metagrad
