"""Tests of metagrad's ONNX export (include/metagrad/io/onnx_graph.hpp, onnx_export.hpp, and
python/metagrad_onnx.py). tests/io/onnx_export.cpp (given as METAGRAD_ONNX_MODELS) writes seeded
networks: the Fashion-MNIST MLP and CNN of the examples, residual and parallel blocks, every
activation, sequences, convolution and pooling options, GRU, LSTM, per_step and causal
convolutions. Each becomes an ONNX model that must pass
onnx.checker (full check: ONNX's shape inference included), and the model file, read back, is
evaluated without metagrad: by a numpy interpreter of the ONNX operators below (float64), and
where python3-torch is installed by one built on torch.nn.functional (and torch.nn.GRU and LSTM,
PyTorch's own recurrent kernels). Both must give metagrad's outputs (float32) to 1e-5.

    python3 -m unittest discover -s tests/python -v        # from the repository root

Needs Debian's python3-onnx (skips without it) and the program (ctest's `python` test sets it).
"""
import itertools
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import metagrad_safetensors as mgst  # noqa: E402

try:
    import onnx
    from onnx import helper, numpy_helper
    import metagrad_onnx  # noqa: E402
except ImportError:
    onnx = None
try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

PROGRAM = os.environ.get("METAGRAD_ONNX_MODELS")
MODELS = ["fashion_mlp", "fashion_cnn", "blocks", "activations", "sequences", "images", "nothing", "sequence_gru",
          "sequence_stack", "sequence_last", "causal_convs"]
TOLERANCE = 1e-5
DOCS = ROOT / "docs" / "onnx.md"
MARKER = "# [onnx-export]"

needs_onnx = unittest.skipUnless(onnx is not None, "onnx is not installed (Debian: python3-onnx)")
needs_torch = unittest.skipUnless(torch is not None, "PyTorch is not installed (Debian: python3-torch)")
needs_program = unittest.skipUnless(PROGRAM, "METAGRAD_ONNX_MODELS does not name tests/io/onnx_export.cpp's program")


# --- an ONNX interpreter in numpy ----------------------------------------------------------------
# Written from the operators' definitions (https://onnx.ai/onnx/operators/), for those the export
# writes; float64 throughout, so that its own rounding is far below the tolerance.

def _windows(x, attributes, pad_value):
    """x (N, C, D1..Dk) padded, and for each tap of the window the strided view of the inputs it
    reads at every output position: a list of (tap index, N x C x O1..Ok array)."""
    kernel = attributes["kernel_shape"]
    k = len(kernel)
    strides = attributes.get("strides", [1] * k)
    dilations = attributes.get("dilations", [1] * k)
    pads = attributes.get("pads", [0] * (2 * k))
    assert attributes.get("ceil_mode", 0) == 0 and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    padded = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + k]) for i in range(k)], constant_values=pad_value)
    out = [(padded.shape[2 + i] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1 for i in range(k)]
    views = []
    for tap in itertools.product(*[range(e) for e in kernel]):
        index = tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o in zip(tap, dilations, strides, out))
        views.append((tap, padded[(slice(None), slice(None)) + index]))
    return views


def _conv(x, w, b=None, **a):
    a.setdefault("kernel_shape", list(w.shape[2:]))
    group = a.get("group", 1)
    out_channels, per_group = w.shape[0], w.shape[1]
    views = _windows(x, a, 0.0)
    y = np.zeros((x.shape[0], out_channels) + views[0][1].shape[2:])
    per_output_group = out_channels // group
    for tap, view in views:
        for g in range(group):
            inputs = view[:, g * per_group:(g + 1) * per_group]
            weights = w[(slice(g * per_output_group, (g + 1) * per_output_group), slice(None)) + tap]
            y[:, g * per_output_group:(g + 1) * per_output_group] += np.einsum("nc...,oc->no...", inputs, weights)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


def _max_pool(x, **a):
    return np.max(np.stack([v for _, v in _windows(x, a, -np.inf)]), axis=0)


def _average_pool(x, **a):
    views = _windows(x, a, 0.0)
    total = np.sum(np.stack([v for _, v in views]), axis=0)
    if a.get("count_include_pad", 0):
        return total / len(views)
    counts = np.sum(np.stack([v for _, v in _windows(np.ones_like(x[:1, :1]), a, 0.0)]), axis=0)
    return total / counts


def _gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = alpha * ((a.T if transA else a) @ (b.T if transB else b))
    return y if c is None else y + beta * c


def _batch_norm(x, scale, bias, mean, var, epsilon=1e-5, **_):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon) * scale.reshape(shape) + bias.reshape(shape)


def _layer_norm(x, scale, bias=None, axis=-1, epsilon=1e-5, **_):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + epsilon) * scale
    return y if bias is None else y + bias


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def _plain_recurrence(attributes):
    """What the export writes of a GRU or LSTM, and all the interpreter knows: time first (layout
    0), forward, the default activations, no clipping."""
    assert attributes.get("layout", 0) == 0, "batch-first layout"
    assert attributes.get("direction", b"forward") in (b"forward", "forward")
    assert not {"activations", "activation_alpha", "activation_beta", "clip"} & set(attributes)
    assert not attributes.get("input_forget", 0)


def _gru(x, w, r, b=None, sequence_lens=None, initial_h=None, hidden_size=None, linear_before_reset=0, **rest):
    """ONNX's GRU on x (T x N x F), one direction, gates z, r, h: Y (T x 1 x N x H) and Y_h."""
    _plain_recurrence(rest)
    assert sequence_lens is None
    hidden = r.shape[-1]
    assert hidden_size in (None, hidden)
    w_z, w_r, w_h = np.split(w[0], 3)
    r_z, r_r, r_h = np.split(r[0], 3)
    wb_z, wb_r, wb_h, rb_z, rb_r, rb_h = np.split(np.zeros(6 * hidden) if b is None else b[0], 6)
    h = np.zeros((x.shape[1], hidden)) if initial_h is None else initial_h[0]
    states = []
    for x_t in x:
        z = _sigmoid(x_t @ w_z.T + h @ r_z.T + wb_z + rb_z)
        reset = _sigmoid(x_t @ w_r.T + h @ r_r.T + wb_r + rb_r)
        if linear_before_reset:
            candidate = np.tanh(x_t @ w_h.T + reset * (h @ r_h.T + rb_h) + wb_h)
        else:
            candidate = np.tanh(x_t @ w_h.T + (reset * h) @ r_h.T + rb_h + wb_h)
        h = (1 - z) * candidate + z * h
        states.append(h)
    return np.stack(states)[:, None], h[None]


def _lstm(x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, P=None, hidden_size=None, **rest):
    """ONNX's LSTM on x (T x N x F), one direction, gates i, o, f, c, no peepholes: Y, Y_h, Y_c."""
    _plain_recurrence(rest)
    assert sequence_lens is None and P is None
    hidden = r.shape[-1]
    assert hidden_size in (None, hidden)
    bias = np.zeros(8 * hidden) if b is None else b[0]
    bias = bias[:4 * hidden] + bias[4 * hidden:]  # Wb + Rb
    h = np.zeros((x.shape[1], hidden)) if initial_h is None else initial_h[0]
    c = np.zeros((x.shape[1], hidden)) if initial_c is None else initial_c[0]
    states = []
    for x_t in x:
        a_i, a_o, a_f, a_c = np.split(x_t @ w[0].T + h @ r[0].T + bias, 4, axis=-1)
        c = _sigmoid(a_f) * c + _sigmoid(a_i) * np.tanh(a_c)
        h = _sigmoid(a_o) * np.tanh(c)
        states.append(h)
    return np.stack(states)[:, None], h[None], c[None]


def _squeeze(x, axes=None):
    if axes is None:
        return np.squeeze(x)
    axes = tuple(int(a) % x.ndim for a in axes)
    assert all(x.shape[a] == 1 for a in axes), "Squeeze of an axis longer than 1"
    return np.squeeze(x, axis=axes)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


NUMPY_OPS = {
    "Identity": lambda x: x,
    "Transpose": lambda x, perm: np.transpose(x, perm),
    "Squeeze": _squeeze,
    "Flatten": lambda x, axis=1: x.reshape(int(np.prod(x.shape[:axis])), -1),
    "Gemm": _gemm,
    "MatMul": np.matmul,
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
    "Sum": lambda *xs: sum(xs[1:], xs[0]),
    "Concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "ReduceMean": lambda x, axes, keepdims=1: x.mean(axis=tuple(axes), keepdims=bool(keepdims)),
    "Relu": lambda x: np.maximum(x, 0.0),
    "LeakyRelu": lambda x, alpha=0.01: np.where(x < 0, alpha * x, x),
    "Elu": lambda x, alpha=1.0: np.where(x < 0, alpha * np.expm1(np.minimum(x, 0.0)), x),
    "Sigmoid": _sigmoid,
    "Tanh": np.tanh,
    "Softplus": lambda x: np.logaddexp(0.0, x),
    "Erf": np.vectorize(math.erf, otypes=[np.float64]),
    "Softmax": _softmax,
    "LogSoftmax": _log_softmax,
    "Conv": _conv,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "GRU": _gru,
    "LSTM": _lstm,
}


def _torch_ops():
    """The same operators through torch.nn.functional (float64): another implementation of each."""
    def spatial(name, x):
        return getattr(F, "%s%dd" % (name, x.dim() - 2))

    def symmetric(pads):
        k = len(pads) // 2
        assert pads[:k] == pads[k:], "asymmetric padding"
        return tuple(pads[:k])

    def conv(x, w, b=None, kernel_shape=None, strides=None, pads=None, dilations=None, group=1):
        k = x.dim() - 2
        pads = pads or [0] * (2 * k)
        if pads[:k] != pads[k:]:
            # ONNX lists every axis's start, then every end; F.pad takes (start, end) from the last axis.
            x = F.pad(x, [p for axis in reversed(range(k)) for p in (pads[axis], pads[axis + k])])
            pads = [0] * (2 * k)
        return spatial("conv", x)(x, w, b, stride=tuple(strides or [1] * k), padding=symmetric(pads),
                                  dilation=tuple(dilations or [1] * k), groups=group)

    def squeeze(x, axes=None):
        if axes is None:
            return x.squeeze()
        for axis in sorted((int(a) % x.dim() for a in axes), reverse=True):
            assert x.shape[axis] == 1, "Squeeze of an axis longer than 1"
            x = x.squeeze(axis)
        return x

    def blocks(t, order):
        pieces = t.chunk(len(order))
        return torch.cat([pieces[k] for k in order])

    def recurrent(module, w, r, b, order):
        """Loads ONNX's W, R, B of one direction into PyTorch's module, its gates put back in
        PyTorch's order (block k of PyTorch's is ONNX's block order[k])."""
        half = b.shape[-1] // 2
        module.weight_ih_l0.copy_(blocks(w[0], order))
        module.weight_hh_l0.copy_(blocks(r[0], order))
        module.bias_ih_l0.copy_(blocks(b[0, :half], order))
        module.bias_hh_l0.copy_(blocks(b[0, half:], order))
        return module

    def gru(x, w, r, b, hidden_size, linear_before_reset=0, **rest):
        _plain_recurrence(rest)
        assert linear_before_reset == 1, "PyTorch's GRU resets after the product: ONNX's linear_before_reset=1"
        module = torch.nn.GRU(x.shape[-1], hidden_size).double()
        y, h = recurrent(module, w, r, b, [1, 0, 2])(x)  # PyTorch's r, z, n are ONNX's blocks 1, 0, 2
        return y.unsqueeze(1), h

    def lstm(x, w, r, b, hidden_size, **rest):
        _plain_recurrence(rest)
        module = torch.nn.LSTM(x.shape[-1], hidden_size).double()
        y, (h, c) = recurrent(module, w, r, b, [0, 2, 3, 1])(x)  # PyTorch's i, f, g, o: ONNX's blocks 0, 2, 3, 1
        return y.unsqueeze(1), h, c

    def max_pool(x, kernel_shape, strides=None, pads=None, dilations=None):
        k = len(kernel_shape)
        return spatial("max_pool", x)(x, tuple(kernel_shape), stride=tuple(strides or [1] * k),
                                      padding=symmetric(pads or [0] * (2 * k)), dilation=tuple(dilations or [1] * k))

    def average_pool(x, kernel_shape, strides=None, pads=None, count_include_pad=0):
        k = len(kernel_shape)
        return spatial("avg_pool", x)(x, tuple(kernel_shape), stride=tuple(strides or [1] * k),
                                      padding=symmetric(pads or [0] * (2 * k)), count_include_pad=bool(count_include_pad))

    return {
        "Identity": lambda x: x,
        "Transpose": lambda x, perm: x.permute(*perm),
        "Squeeze": squeeze,
        "Flatten": lambda x, axis=1: x.reshape(int(np.prod(x.shape[:axis])), -1),
        "Gemm": lambda a, b, c, transB=0, **_: F.linear(a, b if transB else b.T, c),
        "MatMul": torch.matmul,
        "Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div,
        "Sum": lambda *xs: sum(xs[1:], xs[0]),
        "Concat": lambda *xs, axis: torch.cat(xs, dim=axis),
        "ReduceMean": lambda x, axes, keepdims=1: torch.mean(x, dim=tuple(axes), keepdim=bool(keepdims)),
        "Relu": F.relu,
        "LeakyRelu": lambda x, alpha=0.01: F.leaky_relu(x, alpha),
        "Elu": lambda x, alpha=1.0: F.elu(x, alpha),
        "Sigmoid": torch.sigmoid,
        "Tanh": torch.tanh,
        "Softplus": F.softplus,
        "Erf": torch.erf,
        "Softmax": lambda x, axis=-1: torch.softmax(x, dim=axis),
        "LogSoftmax": lambda x, axis=-1: F.log_softmax(x, dim=axis),
        "Conv": conv,
        "MaxPool": max_pool,
        "AveragePool": average_pool,
        "BatchNormalization": lambda x, s, b, m, v, epsilon=1e-5, **_: F.batch_norm(x, m, v, s, b, False, 0.0, epsilon),
        "LayerNormalization": lambda x, s, b, axis=-1, epsilon=1e-5: F.layer_norm(x, x.shape[axis % x.dim():], s, b,
                                                                                epsilon),
        "GRU": gru,
        "LSTM": lstm,
    }


def evaluate(model, x, ops=None, array=np.asarray):
    """Runs the ONNX model `model` (an onnx.ModelProto) on input `x`, node by node in the file's
    order (ONNX keeps nodes topologically sorted), with operators `ops` (NUMPY_OPS by default)
    on values made by `array` (float64; integer constants, Squeeze's axes, as they are). An
    operator with several outputs returns a tuple; an input or output named "" is left out."""
    ops = NUMPY_OPS if ops is None else ops
    values = {}
    for t in model.graph.initializer:
        value = numpy_helper.to_array(t)
        values[t.name] = array(value.astype(np.float64) if value.dtype.kind == "f" else np.array(value))
    values[model.graph.input[0].name] = array(np.asarray(x, dtype=np.float64))
    for node in model.graph.node:
        if node.op_type not in ops:
            raise NotImplementedError("the test's interpreter has no %s (node %s)" % (node.op_type, node.name))
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        results = ops[node.op_type](*[values[i] if i else None for i in node.input], **attributes)
        for name, result in zip(node.output, results if isinstance(results, tuple) else (results,)):
            if name:
                values[name] = result
    return values[model.graph.output[0].name]


# --- the interpreter checked against explicit loops --------------------------------------------

class Interpreter(unittest.TestCase):
    """The reference's convolution and pooling against loops written from the definitions."""

    def test_conv_matches_loops_with_padding_stride_dilation_and_groups(self):
        g = np.random.default_rng(3)
        x, w, b = g.standard_normal((2, 4, 7, 6)), g.standard_normal((6, 2, 3, 2)), g.standard_normal(6)
        a = dict(strides=[2, 1], pads=[1, 0, 1, 0], dilations=[1, 2], group=2)
        y = _conv(x, w, b, **a)
        padded = np.pad(x, [(0, 0), (0, 0), (1, 1), (0, 0)])
        oh, ow = (9 - 3) // 2 + 1, (6 - 3) // 1 + 1
        self.assertEqual(y.shape, (2, 6, oh, ow))
        for n, o, i, j in itertools.product(range(2), range(6), range(oh), range(ow)):
            group = o // 3
            want = b[o] + sum(w[o, c, ky, kx] * padded[n, group * 2 + c, 2 * i + ky, j + 2 * kx]
                              for c in range(2) for ky in range(3) for kx in range(2))
            self.assertAlmostEqual(y[n, o, i, j], want, places=12)

    def test_a_causal_conv_matches_loops(self):
        """Padding before the start only, as causal_conv1d's export writes it."""
        g = np.random.default_rng(5)
        x, w, b = g.standard_normal((2, 3, 8)), g.standard_normal((4, 3, 3)), g.standard_normal(4)
        y = _conv(x, w, b, pads=[4, 0], dilations=[2])
        self.assertEqual(y.shape, (2, 4, 8))
        for n, o, t in itertools.product(range(2), range(4), range(8)):
            want = b[o] + sum(w[o, c, k] * x[n, c, t - 2 * (2 - k)] for c in range(3) for k in range(3) if t - 2 * (2 - k) >= 0)
            self.assertAlmostEqual(y[n, o, t], want, places=12)

    def test_pools_match_loops(self):
        x = np.random.default_rng(4).standard_normal((1, 2, 5, 5))
        a = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        top, mean = _max_pool(x, **a), _average_pool(x, count_include_pad=1, **a)
        for c, i, j in itertools.product(range(2), range(3), range(3)):
            window = [x[0, c, 2 * i + di - 1, 2 * j + dj - 1] for di in range(3) for dj in range(3)
                      if 0 <= 2 * i + di - 1 < 5 and 0 <= 2 * j + dj - 1 < 5]
            self.assertEqual(top[0, c, i, j], max(window))
            self.assertAlmostEqual(mean[0, c, i, j], sum(window) / 9, places=12)


# --- the exported models -------------------------------------------------------------------------

@needs_onnx
@needs_program
class Exported(unittest.TestCase):
    """The program's networks, exported once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.dir = Path(tempfile.mkdtemp(prefix="metagrad_onnx_"))
        subprocess.run([PROGRAM, str(cls.dir)], check=True)
        cls.models = {name: metagrad_onnx.export(cls.dir / (name + ".safetensors"), cls.dir / (name + ".onnx"))
                      for name in MODELS}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def io(self, name):
        arrays = mgst.load(self.dir / (name + "_io.safetensors"))
        return arrays["x"], arrays["y"]

    def read_back(self, name):
        """The model as the file holds it, checked again as a file."""
        path = str(self.dir / (name + ".onnx"))
        onnx.checker.check_model(path, full_check=True)
        return onnx.load(path)

    def test_every_model_passes_the_checker_with_its_io_declared(self):
        for name in MODELS:
            with self.subTest(name):
                model = self.read_back(name)
                self.assertEqual([o.version for o in model.opset_import], [17])
                self.assertEqual(model.ir_version, 8)
                x, y = self.io(name)
                (input_,), (output,) = model.graph.input, model.graph.output
                self.assertEqual((input_.name, output.name), ("input", "output"))
                for value, array in ((input_, x), (output, y)):
                    dims = value.type.tensor_type.shape.dim
                    self.assertEqual(dims[0].dim_param, "batch")
                    self.assertEqual([d.dim_value for d in dims[1:]], list(array.shape[1:]))

    def test_outputs_match_metagrads_through_numpy(self):
        for name in MODELS:
            with self.subTest(name):
                x, y = self.io(name)
                got = evaluate(self.read_back(name), x)
                difference = float(np.max(np.abs(got - y)))
                print("\n  %-14s numpy reference: max |onnx - metagrad| = %.2e (|y| up to %.2f)"
                      % (name, difference, float(np.max(np.abs(y)))), end="", file=sys.stderr)
                np.testing.assert_allclose(got, y, rtol=0, atol=TOLERANCE)

    @needs_torch
    def test_outputs_match_metagrads_through_torch_functional(self):
        for name in MODELS:
            with self.subTest(name):
                x, y = self.io(name)
                with torch.no_grad():
                    got = evaluate(self.read_back(name), x, _torch_ops(), torch.from_numpy).numpy()
                    reference = evaluate(self.read_back(name), x)
                print("\n  %-14s torch.nn.functional: max |onnx - metagrad| = %.2e"
                      % (name, float(np.max(np.abs(got - y)))), end="", file=sys.stderr)
                np.testing.assert_allclose(got, y, rtol=0, atol=TOLERANCE)
                # The two evaluations agree far more closely than either with float32.
                np.testing.assert_allclose(got, reference, rtol=0, atol=1e-10)

    def test_a_single_sample_runs_through_the_free_batch_axis(self):
        x, y = self.io("fashion_cnn")
        np.testing.assert_allclose(evaluate(self.read_back("fashion_cnn"), x[2:3]), y[2:3], rtol=0, atol=TOLERANCE)

    def test_the_cnn_transposes_once_each_way_and_leaves_out_flip_and_dropout(self):
        ops = [n.op_type for n in self.models["fashion_cnn"].graph.node]
        self.assertEqual(ops, ["Transpose", "Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "BatchNormalization",
                               "Relu", "MaxPool", "Transpose", "Flatten", "Gemm", "Relu", "Gemm"])
        self.assertEqual([n.op_type for n in self.models["fashion_mlp"].graph.node], ["Gemm", "Relu", "Gemm", "Relu", "Gemm"])
        self.assertEqual([n.op_type for n in self.models["nothing"].graph.node], ["Identity"])

    def test_initializers_are_the_checkpoints_tensors_in_onnxs_layout(self):
        weights = mgst.load(self.dir / "fashion_cnn.safetensors")
        initializers = {t.name: numpy_helper.to_array(t) for t in self.models["fashion_cnn"].graph.initializer}
        self.assertEqual(sorted(initializers), sorted(weights))  # every tensor used, under its name
        np.testing.assert_array_equal(initializers["2.weight"], np.transpose(weights["2.weight"], (0, 3, 1, 2)))
        np.testing.assert_array_equal(initializers["3.running_var"], weights["3.running_var"])

    def test_recurrent_layers_run_onnxs_operators_time_first(self):
        ops = {name: [n.op_type for n in self.models[name].graph.node] for name in
               ("sequence_gru", "sequence_stack", "sequence_last", "causal_convs")}
        self.assertEqual(ops["sequence_gru"], ["Transpose", "GRU", "Squeeze", "Transpose", "MatMul", "Add"])
        self.assertEqual(ops["sequence_stack"], ["Transpose", "Conv", "Transpose", "LSTM", "Squeeze", "Transpose", "Transpose",
                                                 "GRU", "Squeeze", "Gemm"])
        self.assertEqual(ops["sequence_last"], ["Transpose", "LSTM", "Squeeze", "Gemm"])
        self.assertEqual(ops["causal_convs"], ["Transpose", "Conv", "Tanh", "Conv", "Transpose"])
        for node in self.models["sequence_stack"].graph.node:
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if node.op_type == "GRU":
                # Only Y_h, the last state, is taken (last_step); PyTorch's reset after the product.
                self.assertEqual(list(node.output)[0], "")
                self.assertEqual(attributes, {"hidden_size": 4, "linear_before_reset": 1})
            if node.op_type == "LSTM":
                self.assertEqual(attributes, {"hidden_size": 6})
            if node.op_type == "Conv":
                self.assertEqual(attributes["pads"], [1, 0])  # (K-1)*D before the start, none after

    def test_recurrent_weights_are_the_checkpoints_with_onnxs_gate_order(self):
        weights = mgst.load(self.dir / "sequence_stack.safetensors")
        initializers = {t.name: numpy_helper.to_array(t) for t in self.models["sequence_stack"].graph.initializer}
        # LSTM (layer 2): PyTorch's gates i, f, g, o; ONNX's i, o, f, c.
        i, f, g, o = np.split(weights["2.weight_ih_l0"], 4)
        np.testing.assert_array_equal(initializers["2/W"], np.concatenate([i, o, f, g])[None])
        i, f, g, o = np.split(weights["2.weight_hh_l0"], 4)
        np.testing.assert_array_equal(initializers["2/R"], np.concatenate([i, o, f, g])[None])
        # GRU (layer 3): PyTorch's r, z, n; ONNX's z, r, h, and B = [Wb, Rb].
        r, z, n = np.split(weights["3.bias_ih_l0"], 3)
        r_h, z_h, n_h = np.split(weights["3.bias_hh_l0"], 3)
        np.testing.assert_array_equal(initializers["3/B"], np.concatenate([z, r, n, z_h, r_h, n_h])[None])
        self.assertEqual(initializers["3/W"].shape, (1, 12, 6))
        np.testing.assert_array_equal(initializers["1.weight"], np.transpose(weights["1.weight"], (0, 2, 1)))

    def test_a_separate_description_gives_the_same_model(self):
        for name in ("fashion_mlp", "blocks", "sequence_stack"):
            with self.subTest(name):
                plain = self.dir / (name + "_plain.safetensors")
                arrays = mgst.load(self.dir / (name + ".safetensors"))
                mgst.save(arrays, plain, {"format": "pt"})  # as save_parameters writes, less the network
                model = metagrad_onnx.export(plain, graph=str(self.dir / (name + ".json")))
                self.assertEqual(model.SerializeToString(), self.models[name].SerializeToString())

    def test_the_command_line_writes_a_checked_model(self):
        out = self.dir / "cli.onnx"
        run = subprocess.run([sys.executable, str(ROOT / "python" / "metagrad_onnx.py"),
                              str(self.dir / "fashion_mlp.safetensors"), str(out)], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("onnx.checker passed", run.stdout)
        self.assertEqual(onnx.load(str(out)).SerializeToString(), self.models["fashion_mlp"].SerializeToString())

    def test_refusals_name_the_problem(self):
        arrays = mgst.load(self.dir / "fashion_mlp.safetensors")
        description = mgst.load_metadata(self.dir / "fashion_mlp.safetensors")[metagrad_onnx.METADATA_KEY]
        missing = dict(arrays)
        del missing["3.bias"]
        path = self.dir / "missing.safetensors"
        mgst.save(missing, path)
        with self.assertRaisesRegex(ValueError, "needs tensor '3.bias'"):
            metagrad_onnx.export(path, graph=description)
        with self.assertRaisesRegex(ValueError, "no 'metagrad.onnx_graph' metadata"):
            metagrad_onnx.export(path)
        with self.assertRaisesRegex(ValueError, "the parameters are of the network .*784.* the graph describes .*28, 28, 1"):
            metagrad_onnx.export(self.dir / "fashion_mlp.safetensors", graph=str(self.dir / "fashion_cnn.json"))
        with self.assertRaisesRegex(ValueError, "not a metagrad graph description"):
            metagrad_onnx.export(self.dir / "fashion_mlp.safetensors", graph='{"format": "other"}')
        run = subprocess.run([sys.executable, str(ROOT / "python" / "metagrad_onnx.py"), str(path), str(self.dir / "no.onnx")],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 1)
        self.assertIn("no 'metagrad.onnx_graph' metadata", run.stderr)

    def test_the_docs_block_runs(self):
        lines = DOCS.read_text().splitlines()
        start = next(i for i, line in enumerate(lines)
                     if line.strip() == "```python" and i + 1 < len(lines) and lines[i + 1].strip() == MARKER)
        code = "\n".join(lines[start + 1:lines.index("```", start + 1)]) + "\n"
        work = self.dir / "docs"
        work.mkdir()
        shutil.copy(self.dir / "fashion_mlp.safetensors", work / "model.safetensors")
        x, y = self.io("fashion_mlp")
        cwd = os.getcwd()
        os.chdir(work)
        try:
            namespace = {"__name__": "docs_snippet"}
            exec(compile(code, "%s (%s)" % (DOCS, MARKER), "exec"), namespace)
        finally:
            os.chdir(cwd)
        self.assertTrue((work / "model.onnx").exists())
        np.testing.assert_allclose(evaluate(onnx.load(str(work / "model.onnx")), x), y, rtol=0, atol=TOLERANCE)


if __name__ == "__main__":
    unittest.main()
