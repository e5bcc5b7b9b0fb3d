// metagrad::onnx_graph: a network's inference pass as ONNX nodes, built from its layer types and
// written as a JSON description that python/metagrad_onnx.py turns into an ONNX model.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/network_checks.hpp"
#include "metagrad/core/shape.hpp"

namespace metagrad {

/// One attribute of an ONNX node: an integer, a list of integers or a float (ONNX's INT, INTS
/// and FLOAT). Made by `onnx_graph::integer`, `integers` and `real`.
struct onnx_attribute {
    enum class kind { integer, integers, real };
    std::string name;
    kind type = kind::integer;
    std::vector<std::int64_t> ints;
    float real = 0;
};

/// A value in the graph: its name, its axis order, and its sample's extents in metagrad's order
/// (features last, whatever `layout` says; the batch axis, first, is not among them).
struct onnx_value {
    std::string name;
    onnx_layout layout = onnx_layout::channels_last;
    std::vector<std::size_t> extents;
};

/// Whether layer `L` itself can be exported: it declares `onnx_hook`, or is the identity in
/// inference (dropout, augmentation), which export leaves out. Layers with sub-layers (chain,
/// residual, parallel) declare the hook and export each sub-layer, which is checked in its turn.
template <class L>
inline constexpr bool has_onnx_form = declares_hook<L, onnx_hook> || declares_hook<L, identity_in_inference_hook>;

/// Diagnostic vocabulary: true when the layer at a position (in a network, a chain, or among a
/// block's branches) can be exported.
template <class Position>
inline constexpr bool exports_to_onnx = false;
template <std::size_t I, class L>
inline constexpr bool exports_to_onnx<layer_at<I, L>> = has_onnx_form<L>;

/// The graph that layers write themselves into (`onnx_hook`), and its JSON description. A layer's
/// `to_onnx<S>(g)` reads its input (`g.input()`, or `g.input(layout)` where the axis order
/// matters), adds nodes (`g.node`), names its parameters by member (`g.parameter("weight")`,
/// the checkpoint's tensor "3.weight" for a layer at position 3) and says what its output is
/// (`g.output`). See docs/onnx.md for the description's format, and the layers' headers for
/// examples (layers/relu.hpp is one line, layers/residual.hpp has sub-layers).
///
/// Values run in metagrad's layout, features last; convolutions, pooling and batch norm on
/// images ask for channels first, and the graph inserts a Transpose where the axis order changes
/// (once per value: a run of image layers is transposed once on the way in and once out). Run
/// time only; throws `std::logic_error` when one checkpoint tensor is asked for in two layouts.
class onnx_graph {
public:
    /// The ONNX operator set the nodes are written for: Debian 12's onnx 1.12 knows 17 at most.
    static constexpr int opset = 17;
    /// Axis orders, extents and block orders, as layers' `to_onnx` write them without naming
    /// std::vector (a header of layers should not pay for it).
    using index_list = std::vector<std::size_t>;

    /// A graph whose input "input" has samples of these extents (channels last).
    explicit onnx_graph(std::vector<std::size_t> input_extents) {
        current_ = onnx_value{"input", onnx_layout::channels_last, std::move(input_extents)};
        input_ = current_;
    }

    // --- What a layer's `to_onnx` calls -----------------------------------------------------

    /// The layer's input.
    const onnx_value& current() const { return current_; }
    /// The name of the layer's input, as it is (for element-wise nodes).
    std::string input() const { return current_.name; }
    /// The name of the layer's input in `layout` (a Transpose is added the first time).
    std::string input(onnx_layout layout) { return in_layout(current_, layout); }

    /// The checkpoint tensor `PATH.member` of the layer at PATH ("3.weight"), as an initializer of
    /// the same name; `permutation` reorders its axes on the way (numpy's `transpose`).
    std::string parameter(std::string_view member, std::vector<std::size_t> permutation = {}) {
        std::string name = path_.empty() ? std::string(member) : path_ + "." + std::string(member);
        for (const initializer& i : initializers_) {
            if (i.name != name) continue;
            // One tensor, one layout: the initializer has the tensor's name.
            if (i.permutation != permutation)
                throw std::logic_error("metagrad::onnx_graph: tensor '" + name + "' asked for in two layouts");
            return name;
        }
        initializers_.push_back({name, std::move(permutation), {}, {}, {}});
        return name;
    }
    /// An initializer made of the layer's checkpoint tensors `members` (PATH.member), named
    /// PATH/name ("1/W"): each split along its first axis into `order.size()` equal blocks, taken
    /// in `order` (block k of the result is block order[k] of the tensor), the results joined
    /// along the first axis and reshaped to `dims`. A recurrent layer's gates, which ONNX orders
    /// otherwise than PyTorch, and its two biases, which ONNX takes as one tensor.
    std::string parameter_blocks(std::string_view name, const std::vector<std::string_view>& members, std::vector<std::size_t> order,
                                 std::vector<std::size_t> dims) {
        std::vector<std::string> sources;
        for (const std::string_view member : members)
            sources.push_back(path_.empty() ? std::string(member) : path_ + "." + std::string(member));
        std::string derived = fresh(name);
        initializers_.push_back({derived, {}, std::move(sources), std::move(order), std::move(dims)});
        return derived;
    }
    /// A float constant of `dims` (a scalar by default) holding `values` in row-major order.
    std::string constant(std::vector<float> values, std::vector<std::size_t> dims = {}) {
        std::string name = fresh("constant");
        constants_.push_back({name, std::move(dims), std::move(values), {}, false});
        return name;
    }
    /// An int64 constant of `dims`: what operators take as an input where opset 13 made
    /// attributes inputs (Squeeze's axes).
    std::string integer_constant(std::vector<std::int64_t> values, std::vector<std::size_t> dims) {
        std::string name = fresh("constant");
        constants_.push_back({name, std::move(dims), {}, std::move(values), true});
        return name;
    }
    /// A float constant of `dims` with every element `value`.
    std::string filled(float value, const std::vector<std::size_t>& dims) {
        std::size_t count = 1;
        for (const std::size_t d : dims) count *= d;
        return constant(std::vector<float>(count, value), dims);
    }
    /// Adds node `op` on `inputs`; returns the name of its one output.
    std::string node(std::string_view op, std::vector<std::string> inputs, std::vector<onnx_attribute> attributes = {}) {
        std::string name = fresh(op);
        nodes_.push_back({name, std::string(op), std::move(inputs), {name}, std::move(attributes)});
        return name;
    }
    /// Adds node `op` on `inputs` and returns the name of its output number `output`, the outputs
    /// before it left out (ONNX's "", for operators whose outputs are optional: GRU's Y when only
    /// Y_h, the last state, is wanted).
    std::string node(std::string_view op, std::vector<std::string> inputs, std::vector<onnx_attribute> attributes, std::size_t output) {
        std::string name = fresh(op);
        std::vector<std::string> outputs(output + 1);
        outputs.back() = name;
        nodes_.push_back({name, std::string(op), std::move(inputs), std::move(outputs), std::move(attributes)});
        return name;
    }
    /// The layer's output is value `name`, in the layout of its input or in `layout`.
    void output(std::string name) { current_.name = std::move(name); }
    void output(std::string name, onnx_layout layout) {
        current_.name = std::move(name);
        current_.layout = layout;
    }
    /// The layer is node `op` on its input, element by element, in any layout.
    void elementwise(std::string_view op, std::vector<onnx_attribute> attributes = {}) {
        output(node(op, {input()}, std::move(attributes)));
    }
    /// The layer's output is the sum of `values` (branches of one shape), in the first's layout.
    void sum(const std::vector<onnx_value>& values) {
        const onnx_layout layout = values.front().layout;
        if (values.size() == 1) return output(values.front().name, layout);
        output(node("Sum", names_in(values, layout)), layout);
    }
    /// The layer's output is `values` side by side along the features (the last axis of
    /// metagrad's layout), in the first's layout.
    void concatenate(const std::vector<onnx_value>& values) {
        const onnx_layout layout = values.front().layout;
        const bool first = layout == onnx_layout::channels_first && values.front().extents.size() > 1;
        output(node("Concat", names_in(values, layout), {integer("axis", first ? 1 : -1)}), layout);
    }

    /// Exports sub-layer `L` on samples `S`, at `Position` among its siblings, on value `x`, its
    /// tensors under PATH.part ("1.body", "1.body.0"; the same path for an empty `part`).
    /// Returns its output, which is then the current value. A layer without an ONNX form stops
    /// compilation here, naming the layer and its position.
    template <class L, class S, std::size_t Position>
    onnx_value layer(std::string_view part, const onnx_value& x) {
        // This layer declares neither `onnx_hook` nor `identity_in_inference_hook`: give it a
        // `to_onnx<S>(graph)` and list `onnx_hook` in its `provides` (docs/onnx.md).
        static_assert(exports_to_onnx<layer_at<Position, L>>,
                      "metagrad::onnx_graph: this layer has no ONNX form; give it `to_onnx<S>(graph)` and list "
                      "metagrad::onnx_hook in its `provides` (docs/onnx.md)");
        current_ = x;
        if constexpr (declares_hook<L, identity_in_inference_hook>) {
            // Left out: inference passes the input on.
        } else if constexpr (declares_hook<L, onnx_hook>) {
            const std::string outer = path_;
            if (!part.empty()) path_ = path_.empty() ? std::string(part) : path_ + "." + std::string(part);
            L::template to_onnx<S>(*this);
            path_ = outer;
        }
        if constexpr (has_onnx_form<L>) {
            using Out = typename L::template output_shape<S>;
            current_.extents.assign(Out::extents.begin(), Out::extents.end());
            // A vector's batch has one order: transposes of it would be no-ops.
            if (Out::rank < 2) current_.layout = onnx_layout::channels_last;
        }
        return current_;
    }

    /// Attributes of nodes.
    static onnx_attribute integer(std::string name, std::int64_t value) {
        return {std::move(name), onnx_attribute::kind::integer, {value}, 0};
    }
    static onnx_attribute integers(std::string name, const std::vector<std::size_t>& values) {
        return {std::move(name), onnx_attribute::kind::integers, std::vector<std::int64_t>(values.begin(), values.end()), 0};
    }
    static onnx_attribute real(std::string name, float value) { return {std::move(name), onnx_attribute::kind::real, {}, value}; }
    /// A node's attributes; values (a block's branches' outputs).
    using attributes = std::vector<onnx_attribute>;
    using values = std::vector<onnx_value>;
    /// The attributes of a window over one or two spatial axes (Conv, MaxPool, AveragePool):
    /// kernel_shape, strides, pads (the same before and after each axis) and dilations.
    static attributes window(std::initializer_list<std::size_t> kernel, std::initializer_list<std::size_t> strides,
                             std::initializer_list<std::size_t> padding, std::initializer_list<std::size_t> dilations) {
        std::vector<std::size_t> pads(padding);
        pads.insert(pads.end(), padding.begin(), padding.end());
        return {integers("kernel_shape", kernel), integers("strides", strides), integers("pads", pads), integers("dilations", dilations)};
    }

    // --- The result -------------------------------------------------------------------------

    /// Ends the graph: its output "output" is the current value, channels last.
    void finish() {
        const std::string last = in_layout(current_, onnx_layout::channels_last);
        if (!nodes_.empty() && nodes_.back().outputs.back() == last)
            nodes_.back().outputs.back() = "output";
        else
            node_named("output", "Identity", {last});  // a network that is the identity in inference
        current_ = onnx_value{"output", onnx_layout::channels_last, current_.extents};
    }

    /// The description, as JSON (docs/onnx.md): the input and output, the initializers (checkpoint
    /// tensors) and constants, and the nodes in order. `network` is recorded as it is.
    std::string json(std::string_view network) const {
        // Appended piece by piece: g++ 12 warns falsely (-Wrestrict, PR 105329) on
        // "literal" + std::string temporaries.
        std::string out = "{\n\"format\": \"metagrad.onnx_graph\",\n\"version\": 1,\n\"opset\": ";
        out += std::to_string(opset);
        out += ",\n\"network\": ";
        append_quoted(out, network);
        out += ",\n\"input\": ";
        append_value(out, input_);
        out += ",\n\"output\": ";
        append_value(out, current_);
        out += ",\n\"initializers\": [";
        for (std::size_t i = 0; i < initializers_.size(); ++i) {
            out += i ? ",\n  {\"name\": " : "\n  {\"name\": ";
            const initializer& e = initializers_[i];
            append_quoted(out, e.name);
            out += ", \"permutation\": ";
            append_list(out, e.permutation);
            if (!e.sources.empty()) {
                out += ", \"sources\": [";
                for (std::size_t k = 0; k < e.sources.size(); ++k) {
                    if (k) out += ", ";
                    append_quoted(out, e.sources[k]);
                }
                out += "], \"blocks\": ";
                append_list(out, e.blocks);
                out += ", \"dims\": ";
                append_list(out, e.dims);
            }
            out += '}';
        }
        out += "],\n\"constants\": [";
        for (std::size_t i = 0; i < constants_.size(); ++i) {
            out += i ? ",\n  {\"name\": " : "\n  {\"name\": ";
            append_quoted(out, constants_[i].name);
            out += ", \"dims\": ";
            append_list(out, constants_[i].dims);
            out += ", \"values\": ";
            if (constants_[i].integral) {
                append_list(out, constants_[i].integer_values);
                out += ", \"type\": \"int64\"";
            } else {
                append_list(out, constants_[i].values);
            }
            out += '}';
        }
        out += "],\n\"nodes\": [";
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            const node_entry& n = nodes_[i];
            out += i ? ",\n  {\"name\": " : "\n  {\"name\": ";
            append_quoted(out, n.name);
            out += ", \"op\": ";
            append_quoted(out, n.op);
            out += ", \"inputs\": [";
            for (std::size_t k = 0; k < n.inputs.size(); ++k) {
                if (k) out += ", ";
                append_quoted(out, n.inputs[k]);
            }
            out += "], \"outputs\": [";
            for (std::size_t k = 0; k < n.outputs.size(); ++k) {
                if (k) out += ", ";
                append_quoted(out, n.outputs[k]);
            }
            out += "], \"attributes\": [";
            for (std::size_t k = 0; k < n.attributes.size(); ++k) {
                if (k) out += ", ";
                append_attribute(out, n.attributes[k]);
            }
            out += "]}";
        }
        out += "]\n}\n";
        return out;
    }

private:
    // A checkpoint tensor (`sources` empty), or one made of several (`parameter_blocks`).
    struct initializer {
        std::string name;
        std::vector<std::size_t> permutation;
        std::vector<std::string> sources;
        std::vector<std::size_t> blocks, dims;
    };
    struct constant_entry {
        std::string name;
        std::vector<std::size_t> dims;
        std::vector<float> values;
        std::vector<std::int64_t> integer_values;
        bool integral = false;
    };
    struct node_entry {
        std::string name, op;
        std::vector<std::string> inputs;
        std::vector<std::string> outputs;  // "" for an optional output left out
        std::vector<onnx_attribute> attributes;
    };

    /// A new name under the current layer's path: "3/Gemm", then "3/Gemm_1".
    std::string fresh(std::string_view what) {
        const std::string base = (path_.empty() ? std::string("graph") : path_) + "/" + std::string(what);
        const std::size_t n = used_[base]++;
        return n == 0 ? base : base + "_" + std::to_string(n);
    }
    void node_named(std::string name, std::string_view op, std::vector<std::string> inputs) {
        nodes_.push_back({name, std::string(op), std::move(inputs), {name}, {}});
    }

    /// `v` in `layout`: the tensor rank r (batch included) goes N, C, D1.. for channels first.
    std::string in_layout(const onnx_value& v, onnx_layout layout) {
        const std::size_t r = v.extents.size() + 1;
        if (v.layout == layout || r < 3) return v.name;
        const std::string key = v.name + (layout == onnx_layout::channels_first ? "|first" : "|last");
        if (const auto found = transposed_.find(key); found != transposed_.end()) return found->second;
        std::vector<std::size_t> perm{0};
        if (layout == onnx_layout::channels_first) {
            perm.push_back(r - 1);
            for (std::size_t k = 1; k + 1 < r; ++k) perm.push_back(k);
        } else {
            for (std::size_t k = 2; k < r; ++k) perm.push_back(k);
            perm.push_back(1);
        }
        return transposed_[key] = node("Transpose", {v.name}, {integers("perm", perm)});
    }
    std::vector<std::string> names_in(const std::vector<onnx_value>& values, onnx_layout layout) {
        std::vector<std::string> names;
        for (const onnx_value& v : values) names.push_back(in_layout(v, layout));
        return names;
    }

    static void append_quoted(std::string& out, std::string_view s) {
        out += '"';
        for (const char c : s) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                const char* hex = "0123456789abcdef";
                out += "\\u00";
                out += hex[(c >> 4) & 0xf];
                out += hex[c & 0xf];
            } else {
                out += c;
            }
        }
        out += '"';
    }
    // Floats in their shortest form that reads back as the same float32 (JSON has no inf or NaN,
    // and no layer writes them).
    static void append_number(std::string& out, float v) {
        char text[32];
        out.append(text, std::to_chars(text, text + sizeof text, v).ptr);
    }
    static void append_number(std::string& out, std::int64_t v) { out += std::to_string(v); }
    static void append_number(std::string& out, std::size_t v) { out += std::to_string(v); }
    template <class V>
    static void append_list(std::string& out, const std::vector<V>& values) {
        out += '[';
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i) out += ", ";
            append_number(out, values[i]);
        }
        out += ']';
    }
    static void append_value(std::string& out, const onnx_value& v) {
        out += "{\"name\": ";
        append_quoted(out, v.name);
        out += ", \"shape\": [\"batch\"";
        for (const std::size_t e : v.extents) {
            out += ", ";
            out += std::to_string(e);
        }
        out += "]}";
    }
    static void append_attribute(std::string& out, const onnx_attribute& a) {
        out += "{\"name\": ";
        append_quoted(out, a.name);
        switch (a.type) {
            case onnx_attribute::kind::integer:
                out += ", \"type\": \"int\", \"value\": ";
                append_number(out, a.ints.front());
                break;
            case onnx_attribute::kind::integers:
                out += ", \"type\": \"ints\", \"value\": ";
                append_list(out, a.ints);
                break;
            case onnx_attribute::kind::real:
                out += ", \"type\": \"float\", \"value\": ";
                append_number(out, a.real);
                break;
        }
        out += '}';
    }

    onnx_value input_, current_;
    std::string path_;
    std::vector<initializer> initializers_;
    std::vector<constant_entry> constants_;
    std::vector<node_entry> nodes_;
    std::map<std::string, std::size_t> used_;
    std::map<std::string, std::string> transposed_;
};

}  // namespace metagrad
