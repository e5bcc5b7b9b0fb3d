"""Safetensors files and PyTorch state dicts with numpy alone: metagrad's interchange on a stock
Debian 12 (python3-numpy; python3-torch for the two state-dict functions), no pip.

    import metagrad_safetensors as mgst          # with PYTHONPATH=path/to/metagrad/python

    arrays = mgst.load("model.safetensors")          # {name: numpy array}, as metagrad saved them
    mgst.save(arrays, "copy.safetensors", metadata={"format": "pt"})
    model.load_state_dict(mgst.load_state_dict("model.safetensors", flatten={"4": (4, 5, 4)}))
    mgst.save_state_dict(model.state_dict(), "model.safetensors", flatten={"4": (4, 5, 4)})

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
N bytes of JSON mapping each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
(offsets into the data after the header) plus an optional "__metadata__" object of strings, then
the tensors' bytes, little-endian, C order.

Reading is strict: a file that is not exactly of this form raises ValueError naming the file,
the tensor where there is one, and the problem (a header length beyond the file, a header that is
not JSON or not of the format's structure, an unknown or unsupported dtype, a shape whose byte
count differs from its offsets, offsets out of range, overlapping, leaving a gap or trailing
bytes), as metagrad's own reader does. Writing follows the reference writer byte for byte: tensors
by descending element alignment then by name (so a file of one dtype is in name order), laid out
contiguously after a compact JSON header ("__metadata__" first, its keys sorted) padded with
spaces to a multiple of 8 bytes.

dtypes: F64, F32, F16, BF16 (read as float32; written from float arrays with `dtypes={name:
"BF16"}`, rounded to nearest even), I64, I32, I16, I8, U64, U32, U16, U8, BOOL. The 8-bit floats
are refused with a ValueError.

When the `safetensors` package is importable (pip's, not packaged by Debian 12), `load` and `save`
hand the data to it after this module has validated the file or the arrays, so the results are
the same; set `prefer_package = False` to use numpy alone. The package writes "__metadata__" in
its own key order, which is the only byte that can differ.

Layouts. metagrad stores images and kernels channels last: a conv2d weight is Out x kh x kw x In
(PyTorch: Out x In x kh x kw), a conv1d weight Out x k x In (PyTorch: Out x In x k); and a dense
layer after `flatten` of H x W x C images takes its inputs in (y, x, c) order where PyTorch's
Linear after Flatten takes (c, y, x). `from_torch` and `to_torch` convert between the two, and
between batch norm's tensors (PyTorch's `num_batches_tracked`, which metagrad does not keep, is
dropped and put back as 0). Every other tensor has the same layout in both.
"""
import json
import os

import numpy as np

__all__ = ["load", "load_metadata", "save", "from_torch", "to_torch", "load_state_dict", "save_state_dict",
           "prefer_package", "MAX_HEADER_BYTES"]

#: Use the `safetensors` package for the data when it is importable (the checks stay this module's).
prefer_package = True

#: Headers above this size are refused before they are read (the reference reader's limit).
MAX_HEADER_BYTES = 100_000_000

# The numpy type of each dtype this module reads and writes. BF16 has none: its 16 bits are the
# upper half of a float32's, read through uint16.
_NUMPY = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"), "U16": np.dtype("<u2"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
    "I32": np.dtype("<i4"), "U32": np.dtype("<u4"), "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "U64": np.dtype("<u8"),
}
# The reference's dtypes in increasing alignment, the order its writer sorts by (descending).
_ALIGNMENT_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
                    "F64", "I64", "U64"]
_UNSUPPORTED = {"F8_E5M2", "F8_E4M3"}
# numpy's (kind, item size) -> dtype, for writing.
_FROM_NUMPY = {(dtype.kind, dtype.itemsize): name for name, dtype in _NUMPY.items() if name != "BF16"}


def _package():
    """The `safetensors.numpy` module when it may be used, else None."""
    if not prefer_package:
        return None
    try:
        import safetensors.numpy as package
    except ImportError:
        return None
    return package


# --- reading -----------------------------------------------------------------------------------

def _fail(path, problem, tensor=None):
    where = "" if tensor is None else "tensor '%s': " % tensor
    raise ValueError("%s: %s%s" % (path, where, problem))


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _Duplicate("the header names '%s' twice" % key)
        seen.add(key)
    return dict(pairs)


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parse(path, data):
    """Validates the whole file `data` (bytes); returns (entries, metadata, data_start) where
    entries is a list of (name, dtype, shape, begin, end) in offset order."""
    if len(data) < 8:
        _fail(path, "the file has %d bytes, fewer than the 8 of the header length" % len(data))
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES:
        _fail(path, "header length %d is above the limit of %d bytes" % (n, MAX_HEADER_BYTES))
    if n > len(data) - 8:
        _fail(path, "header length %d is larger than the file (%d bytes after the length)" % (n, len(data) - 8))
    try:
        text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        _fail(path, "the header is not UTF-8 (%s)" % e)
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _Duplicate as e:
        _fail(path, str(e))
    except ValueError as e:
        _fail(path, "the header is not JSON (%s)" % e)
    if not isinstance(header, dict):
        _fail(path, "the header is not a JSON object but %s" % type(header).__name__)

    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict):
            _fail(path, "__metadata__ is not an object of strings")
        for key, value in metadata.items():
            if not isinstance(value, str):
                _fail(path, "__metadata__ '%s' is %s, not a string" % (key, json.dumps(value)))

    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            _fail(path, "the entry is %s, not an object with dtype, shape and data_offsets" % json.dumps(info), name)
        for field in ("dtype", "shape", "data_offsets"):
            if field not in info:
                _fail(path, "the field '%s' is missing" % field, name)
        for field in info:
            if field not in ("dtype", "shape", "data_offsets"):
                _fail(path, "unexpected field '%s'" % field, name)
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str):
            _fail(path, "dtype %s is not a string" % json.dumps(dtype), name)
        if dtype in _UNSUPPORTED:
            _fail(path, "dtype %s is not supported (supported: %s)" % (dtype, ", ".join(_NUMPY)), name)
        if dtype not in _NUMPY:
            _fail(path, "unknown dtype %s (supported: %s)" % (json.dumps(dtype), ", ".join(_NUMPY)), name)
        if not isinstance(shape, list) or not all(_is_count(e) for e in shape):
            _fail(path, "shape %s is not a list of non-negative integers" % json.dumps(shape), name)
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(e) for e in offsets)):
            _fail(path, "data_offsets %s are not two non-negative integers" % json.dumps(offsets), name)
        begin, end = offsets
        if end < begin:
            _fail(path, "data_offsets [%d, %d] are reversed" % (begin, end), name)
        count = 1
        for e in shape:
            count *= e
        size = count * _NUMPY[dtype].itemsize
        if size != end - begin:
            _fail(path, "shape %s of %s takes %d bytes but data_offsets [%d, %d] hold %d"
                  % (shape, dtype, size, begin, end, end - begin), name)
        entries.append((name, dtype, tuple(shape), begin, end))

    available = len(data) - 8 - n
    entries.sort(key=lambda e: (e[3], e[4]))
    for name, _, _, begin, end in entries:
        if end > available:
            _fail(path, "data_offsets [%d, %d] are out of range: the data area has %d bytes" % (begin, end, available),
                  name)
    position, previous = 0, None
    for name, _, _, begin, end in entries:
        if begin < position:
            _fail(path, "data_offsets [%d, %d] overlap tensor '%s' (which ends at %d)"
                  % (begin, end, previous, position), name)
        if begin > position:
            _fail(path, "a gap of %d bytes before it (data_offsets [%d, %d]; the bytes before end at %d)"
                  % (begin - position, begin, end, position), name)
        position, previous = end, name
    if position != available:
        _fail(path, "%d trailing bytes after the last tensor (the tensors end at %d, the data area has %d bytes)"
              % (available - position, position, available))
    return entries, metadata, 8 + n


def _bf16_to_float32(bits):
    return (bits.astype("<u4") << 16).view("<f4")


def _read(path):
    """(arrays, dtypes, metadata) of a validated file; BF16 tensors as float32."""
    with open(path, "rb") as f:
        data = f.read()
    entries, metadata, start = _parse(path, data)
    package = _package()
    from_package = None
    if package is not None and all(dtype != "BF16" for _, dtype, _, _, _ in entries):
        from_package = package.load(data)
    arrays, dtypes = {}, {}
    for name, dtype, shape, begin, end in entries:
        if from_package is not None:
            array = np.array(from_package[name], order="C", copy=True)  # writable, as below
        else:
            array = np.frombuffer(data, dtype=_NUMPY[dtype], count=(end - begin) // _NUMPY[dtype].itemsize,
                                  offset=start + begin).reshape(shape)
            if dtype == "BF16":
                array = _bf16_to_float32(array)
            array = array.astype(array.dtype.newbyteorder("="), copy=True)
        if dtype == "BOOL":
            raw = np.frombuffer(data, dtype=np.uint8, count=end - begin, offset=start + begin)
            if raw.size and raw.max() > 1:
                _fail(path, "BOOL value %d at element %d (expected 0 or 1)" % (raw.max(), int(np.argmax(raw > 1))),
                      name)
        arrays[name], dtypes[name] = array, dtype
    return arrays, dtypes, metadata


def load(path):
    """Reads the safetensors file at `path`: a dict from tensor name to a numpy array (C order,
    native byte order, writable), in the file's order. BF16 tensors come as float32. Raises
    ValueError, naming the file, the tensor and the problem, for a file that is not valid."""
    return _read(path)[0]


def load_metadata(path):
    """The "__metadata__" of the safetensors file at `path` (a dict of strings; empty when it has
    none), after validating the whole file as `load` does."""
    return dict(_read(path)[2] or {})


# --- writing -----------------------------------------------------------------------------------

def _float32_to_bf16(values):
    """float32 -> BF16 bits, rounded to nearest even; NaN stays NaN (quiet)."""
    bits = np.ascontiguousarray(values, dtype="<f4").view("<u4")
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    nan = np.isnan(values)
    rounded = np.where(nan, (bits >> np.uint32(16)) | np.uint32(0x0040), rounded)
    return rounded.astype("<u2")


def _prepare(tensors, dtypes):
    """[(name, dtype, shape, little-endian bytes)] in the reference writer's order."""
    if not isinstance(tensors, dict):
        raise ValueError("save: tensors must be a dict from name to array, not %s" % type(tensors).__name__)
    dtypes = dict(dtypes or {})
    for name in dtypes:
        if name not in tensors:
            raise ValueError("save: dtypes names '%s', which is not among the tensors" % name)
    out = []
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise ValueError("save: tensor names must be strings, not %r" % (name,))
        if name == "__metadata__":
            raise ValueError("save: '__metadata__' is the format's metadata, not a tensor name")
        array = np.asarray(value)
        inferred = _FROM_NUMPY.get((array.dtype.kind, array.dtype.itemsize))
        if inferred is None:
            supported = ", ".join(str(_NUMPY[n].newbyteorder("=")) for n in _FROM_NUMPY.values())
            raise ValueError("save: tensor '%s': numpy dtype %s has no safetensors dtype (supported: %s)"
                             % (name, array.dtype, supported))
        dtype = dtypes.get(name, inferred)
        if dtype == "BF16" and dtype != inferred:
            if array.dtype.kind != "f":
                raise ValueError("save: tensor '%s': BF16 is asked for but the array is %s, not floating point"
                                 % (name, array.dtype))
            payload = _float32_to_bf16(array.astype(np.float32))
        elif dtype != inferred:
            raise ValueError("save: tensor '%s': dtype %s is asked for but the array is %s (%s); convert it first"
                             % (name, dtype, array.dtype, inferred))
        else:
            payload = np.ascontiguousarray(array, dtype=_NUMPY[dtype])
        out.append((name, dtype, tuple(int(e) for e in array.shape), payload.tobytes(order="C")))
    out.sort(key=lambda t: (-_ALIGNMENT_ORDER.index(t[1]), t[0]))
    return out


def _header(prepared, metadata):
    header = {}
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise ValueError("save: metadata must be a dict of strings to strings, not %r" % (metadata,))
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    offset = 0
    for name, dtype, shape, payload in prepared:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(payload)]}
        offset += len(payload)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return text + b" " * ((8 - len(text) % 8) % 8)


def save(tensors, path, metadata=None, *, dtypes=None):
    """Writes `tensors` (a dict from name to numpy array or anything numpy.asarray takes) to
    `path` as a safetensors file, with `metadata` (a dict of strings, or None for none) as its
    "__metadata__". The dtype follows the array's (float64 -> F64, int32 -> I32, bool -> BOOL ...);
    `dtypes={"name": "BF16"}` stores a float array as BF16, rounded to nearest even (from float32).
    The layout is the reference writer's (see the module's documentation). As metagrad does, the
    file is written to `path + ".partial"`, synced, renamed over `path` and the directory synced,
    so an interrupted save leaves the previous file or the new one.
    Raises ValueError for a name, an array or metadata that cannot be written."""
    prepared = _prepare(tensors, dtypes)
    header = _header(prepared, metadata)
    package = _package()
    partial = os.fspath(path) + ".partial"
    try:
        with open(partial, "wb") as f:
            if package is not None and all(dtype != "BF16" for _, dtype, _, _ in prepared):
                arrays = {name: np.frombuffer(payload, dtype=_NUMPY[dtype]).reshape(shape)
                          for name, dtype, shape, payload in prepared}
                f.write(bytes(package.save(arrays, metadata=metadata)))
            else:
                f.write(len(header).to_bytes(8, "little"))
                f.write(header)
                for _, _, _, payload in prepared:
                    f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# --- layouts -----------------------------------------------------------------------------------

def _as_numpy(value):
    """A numpy array of a numpy array or a torch tensor (bfloat16 as float32), without importing torch."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _resolve(arrays, name, what):
    """The tensor a user names: 'NAME' itself or, for a layer, 'NAME.weight'."""
    for candidate in (name, name + ".weight"):
        if candidate in arrays:
            return candidate
    raise ValueError("%s '%s': there is no tensor '%s' or '%s.weight'" % (what, name, name, name))


def _convolution_names(arrays, convolutions):
    if isinstance(convolutions, str) and convolutions == "auto":
        return [n for n, a in arrays.items() if n.rsplit(".", 1)[-1] == "weight" and a.ndim >= 3]
    if convolutions is None:
        return []
    if isinstance(convolutions, str):
        convolutions = [convolutions]
    names = []
    for given in convolutions:
        name = _resolve(arrays, given, "convolution")
        if arrays[name].ndim < 3:
            raise ValueError("convolution '%s': '%s' has shape %s; a convolution's weight has 3 (conv1d) or 4 (conv2d) "
                             "axes" % (given, name, list(arrays[name].shape)))
        names.append(name)
    return names


def _flatten_names(arrays, flatten):
    out = {}
    for given, shape in (flatten or {}).items():
        name = _resolve(arrays, given, "flatten")
        weight = arrays[name]
        shape = tuple(int(e) for e in shape)
        if weight.ndim != 2 or len(shape) < 2 or int(np.prod(shape)) != weight.shape[1]:
            raise ValueError("flatten '%s': '%s' has shape %s; a dense layer after flattening images of %s (channels "
                             "first, as PyTorch gives them) has %d columns"
                             % (given, name, list(weight.shape), list(shape), int(np.prod(shape))))
        out[name] = shape
    return out


def _convert(tensors, convolutions, flatten, to_metagrad):
    arrays = {name: _as_numpy(value) for name, value in tensors.items()}
    conv = set(_convolution_names(arrays, convolutions))
    flat = _flatten_names(arrays, flatten)
    out = {}
    for name, array in arrays.items():
        if name in conv:
            # PyTorch Out x In x k... <-> metagrad Out x k... x In: the input channels' axis moves.
            array = np.moveaxis(array, 1, -1) if to_metagrad else np.moveaxis(array, -1, 1)
        elif name in flat:
            # Columns (c, y, x) <-> (y, x, c): the same move on the columns seen as an image.
            torch_shape = flat[name]
            rows = array.shape[0]
            if to_metagrad:
                array = np.moveaxis(array.reshape((rows,) + torch_shape), 1, -1).reshape(rows, -1)
            else:
                metagrad_shape = torch_shape[1:] + torch_shape[:1]
                array = np.moveaxis(array.reshape((rows,) + metagrad_shape), -1, 1).reshape(rows, -1)
        out[name] = np.ascontiguousarray(array)
    return out


def from_torch(tensors, *, convolutions="auto", flatten=None):
    """PyTorch's layout -> metagrad's: a dict of numpy arrays that `save` writes and
    `metagrad::load_parameters` loads. `tensors`: a state dict (torch tensors) or a dict of
    arrays.

    convolutions: whose weights move their input-channel axis last (Out x In x kh x kw ->
    Out x kh x kw x In; Out x In x k -> Out x k x In). "auto" (the default): every tensor named
    `weight` or `*.weight` with 3 or more axes, which in a metagrad network is exactly the
    convolutions (dense and norm weights have 1 or 2; transposed convolutions, whose PyTorch
    layout differs, are not supported). Otherwise a list of layer names ('0', 'features.3') or
    tensor names ('0.weight'), each of which must exist and have 3 or 4 axes; None for none.
    flatten: {layer or tensor name: (C, H, W)} for each dense layer that follows a Flatten of
    images (or (C, L) of sequences), with the shape as PyTorch gives it, channels first: its
    columns are reordered from (c, y, x) to metagrad's (y, x, c).
    Batch norm's `num_batches_tracked` (metagrad keeps no counter) is left out.
    Raises ValueError when a named tensor is missing or has the wrong shape."""
    kept = {name: value for name, value in tensors.items() if name.rsplit(".", 1)[-1] != "num_batches_tracked"}
    return _convert(kept, convolutions, flatten, True)


def to_torch(tensors, *, convolutions="auto", flatten=None):
    """metagrad's layout -> PyTorch's: the inverse of `from_torch`, with the same arguments
    (`flatten` still gives PyTorch's channels-first shape), on a dict of arrays such as `load`
    returns. Each batch norm (a prefix with `running_mean` and `running_var`) gains
    `num_batches_tracked` = 0 (int64), so that `module.load_state_dict` accepts the result
    strictly; it matters to PyTorch only for BatchNorm(momentum=None)."""
    out = _convert(tensors, convolutions, flatten, False)
    for name in list(out):
        prefix, _, last = name.rpartition(".")
        if last == "running_mean" and (prefix + ".running_var" if prefix else "running_var") in out:
            counter = prefix + ".num_batches_tracked" if prefix else "num_batches_tracked"
            out.setdefault(counter, np.array(0, dtype=np.int64))
    return out


# --- PyTorch -----------------------------------------------------------------------------------

def load_state_dict(path, *, convolutions="auto", flatten=None):
    """Reads a safetensors file in metagrad's layout (written by `metagrad::save_parameters` or
    `save_state_dict`) as a PyTorch state dict: `module.load_state_dict(load_state_dict(path,
    ...))`. `convolutions` and `flatten` as for `to_torch`. BF16 tensors come back as
    torch.bfloat16. Imports torch."""
    import torch

    arrays, dtypes, _ = _read(path)
    converted = to_torch(arrays, convolutions=convolutions, flatten=flatten)
    out = {}
    for name, array in converted.items():
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        out[name] = tensor.to(torch.bfloat16) if dtypes.get(name) == "BF16" else tensor
    return out


def save_state_dict(state_dict, path, *, convolutions="auto", flatten=None, metadata=None):
    """Writes a PyTorch state dict in metagrad's layout, for `metagrad::load_parameters`:
    `save_state_dict(module.state_dict(), path, ...)`. `convolutions` and `flatten` as for
    `from_torch`; `num_batches_tracked` is left out; torch.bfloat16 tensors are written as BF16.
    `metadata` defaults to {"format": "pt"}. Imports torch."""
    import torch

    bf16 = [name for name, t in state_dict.items() if isinstance(t, torch.Tensor) and t.dtype == torch.bfloat16
            and name.rsplit(".", 1)[-1] != "num_batches_tracked"]
    arrays = from_torch(state_dict, convolutions=convolutions, flatten=flatten)
    save(arrays, path, {"format": "pt"} if metadata is None else metadata, dtypes={name: "BF16" for name in bf16})
