"""ONNX models of metagrad networks, with Debian 12's onnx package (python3-onnx) and numpy alone.

    python3 python/metagrad_onnx.py model.safetensors model.onnx             # from save_for_onnx
    python3 python/metagrad_onnx.py weights.safetensors model.onnx --graph graph.json

    import metagrad_onnx                         # with PYTHONPATH=path/to/metagrad/python
    model = metagrad_onnx.export("model.safetensors", "model.onnx")   # checked, saved, returned

metagrad writes what a network is in ONNX's terms from its type (`metagrad::onnx_graph_description`,
include/metagrad/io/onnx_export.hpp): a JSON description of the nodes of its inference pass, whose
initializers are named as the tensors of its checkpoint ("1.weight", "3.running_mean"), each with
the axis permutation that takes metagrad's layout to ONNX's (a conv2d weight Out x kh x kw x In
becomes Out x In x kh x kw), or made of them ("1/W": a GRU's weight_ih_l0 with its gates in
ONNX's order). `metagrad::save_for_onnx` puts the description in the parameter file's
metadata ('metagrad.onnx_graph'); `--graph` takes it from a file instead, for any file of the
network's parameters (`save_parameters`, `save_checkpoint`, whose optimizer tensors are ignored).
This module only assembles: it makes the ONNX protobuf with `onnx.helper`, checks it with
`onnx.checker.check_model(full_check=True)` (which runs ONNX's shape inference, so the output's
declared shape is checked too) and saves it. It knows no layer: docs/onnx.md describes the format.

The model takes "input", a float32 batch of samples as metagrad takes them (N x 28 x 28 x 1 for
images, channels last; N is free) and gives "output", what `Net::forward` gives, for opset 17 and
IR version 8 (what onnx 1.12 writes; ONNX Runtime runs opset 17 since its version 1.12).

Errors raise ValueError naming the file and the problem: a description that is not one, a tensor
the graph needs that the file lacks, of another shape or not floating point, a description of
another network than the file's ('metagrad.network'), a file without a description.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metagrad_safetensors as mgst  # noqa: E402

__all__ = ["load_graph", "build_model", "export", "FORMAT", "METADATA_KEY", "IR_VERSION"]

#: The "format" of a description, and the metadata key save_for_onnx stores it under.
FORMAT = "metagrad.onnx_graph"
METADATA_KEY = "metagrad.onnx_graph"
#: The IR version of the models written (onnx 1.12's own; newer runtimes read it too).
IR_VERSION = 8


def load_graph(graph):
    """A graph description as a dict, from a dict, JSON text or the path of a JSON file; checks
    its format and version."""
    where = "graph description"
    if isinstance(graph, dict):
        description = graph
    else:
        text = graph
        if isinstance(graph, (bytes, os.PathLike)) or (isinstance(graph, str) and not graph.lstrip().startswith("{")):
            where = os.fspath(graph)
            with open(graph, encoding="utf-8") as f:
                text = f.read()
        try:
            description = json.loads(text)
        except ValueError as e:
            raise ValueError("%s: not JSON (%s)" % (where, e))
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise ValueError("%s: not a metagrad graph description (no \"format\": \"%s\")" % (where, FORMAT))
    if description.get("version") != 1:
        raise ValueError("%s: version %r, this module reads version 1" % (where, description.get("version")))
    for key in ("opset", "input", "output", "initializers", "constants", "nodes"):
        if key not in description:
            raise ValueError("%s: the field '%s' is missing" % (where, key))
    return description


def _value_info(value):
    from onnx import TensorProto, helper

    shape = [d if isinstance(d, int) else str(d) for d in value["shape"]]
    return helper.make_tensor_value_info(value["name"], TensorProto.FLOAT, shape)


def _attribute(attribute):
    kind, value = attribute["type"], attribute["value"]
    if kind == "int":
        return int(value)
    if kind == "ints":
        return [int(v) for v in value]
    if kind == "float":
        return float(value)  # an integral float reads as an int from JSON: say FLOAT here
    raise ValueError("attribute '%s': unknown type '%s'" % (attribute["name"], kind))


def _tensor(name, tensors, source):
    if name not in tensors:
        raise ValueError("%s: the graph needs tensor '%s', which is not there (%d tensors)" % (source, name, len(tensors)))
    array = np.asarray(tensors[name])
    if array.dtype.kind != "f":
        raise ValueError("%s: tensor '%s' is %s, not floating point" % (source, name, array.dtype))
    return array


def _initializer(entry, tensors, source):
    """The array of one initializer: the checkpoint tensor of its name with its axes permuted; or,
    with "sources", those tensors, each cut along its first axis into len(blocks) equal blocks
    taken in the order "blocks", joined along the first axis and reshaped to "dims" (a recurrent
    layer's gates in ONNX's order)."""
    name, permutation = entry["name"], entry["permutation"]
    parts = []
    for part in entry.get("sources") or [name]:
        array = _tensor(part, tensors, source)
        if permutation:
            if len(permutation) != array.ndim:
                raise ValueError("%s: tensor '%s' has shape %s; the graph reorders %d axes"
                                 % (source, part, list(array.shape), len(permutation)))
            array = np.transpose(array, permutation)
        blocks = entry.get("blocks") or []
        if blocks:
            if array.ndim == 0 or array.shape[0] % len(blocks) or sorted(blocks) != list(range(len(blocks))):
                raise ValueError("%s: tensor '%s' has shape %s; the graph takes blocks %s of its first axis"
                                 % (source, part, list(array.shape), blocks))
            pieces = np.split(array, len(blocks))
            array = np.concatenate([pieces[b] for b in blocks])
        parts.append(array)
    array = parts[0] if len(parts) == 1 else np.concatenate(parts)
    dims = entry.get("dims") or []
    if dims:
        if int(np.prod(dims)) != array.size:
            raise ValueError("%s: initializer '%s' of %d values cannot have the shape %s"
                             % (source, name, array.size, list(dims)))
        array = array.reshape([int(d) for d in dims])
    return array


def build_model(graph, tensors, *, source="weights"):
    """The ONNX model (an onnx.ModelProto) of description `graph` (see `load_graph`) with the
    arrays `tensors` (a dict from checkpoint name to array, as metagrad_safetensors.load gives),
    after onnx.checker.check_model(full_check=True). `source` names the tensors in messages."""
    import onnx
    from onnx import helper, numpy_helper

    graph = load_graph(graph)
    initializers = []
    for entry in graph["initializers"]:
        array = _initializer(entry, tensors, source)
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), entry["name"]))
    for entry in graph["constants"]:
        dtype = np.int64 if entry.get("type", "float") == "int64" else np.float32
        values = np.asarray(entry["values"], dtype=dtype).reshape([int(d) for d in entry["dims"]])
        initializers.append(numpy_helper.from_array(values, entry["name"]))
    nodes = [helper.make_node(n["op"], n["inputs"], n["outputs"], name=n["name"],
                              **{a["name"]: _attribute(a) for a in n["attributes"]})
             for n in graph["nodes"]]
    body = helper.make_graph(nodes, "metagrad", [_value_info(graph["input"])], [_value_info(graph["output"])],
                             initializer=initializers)
    model = helper.make_model(body, opset_imports=[helper.make_opsetid("", int(graph["opset"]))],
                              producer_name="metagrad", doc_string=graph.get("network", ""))
    model.ir_version = IR_VERSION
    if graph.get("network"):
        helper.set_model_props(model, {"metagrad.network": graph["network"]})
    onnx.checker.check_model(model, full_check=True)
    return model


def export(weights, output=None, graph=None):
    """Makes the ONNX model of the safetensors file `weights`: with the description in its
    metadata (`metagrad::save_for_onnx`), or `graph` (a path, JSON text or dict, from
    `metagrad::onnx_graph_description`). Checks it, writes it to `output` when given, and
    returns it (an onnx.ModelProto). Raises ValueError naming the problem."""
    import onnx

    path = os.fspath(weights)
    tensors = mgst.load(path)
    metadata = mgst.load_metadata(path)
    if graph is None:
        if METADATA_KEY not in metadata:
            raise ValueError("%s: no '%s' metadata: write the file with metagrad::save_for_onnx, or give the "
                             "description (metagrad::onnx_graph_description) as graph" % (path, METADATA_KEY))
        graph = metadata[METADATA_KEY]
    description = load_graph(graph)
    saved, described = metadata.get("metagrad.network"), description.get("network")
    if saved and described and saved != described:
        raise ValueError("%s: the parameters are of the network %s, the graph describes %s" % (path, saved, described))
    model = build_model(description, tensors, source=path)
    if output is not None:
        onnx.save(model, os.fspath(output))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description="Writes the ONNX model of a metagrad network.")
    parser.add_argument("weights", help="safetensors file of the network's parameters (metagrad::save_for_onnx, "
                                        "save_parameters or save_checkpoint)")
    parser.add_argument("output", help="the .onnx file to write")
    parser.add_argument("--graph", help="JSON graph description (metagrad::onnx_graph_description), when the "
                                        "weights do not hold one")
    args = parser.parse_args(argv)
    try:
        model = export(args.weights, args.output, args.graph)
    except ValueError as e:
        print("metagrad_onnx: %s" % e, file=sys.stderr)
        return 1
    print("metagrad_onnx: wrote %s (%d nodes, %d initializers; onnx.checker passed)"
          % (args.output, len(model.graph.node), len(model.graph.initializer)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
