// metagrad::onnx_graph_description and metagrad::save_for_onnx: a network type as an ONNX graph
// description, and a trained model with its description in one file, for python/metagrad_onnx.py.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/io/checkpoint.hpp"
#include "metagrad/io/onnx_graph.hpp"
#include "metagrad/io/safetensors.hpp"

namespace metagrad {

/// The inference pass of network `Net` as an ONNX graph, described in JSON (docs/onnx.md): each
/// layer's nodes (its `to_onnx`, `onnx_hook`), layers that are the identity in inference
/// (dropout, random_flip, random_shift) left out, batch norm on its running statistics. Its
/// input "input" is a batch of samples as metagrad takes them (`N x 28 x 28 x 1`, channels last)
/// and its output "output" is what `Net::forward` gives; initializers are named as the
/// checkpoint's tensors ("1.weight"). It depends on the type alone: python/metagrad_onnx.py
/// joins it to any file of the network's parameters (`save_parameters`, `save_checkpoint`) to
/// make the ONNX model. A layer with no ONNX form is a compile error naming it.
template <class Net>
std::string onnx_graph_description() {
    using In = typename Net::input_shape;
    onnx_graph g(std::vector<std::size_t>(In::extents.begin(), In::extents.end()));
    if constexpr (Net::valid) {  // otherwise the network has said what is wrong
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (g.template layer<typename Net::template layer_type<I>, typename Net::template shape_at<I>, I>(index_name<I>.view(),
                                                                                                          g.current()),
             ...);
        }(std::make_index_sequence<Net::depth>{});
    }
    g.finish();
    return g.json(detail::network_description<Net>());
}

/// Writes `p` as `save_parameters` does (the file loads back with `load_parameters`), with the
/// network's ONNX graph description as metadata 'metagrad.onnx_graph', so that one file makes the
/// ONNX model: `python3 python/metagrad_onnx.py PATH model.onnx`. Throws `io_error` naming the
/// tensor, writing nothing, when a parameter or state element is not finite. float only: ONNX's
/// models are float32 here.
template <class Net>
void save_for_onnx(const std::string& path, const network_parameters<Net, float>& p) {
    detail::save_parameters_with(path, p, non_finite_values::refuse, {{"metagrad.onnx_graph", onnx_graph_description<Net>()}});
}

}  // namespace metagrad
