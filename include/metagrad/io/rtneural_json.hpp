// metagrad::load_rtneural_json: a network's parameters from the JSON model files RTNeural's exporters write.
#pragma once

// Opt-in, like dist/mpi.hpp: the one header that needs a JSON library (Debian's
// nlohmann-json3-dev; CMake's find_package(nlohmann_json)), so metagrad.hpp leaves it out.
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ratio>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "metagrad/core/network.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/io/error.hpp"
#include "metagrad/io/input_file.hpp"
#include "metagrad/io/read_limit.hpp"
#include "metagrad/layers/causal_conv1d.hpp"
#include "metagrad/layers/dense.hpp"
#include "metagrad/layers/elu.hpp"
#include "metagrad/layers/gru.hpp"
#include "metagrad/layers/identity.hpp"
#include "metagrad/layers/lstm.hpp"
#include "metagrad/layers/per_step.hpp"
#include "metagrad/layers/relu.hpp"
#include "metagrad/layers/sigmoid.hpp"
#include "metagrad/layers/softmax.hpp"
#include "metagrad/layers/tanh.hpp"

namespace metagrad {

namespace detail {
/// What a layer of the network is in RTNeural's format (docs/rtneural.md).
enum class rtneural_kind { input, dense, gru, lstm, conv1d, activation, none };

template <class L>
struct rtneural_layer {
    static constexpr rtneural_kind kind = rtneural_kind::none;
};
template <std::size_t... E>
struct rtneural_layer<input<E...>> {
    static constexpr rtneural_kind kind = rtneural_kind::input;
};
template <std::size_t... Sizes>
struct rtneural_layer<dense<Sizes...>> {
    static constexpr rtneural_kind kind = rtneural_kind::dense;
};
template <std::size_t... Sizes>
struct rtneural_layer<per_step<dense<Sizes...>>> {
    static constexpr rtneural_kind kind = rtneural_kind::dense;
};
template <std::size_t Hidden, class... Options>
struct rtneural_layer<recurrent<gru_cell, Hidden, Options...>> {
    static constexpr rtneural_kind kind = rtneural_kind::gru;
};
template <std::size_t Hidden, class... Options>
struct rtneural_layer<recurrent<lstm_cell, Hidden, Options...>> {
    static constexpr rtneural_kind kind = rtneural_kind::lstm;
};
template <std::size_t Out, class... Options>
struct rtneural_layer<causal_conv1d<Out, Options...>> {
    static constexpr rtneural_kind kind = rtneural_kind::conv1d;
};
/// The activations RTNeural's loader makes, under the names its files give them.
template <std::string_view const& Name>
struct rtneural_activation {
    static constexpr rtneural_kind kind = rtneural_kind::activation;
    static constexpr std::string_view activation = Name;
};
inline constexpr std::string_view rtneural_tanh = "tanh", rtneural_relu = "relu", rtneural_sigmoid = "sigmoid",
                                  rtneural_softmax = "softmax", rtneural_elu = "elu";
template <>
struct rtneural_layer<tanh_layer> : rtneural_activation<rtneural_tanh> {};
template <>
struct rtneural_layer<relu> : rtneural_activation<rtneural_relu> {};
template <>
struct rtneural_layer<sigmoid> : rtneural_activation<rtneural_sigmoid> {};
template <>
struct rtneural_layer<softmax> : rtneural_activation<rtneural_softmax> {};
// Keras's and RTNeural's ELU: alpha 1.
template <class Alpha>
    requires(Alpha::num == Alpha::den)
struct rtneural_layer<elu<Alpha>> : rtneural_activation<rtneural_elu> {};
}  // namespace detail

/// Whether layer `Layer`, at position `Position` of a network, has a counterpart in RTNeural's
/// JSON format: `input<...>` (first only), `dense` and `per_step<dense>`, `gru`, `lstm`,
/// `causal_conv1d`, and the activations `tanh_layer`, `relu`, `sigmoid`, `softmax`, `elu` (alpha 1).
template <std::size_t Position, class Layer>
inline constexpr bool rtneural_json_holds =
    detail::rtneural_layer<Layer>::kind != detail::rtneural_kind::none &&
    (detail::rtneural_layer<Layer>::kind != detail::rtneural_kind::input || Position == 0);

namespace detail {
// One layer per check, so that the compiler names the position and the layer that fail.
template <std::size_t Position, class Layer>
struct check_rtneural_layer {
    // This layer has no counterpart in RTNeural's JSON files: such a network cannot be loaded
    // from one (docs/rtneural.md lists what can).
    static_assert(rtneural_json_holds<Position, Layer>,
                  "metagrad::load_rtneural_json: RTNeural's JSON format holds input<...> (first), dense, per_step<dense>, gru, "
                  "lstm, causal_conv1d, tanh_layer, relu, sigmoid, softmax and elu (alpha 1)");
};

// Instantiates each layer's check (a statement, not a constant expression, so that a failed
// check is reported once).
template <class Net, std::size_t... I>
void check_rtneural_network(std::index_sequence<I...>) {
    ((void)check_rtneural_layer<I, typename Net::template layer_type<I>>{}, ...);
}
// The same answer without the checks, for guarding the code after them (clang drops a class
// whose assertion failed, and reading its `value` would add an error).
template <class Net, std::size_t... I>
constexpr bool rtneural_network_holds(std::index_sequence<I...>) {
    return (rtneural_json_holds<I, typename Net::template layer_type<I>> && ...);
}

/// "(32, 8)": a sample shape as the summary table prints it.
template <class S>
std::string rtneural_shape_text() {
    std::string out = "(";
    for (std::size_t k = 0; k < S::rank; ++k) out += (k ? ", " : "") + std::to_string(S::extents[k]);
    return out + ")";
}

/// Reads RTNeural's JSON into `network_parameters<Net, T>`; every check throws `io_error`.
template <class Net, class T>
class rtneural_reader {
public:
    using json = nlohmann::json;
    using parameters = network_parameters<Net, T>;

    explicit rtneural_reader(std::string path) : path_(std::move(path)) {}

    void read(const std::string& text, parameters& p) const {
        check_size(text);
        check_nesting(text);
        json root;
        try {
            root = json::parse(text);
        } catch (const json::parse_error& e) {
            parse_failure(text, e);
        } catch (const json::out_of_range& e) {
            // A number past a double's range ("1e400"): nlohmann says which, not where.
            fail("parsing", "finite numbers", without_prefix(e.what()));
        } catch (const json::exception& e) {
            fail("parsing", "a JSON document", without_prefix(e.what()));
        }
        // Everything is read into a copy: a file that does not fit leaves `p` as it was.
        const auto staged = std::make_unique<parameters>(p);
        read_model(root, *staged);
        p = *staged;
    }

private:
    // ---- the network's side: a row per layer, built from the type ----------------------------

    using loader = void (rtneural_reader::*)(const json&, const std::string&, parameters&) const;
    struct network_layer {
        rtneural_kind kind;
        std::string_view name, activation;
        std::string shapes;     // "(32, 1) -> (32, 8)"
        std::uint64_t width;    // the output's last extent (RTNeural's "shape"[-1])
        loader load;
    };

    template <std::size_t I>
    static network_layer describe_layer() {
        using L = typename Net::template layer_type<I>;
        using In = typename Net::template shape_at<I>;
        using Out = typename Net::template shape_at<I + 1>;
        network_layer row{rtneural_layer<L>::kind, layer_name<L>, {}, rtneural_shape_text<In>() + " -> " + rtneural_shape_text<Out>(),
                          Out::last, &rtneural_reader::template load_layer<I>};
        if constexpr (rtneural_layer<L>::kind == rtneural_kind::activation) row.activation = rtneural_layer<L>::activation;
        return row;
    }
    static const std::array<network_layer, Net::depth>& network_layers() {
        static const std::array<network_layer, Net::depth> rows = []<std::size_t... I>(std::index_sequence<I...>) {
            return std::array<network_layer, Net::depth>{describe_layer<I>()...};
        }(std::make_index_sequence<Net::depth>{});
        return rows;
    }
    static std::string network_text(std::size_t i) {
        const network_layer& n = network_layers()[i];
        return "network layer " + std::to_string(i) + " (" + std::string(n.name) + ", " + n.shapes + ")";
    }

    static std::string_view kind_name(rtneural_kind kind) {
        switch (kind) {
            case rtneural_kind::dense: return "dense";
            case rtneural_kind::gru: return "gru";
            case rtneural_kind::lstm: return "lstm";
            case rtneural_kind::conv1d: return "conv1d";
            case rtneural_kind::activation: return "activation";
            default: return "input";
        }
    }

    // ---- failures ------------------------------------------------------------------------------

    [[noreturn]] void fail(const std::string& where, const std::string& expected, const std::string& found) const {
        throw io_error(path_, where, expected, found);
    }

    /// A JSON value in a few words, for "found ...".
    static std::string describe(const json& j) {
        switch (j.type()) {
            case json::value_t::null: return "null";
            case json::value_t::boolean: return j.get<bool>() ? "true" : "false";
            case json::value_t::string: {
                const std::string& s = j.get_ref<const std::string&>();
                return s.size() <= 40 ? "'" + s + "'" : "'" + s.substr(0, 40) + "...' (a string)";
            }
            case json::value_t::array: return "an array of " + std::to_string(j.size());
            case json::value_t::object: return "an object";
            case json::value_t::number_integer:
            case json::value_t::number_unsigned:
            case json::value_t::number_float: return j.dump();
            default: return std::string("a JSON ") + j.type_name();
        }
    }

    // A file far larger than the network's numbers can need is refused before it is parsed: a
    // parsed document takes several times its text's size (RTNeural's exporters write under 60
    // bytes per number, indentation included).
    void check_size(const std::string& text) const {
        constexpr std::uint64_t per_parameter = 512, overhead = std::uint64_t{1} << 20;
        const std::uint64_t budget = overhead + per_parameter * Net::parameter_count;
        if (text.size() > budget)
            fail("opening", "at most " + std::to_string(budget) + " bytes for a network of " + std::to_string(Net::parameter_count) +
                                " parameters (1 MiB, and 512 bytes per parameter)",
                 "a file of " + std::to_string(text.size()) + " bytes");
    }

    // The format nests 7 deep (a convolution's kernel); a hostile file of a million '[' is
    // refused here, before the parser builds it.
    void check_nesting(const std::string& text) const {
        constexpr std::size_t deepest = 16;
        std::size_t depth = 0;
        bool in_string = false;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (in_string) {
                if (c == '\\') ++i;
                else if (c == '"') in_string = false;
            } else if (c == '"') {
                in_string = true;
            } else if (c == '[' || c == '{') {
                if (++depth > deepest)
                    fail(io_error::at_byte(i), "at most " + std::to_string(deepest) + " nested arrays and objects (the format needs 7)",
                         "more");
            } else if ((c == ']' || c == '}') && depth > 0) {
                --depth;
            }
        }
    }

    [[noreturn]] void parse_failure(const std::string& text, const json::parse_error& e) const {
        // e.byte counts from 1 and points at the character that failed.
        const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
        const std::string where = io_error::at_byte(at);
        const std::string_view rest = at < text.size() ? std::string_view(text).substr(at) : std::string_view{};
        for (const std::string_view word : {"NaN", "Infinity"})
            if (rest.substr(0, word.size()) == word)
                fail(where, "a finite number",
                     std::string(at > 0 && text[at - 1] == '-' ? "-" : "") + std::string(word) +
                         " (Python's json module writes it for a weight that is not finite; JSON has no such number)");
        fail(where, "JSON (RFC 8259)", without_prefix(e.what()));
    }
    /// nlohmann's message without its "[json.exception.parse_error.101] ".
    static std::string without_prefix(std::string message) {
        if (const auto bracket = message.find("] "); message.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos)
            message.erase(0, bracket + 2);
        return message;
    }

    // ---- reading values ------------------------------------------------------------------------

    /// `object[key]`, which must be there.
    const json& member(const json& object, const char* key, const std::string& where, const std::string& meaning) const {
        const auto it = object.find(key);
        if (it == object.end()) fail(where, std::string("a key '") + key + "' (" + meaning + ")", "none");
        return *it;
    }

    /// A positive integer (an extent), or a failure naming `expected`.
    std::uint64_t extent(const json& j, const std::string& where, const std::string& expected) const {
        if (j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() > 0)) {
            const std::uint64_t v = j.get<std::uint64_t>();
            if (v > 0) return v;
        }
        fail(where, expected, describe(j));
    }

    /// A number, finite as `T` (a float holds less than a double).
    T number(const json& j, const std::string& where) const {
        if (!j.is_number()) fail(where, "a number", describe(j));
        const double v = j.get<double>();
        if (!std::isfinite(v) || !std::isfinite(static_cast<T>(v)))
            fail(where, std::string("a finite number (within the range of ") + (sizeof(T) == 4 ? "float" : "double") + ")", describe(j));
        return static_cast<T>(v);
    }

    /// An array of exactly `n` elements; `meaning` says what it holds and how it is laid out.
    const json& array(const json& j, std::size_t n, const std::string& where, const std::string& meaning) const {
        if (!j.is_array() || j.size() != n)
            fail(where, "an array of " + std::to_string(n) + " (" + meaning + ")", describe(j));
        return j;
    }

    /// Calls `f(index, value)` for each number of the array `j` of shape `extents` (row-major),
    /// after checking every level's size and every number.
    template <std::size_t Rank, class F>
    void numbers(const json& j, const std::array<std::size_t, Rank>& extents, const std::string& where, const std::string& meaning,
                 F&& f) const {
        std::string shape = "[";
        for (std::size_t k = 0; k < Rank; ++k) shape += (k ? ", " : "") + std::to_string(extents[k]);
        shape += "]";
        const std::string whole = meaning + ", shape " + shape;
        std::array<std::size_t, Rank> index{};
        walk<0>(j, extents, index, where, whole, f);
    }
    template <std::size_t Level, std::size_t Rank, class F>
    void walk(const json& j, const std::array<std::size_t, Rank>& extents, std::array<std::size_t, Rank>& index, const std::string& where,
              const std::string& whole, F& f) const {
        array(j, extents[Level], where, whole);
        for (std::size_t i = 0; i < extents[Level]; ++i) {
            index[Level] = i;
            const std::string inner = where + "[" + std::to_string(i) + "]";
            if constexpr (Level + 1 == Rank)
                f(index, number(j[i], inner));
            else
                walk<Level + 1>(j[i], extents, index, inner, whole, f);
        }
    }

    // ---- the model -----------------------------------------------------------------------------

    void read_model(const json& root, parameters& p) const {
        if (!root.is_object()) fail("the top level", "an object with keys 'in_shape' and 'layers'", describe(root));
        read_input_shape(member(root, "in_shape", "the top level", "the model's input shape, Keras's model.input_shape"));
        const json& layers = member(root, "layers", "the top level", "the list of layers");
        if (!layers.is_array()) fail("'layers'", "an array of layers", describe(layers));

        std::size_t next = 0;  // the network layer the next file layer must fill
        if constexpr (rtneural_layer<typename Net::template layer_type<0>>::kind == rtneural_kind::input) next = 1;
        for (std::size_t j = 0; j < layers.size(); ++j) next = read_layer(layers[j], j, next, p);
        if (next < Net::depth)
            fail("'layers'", "a layer for " + network_text(next) + " after the file's " + std::to_string(layers.size()) + " layers",
                 "the end of the list");
    }

    void read_input_shape(const json& shape) const {
        using In = typename Net::input_shape;
        const std::string where = "'in_shape'";
        const std::string expected = "[null, ..., " + std::to_string(In::last) + "], the network's input " + rtneural_shape_text<In>() +
                                     " having " + std::to_string(In::last) + " features";
        if (!shape.is_array() || shape.empty()) fail(where, expected, describe(shape));
        // The batch and time extents are free (RTNeural runs a step at a time); the features are not.
        for (std::size_t k = 0; k + 1 < shape.size(); ++k)
            if (!shape[k].is_null() && !shape[k].is_number_unsigned())
                fail(where + "[" + std::to_string(k) + "]", "null or a non-negative integer", describe(shape[k]));
        const std::uint64_t features = extent(shape.back(), where + "[" + std::to_string(shape.size() - 1) + "]", expected);
        if (features != In::last) fail(where, expected, shape.dump());
    }

    /// The file's layer `j` against network layer `next`; returns the network layer after it.
    std::size_t read_layer(const json& layer, std::size_t j, std::size_t next, parameters& p) const {
        std::string where = "layers[" + std::to_string(j) + "]";
        if (!layer.is_object()) fail(where, "an object with keys 'type', 'shape' and 'weights'", describe(layer));
        const json& type_value = member(layer, "type", where, "the layer's type: dense, gru, lstm, conv1d, activation ...");
        if (!type_value.is_string()) fail(where + " 'type'", "a string", describe(type_value));
        const std::string& type = type_value.get_ref<const std::string&>();
        where += " (type '" + type + "')";

        rtneural_kind kind = rtneural_kind::none;
        if (type == "dense" || type == "time-distributed-dense") kind = rtneural_kind::dense;
        else if (type == "gru") kind = rtneural_kind::gru;
        else if (type == "lstm") kind = rtneural_kind::lstm;
        else if (type == "conv1d") kind = rtneural_kind::conv1d;
        else if (type == "activation") kind = rtneural_kind::activation;
        else
            fail(where, "a layer type metagrad reads: dense, time-distributed-dense, gru, lstm, conv1d or activation "
                        "(prelu, batchnorm, batchnorm2d and conv2d are not supported)",
                 describe(type_value));

        const std::string activation = activation_of(layer, where);
        if (kind == rtneural_kind::activation) {
            if (activation.empty()) fail(where + " 'activation'", "the name of the activation (tanh, relu, sigmoid, softmax, elu)", "''");
            return read_activation(layer, where, activation, next, true);
        }
        if (next >= Net::depth)
            fail(where, "no more layers: the network has " + std::to_string(Net::depth) + ", all of them filled by the layers before",
                 "a '" + type + "' layer");
        const network_layer& n = network_layers()[next];
        if (n.kind != kind)
            fail(where, "a layer of type '" + std::string(kind_name(n.kind)) + "' for " + network_text(next),
                 "type '" + type + "'");
        where += " against " + network_text(next);
        check_width(layer, where, next);
        (this->*n.load)(layer, where, p);
        ++next;
        if (kind == rtneural_kind::gru || kind == rtneural_kind::lstm) {
            // The cell's own activation, which RTNeural does not add as a layer.
            if (!activation.empty() && activation != "tanh")
                fail(where + " 'activation'", "'tanh' or '' (the cell's activation; metagrad's, as PyTorch's, is tanh)",
                     "'" + activation + "'");
            return next;
        }
        // A dense or convolution layer's activation is the network's next layer.
        if (activation.empty()) return next;
        return read_activation(layer, where + " 'activation'", activation, next, false);
    }

    std::string activation_of(const json& layer, const std::string& where) const {
        const auto it = layer.find("activation");
        if (it == layer.end()) return {};
        if (!it->is_string()) fail(where + " 'activation'", "a string (an activation's name, or '')", describe(*it));
        return it->get<std::string>();
    }

    /// An activation, from an "activation" layer (`own_layer`) or a dense or convolution layer's
    /// field, against network layer `next`.
    std::size_t read_activation(const json& layer, const std::string& where, const std::string& activation, std::size_t next,
                                bool own_layer) const {
        if (next >= Net::depth)
            fail(where, "no more layers: the network has " + std::to_string(Net::depth) + ", all of them filled by the layers before",
                 "the activation '" + activation + "'");
        const network_layer& n = network_layers()[next];
        if (n.kind != rtneural_kind::activation || n.activation != activation)
            fail(where, "the activation of " + network_text(next) +
                            (n.kind == rtneural_kind::activation ? ", '" + std::string(n.activation) + "'" : ", which is no activation"),
                 "'" + activation + "'");
        if (own_layer) check_width(layer, where + " against " + network_text(next), next);
        return next + 1;
    }

    /// The layer's "shape": its last entry is the output's width, which the network must share.
    void check_width(const json& layer, const std::string& where, std::size_t i) const {
        const network_layer& n = network_layers()[i];
        const json& shape = member(layer, "shape", where, "the layer's output shape, [null, ..., width]");
        const std::string expected = "a shape ending in " + std::to_string(n.width) + ", as the network's " + n.shapes;
        if (!shape.is_array() || shape.empty()) fail(where + " 'shape'", expected, describe(shape));
        const std::uint64_t width = extent(shape.back(), where + " 'shape'", expected);
        if (width != n.width) fail(where + " 'shape'", expected, shape.dump());
    }

    const json& weights(const json& layer, const std::string& where, std::size_t count, const std::string& meaning) const {
        return array(member(layer, "weights", where, "the layer's arrays of weights: " + meaning), count, where + " 'weights'", meaning);
    }

    // ---- each kind of layer --------------------------------------------------------------------

    template <std::size_t I>
    void load_layer(const json& layer, const std::string& where, parameters& p) const {
        using L = typename Net::template layer_type<I>;
        using S = typename Net::template shape_at<I>;
        constexpr rtneural_kind kind = rtneural_layer<L>::kind;
        if constexpr (kind == rtneural_kind::dense)
            load_dense<S::last, Net::template shape_at<I + 1>::last>(layer, where, p.template layer<I>());
        else if constexpr (kind == rtneural_kind::gru)
            load_gru<S::last, L::hidden>(layer, where, p.template layer<I>());
        else if constexpr (kind == rtneural_kind::lstm)
            load_lstm<S::last, L::hidden>(layer, where, p.template layer<I>());
        else if constexpr (kind == rtneural_kind::conv1d)
            load_conv1d<L, S::last>(layer, where, p.template layer<I>());
    }

    // Keras's kernel is In x Out; metagrad's (PyTorch's) weight Out x In.
    template <std::size_t In, std::size_t Out, class P>
    void load_dense(const json& layer, const std::string& where, P& lp) const {
        const std::string kernel = "the kernel, inputs x outputs";
        const json& w = weights(layer, where, 2, "[kernel [" + std::to_string(In) + ", " + std::to_string(Out) + "], bias [" +
                                                     std::to_string(Out) + "]]");
        numbers<2>(w[0], {In, Out}, where + " weights[0]", kernel, [&](const auto& at, T v) { lp.weight[at[1] * In + at[0]] = v; });
        numbers<1>(w[1], {Out}, where + " weights[1]", "the bias", [&](const auto& at, T v) { lp.bias[at[0]] = v; });
    }

    // Keras's GRU (reset_after=True, TensorFlow 2's default, which is PyTorch's GRU): kernel
    // F x 3H and recurrent kernel H x 3H with the gates' columns in the order z, r, h; bias 2 x 3H
    // (input, recurrent). metagrad's weight_ih_l0 is 3H x F with the rows in the order r, z, n.
    template <std::size_t F, std::size_t H, class P>
    void load_gru(const json& layer, const std::string& where, P& lp) const {
        const std::string h3 = std::to_string(3 * H);
        const json& w = weights(layer, where, 3, "[kernel [" + std::to_string(F) + ", " + h3 + "], recurrent kernel [" + std::to_string(H) +
                                                     ", " + h3 + "], bias [2, " + h3 + "]]");
        // Keras's gate k (z, r, h) is PyTorch's gate (r, z, n) torch_gate[k].
        constexpr std::size_t torch_gate[3] = {1, 0, 2};
        const auto row = [&](std::size_t column) { return torch_gate[column / H] * H + column % H; };
        numbers<2>(w[0], {F, 3 * H}, where + " weights[0]", "the kernel, inputs x 3 hidden, gates z, r, h",
                   [&](const auto& at, T v) { lp.weight_ih_l0[row(at[1]) * F + at[0]] = v; });
        numbers<2>(w[1], {H, 3 * H}, where + " weights[1]", "the recurrent kernel, hidden x 3 hidden, gates z, r, h",
                   [&](const auto& at, T v) { lp.weight_hh_l0[row(at[1]) * H + at[0]] = v; });
        numbers<2>(w[2], {2, 3 * H}, where + " weights[2]",
                   "the input and recurrent biases of Keras's GRU with reset_after=True, gates z, r, h "
                   "(reset_after=False computes another function)",
                   [&](const auto& at, T v) { (at[0] == 0 ? lp.bias_ih_l0 : lp.bias_hh_l0)[row(at[1])] = v; });
    }

    // Keras's LSTM: kernel F x 4H and recurrent kernel H x 4H with the gates' columns in the
    // order i, f, c, o (PyTorch's i, f, g, o); one bias of 4H, which PyTorch splits into two
    // that are added: it becomes bias_ih_l0, and bias_hh_l0 zeros.
    template <std::size_t F, std::size_t H, class P>
    void load_lstm(const json& layer, const std::string& where, P& lp) const {
        const std::string h4 = std::to_string(4 * H);
        const json& w = weights(layer, where, 3, "[kernel [" + std::to_string(F) + ", " + h4 + "], recurrent kernel [" + std::to_string(H) +
                                                     ", " + h4 + "], bias [" + h4 + "]]");
        numbers<2>(w[0], {F, 4 * H}, where + " weights[0]", "the kernel, inputs x 4 hidden, gates i, f, c, o",
                   [&](const auto& at, T v) { lp.weight_ih_l0[at[1] * F + at[0]] = v; });
        numbers<2>(w[1], {H, 4 * H}, where + " weights[1]", "the recurrent kernel, hidden x 4 hidden, gates i, f, c, o",
                   [&](const auto& at, T v) { lp.weight_hh_l0[at[1] * H + at[0]] = v; });
        numbers<1>(w[2], {4 * H}, where + " weights[2]", "the bias, gates i, f, c, o",
                   [&](const auto& at, T v) { lp.bias_ih_l0[at[0]] = v; });
        for (auto& b : lp.bias_hh_l0) b = T{};
    }

    // Keras's Conv1D (padding='causal', as RTNeural runs it): kernel K x C x Out, tap k reading
    // x_{t - (K-1-k) D}, as causal_conv1d's tap k does; metagrad's weight is Out x K x C.
    template <class L, std::size_t C, class P>
    void load_conv1d(const json& layer, const std::string& where, P& lp) const {
        constexpr std::size_t K = L::taps, D = L::spacing, Out = L::out_channels;
        check_window(layer, where, "kernel_size", K, "the kernel's size");
        check_window(layer, where, "dilation", D, "the dilation");
        if (const auto groups = layer.find("groups"); groups != layer.end() && !(groups->is_number_unsigned() && *groups == 1))
            fail(where + " 'groups'", "1 (grouped convolutions are not supported)", describe(*groups));
        const std::string kernel = "[kernel [" + std::to_string(K) + ", " + std::to_string(C) + ", " + std::to_string(Out) + "]";
        const json& w = weights(layer, where, L::has_bias ? 2 : 1,
                                L::has_bias ? kernel + ", bias [" + std::to_string(Out) + "]]"
                                            : kernel + "] (the network's convolution has no bias)");
        numbers<3>(w[0], {K, C, Out}, where + " weights[0]", "the kernel, taps x inputs x outputs",
                   [&](const auto& at, T v) { lp.weight[(at[2] * K + at[0]) * C + at[1]] = v; });
        if constexpr (L::has_bias)
            numbers<1>(w[1], {Out}, where + " weights[1]", "the bias", [&](const auto& at, T v) { lp.bias[at[0]] = v; });
    }

    /// "kernel_size" and "dilation": an integer or a list whose last entry is one (Keras writes [3]).
    void check_window(const json& layer, const std::string& where, const char* key, std::size_t ours, const std::string& meaning) const {
        const json& value = member(layer, key, where, meaning);
        const std::string at = where + " '" + key + "'";
        const std::string expected = std::to_string(ours) + " or [" + std::to_string(ours) + "], " + meaning + " of the network's layer";
        const json& last = value.is_array() && !value.empty() ? value.back() : value;
        if (extent(last, at, expected) != ours) fail(at, expected, value.dump());
    }

    std::string path_;
};
}  // namespace detail

/// Reads a model file written by RTNeural's exporters (its Keras `save_model`, or a PyTorch
/// script writing the same format) into `p`, for a network `Net` made of the layers
/// `rtneural_json_holds` lists: the file's layers, in order, fill the network's, a dense or
/// convolution layer's "activation" filling the network's next layer and an "activation" layer
/// one of its own. Weights are converted from Keras's layouts and gate orders to metagrad's
/// (PyTorch's); docs/rtneural.md describes the format.
///
/// Everything is checked before anything is copied, and any problem is an `io_error` naming the
/// file, the place in it ("layers[0] (type 'gru') against network layer 1 (gru, (32, 1) -> (32, 8))
/// 'shape'") and what each side has: a layer or activation that is not the network's, a size
/// that differs (both shapes), a missing key, an array of another length, a value that is not a
/// number or not finite, a file that is not JSON or is far larger or deeper than the network
/// needs. `p` is then left as it was. Needs nlohmann-json; not included by metagrad.hpp.
template <class Net, class T>
void load_rtneural_json(const std::string& path, network_parameters<Net, T>& p) {
    detail::check_rtneural_network<Net>(std::make_index_sequence<Net::depth>{});
    if constexpr (detail::rtneural_network_holds<Net>(std::make_index_sequence<Net::depth>{})) {
        const std::string text = detail::reporting_allocation_failure(path, [&] { return detail::input_file(path).read_to_end(); });
        detail::reporting_allocation_failure(path, [&] { detail::rtneural_reader<Net, T>(path).read(text, p); });
    }
}

}  // namespace metagrad
