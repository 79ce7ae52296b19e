"""torch's pooling ops as small ONNX graphs (opset 22), shared by the ONNX backends.

`OnnxBackend` turns a call such as `max_pool2d(x, 3, 2, 1)` into a graph built with
`onnx.helper` for that op, parameters, dtype and input shape, hands it to a subclass to compile
(ONNX Runtime session, `onnx.reference.ReferenceEvaluator`), caches the compiled graph under
that key, and runs it. Unbatched inputs get a batch axis of 1 here and lose it again afterwards.

How each torch parameter is expressed. N: the ONNX op's own attribute. P: explicit padding
computed here. E: emulated with several ONNX ops. U: unsupported, raises NotImplementedError.

| torch op, parameter       | kind | ONNX                                                          |
|---------------------------|------|---------------------------------------------------------------|
| max_pool*d                | N    | `MaxPool`                                                     |
|   kernel_size, stride,    | N    | `kernel_shape`, `strides`, `dilations`                        |
|   dilation                |      |                                                               |
|   padding                 | N    | `pads`: the padding at both ends of every axis                |
|   ceil_mode               | N    | `ceil_mode`                                                   |
|   return_indices          | N    | the `Indices` output (flat over N*C*spatial), minus each      |
|                           |      | (n, c) plane's offset                                         |
| min_pool*d                | E    | `Neg`, `MaxPool`, `Neg` (floats); `BitwiseNot`, `MaxPool`,    |
|                           |      | `BitwiseNot` (int8, uint8); indices as for max_pool           |
| avg_pool*d                | N    | `AveragePool`                                                 |
|   kernel_size, stride,    | N    | `kernel_shape`, `strides`, `pads`, `ceil_mode`,               |
|   padding, ceil_mode,     |      | `count_include_pad`                                           |
|   count_include_pad       |      |                                                               |
|   divisor_override        | P+E  | `Pad` with zeros, window sums by a `Conv` with a kernel of    |
|                           |      | ones over each (n, c) plane, divided by the override          |
| adaptive_avg_pool*d       | E    | per axis `Gather` of the windows, `Where`, `ReduceSum`; one   |
|                           |      | `Div` by the window size                                      |
| adaptive_max_pool*d       | E    | per axis `Gather` of the windows, `ReduceMax`                 |
|   return_indices          | U    | no ONNX op gives the position of an adaptive window's max     |
| global_avg_pool*d         | N    | `GlobalAveragePool`                                           |
| layout                    | N    | NCHW, the only layout ONNX pools                              |
| dtypes                    | U    | outside an op schema's types: int16/int32/int64 max and min   |
|                           |      | pooling, int16 adaptive max, every integer average. A runtime |
|                           |      | may also lack a kernel the schema allows (see its module)     |

Why the emulations are exact rather than approximate:
- min pooling: `Neg` flips the sign bit, which reverses the order of floats, maps NaN to NaN,
  ties to ties at the same positions, and the -inf padding of max onto the +inf padding of min.
  `Neg` would overflow on the integer minimum, so integers use `BitwiseNot` (~v = -v - 1), an
  order-reversing bijection of every integer type. What this tests is therefore `MaxPool`,
  NaN handling included.
- divisor_override: the window grid (how many windows, ceil mode included) is the backend's own
  `AveragePool` output shape, read at run time with `Shape`, so the emulation adds no output-size
  rule of its own. The input is then zero-padded to hold every window wholly, and a `Conv` with
  a kernel of ones sums each window, divided by the override, both in the input's dtype (a
  float16 window sum past float16's range is inf, as any float16 graph computes it). (An
  `AveragePool` of the padded input times the kernel volume would round twice: its quotient is
  rounded, which the product cannot undo for subnormal sums.)
- adaptive pooling: windows are torch's `[floor(i*L/O), ceil((i+1)*L/O))` per axis
  (AdaptivePooling.h). They are gathered and reduced one axis at a time: a box's sum is the sum
  of its rows' sums and its max the max of its rows' maxes, NaN and infinities included, so
  the result is the reduction's own. A `MatMul` with averaging matrices (the usual recipe) is
  not used: 0 * inf = NaN there lets one infinity poison every output of its row. Sums and the
  division by the window size run in the input's dtype: an emulation never accumulates wider
  than the ONNX ops it is made of (a runtime that computes a 16-bit op in float32 does so itself). For max, the index table repeats the window's last position instead of masking, which
  cannot change a max.
- ONNX has no integer average (`AveragePool`, `GlobalAveragePool` take floats only), so every
  integer average is unsupported rather than emulated.

Parameters are not validated here beyond what building a graph needs, so whatever the runtime
accepts or rejects is what the suite sees. Where ONNX has no such parameter and the adapter is
the only implementation, it follows torch's rules: `divisor_override` is a non-zero int, an
adaptive `output_size` is >= 0 (and an int, not None, in 1-d), and adaptive pooling (no ONNX
op at all) takes an input whose channel and spatial sizes are non-zero. The divisor_override
graph declares its input with symbolic sizes: with static sizes a runtime may fold the `Shape`
of its window-grid `AveragePool` into a constant and never run (or check) that node. Adaptive and divisor_override
graphs are built from the input's spatial sizes, so an input of the wrong rank raises ValueError
while building; every other graph declares an input of rank spatial_dims + 2 and leaves a wrong
rank to the runtime's own input check.
"""

from __future__ import annotations

import math
import operator
from collections import OrderedDict

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from conformance.backends.torch_signatures import FAMILIES, bind, split_op_name

OPSET = 22
# Opset 22 first appeared with IR version 10; newer IR versions may exceed what a runtime reads.
IR_VERSION = 10
CACHE_SIZE = 512


class UnsupportedByOnnx(NotImplementedError):
    """ONNX itself cannot express the case, whatever the runtime."""


def _tensor_type(dtype: np.dtype) -> int:
    try:
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    except (KeyError, TypeError, ValueError) as error:
        raise UnsupportedByOnnx(f"ONNX has no tensor type for NumPy's {dtype}") from error


def _require_type(op_type: str, tensor_type: int) -> None:
    """The dtype check ONNX itself makes: is the type in the op schema's constraint for data?"""
    schema = onnx.defs.get_schema(op_type, OPSET)
    data_param = schema.inputs[0].type_str
    allowed = next(c.allowed_type_strs for c in schema.type_constraints
                   if c.type_param_str == data_param)
    element = helper.tensor_dtype_to_string(tensor_type).removeprefix("TensorProto.").lower()
    name = f"tensor({element})"
    if name not in allowed:
        raise UnsupportedByOnnx(
            f"ONNX {op_type} (opset {OPSET}) does not take {name}; "
            f"it takes {', '.join(sorted(allowed))}"
        )


def _per_axis(value, spatial_dims: int) -> tuple:
    """torch's int-or-tuple argument as one entry per axis; anything else passes through as is."""
    entries = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return entries * spatial_dims if len(entries) == 1 else entries


def _freeze(value):
    """A cache key part. Types are kept: 2 == 2.0 == True, but they build different models."""
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_freeze(v) for v in value))
    return (type(value), value)


class _Graph:
    """Just enough of a graph builder: fresh names, constants, nodes."""

    def __init__(self, tensor_type: int, shape: tuple[int, ...], spatial_dims: int):
        self.tensor_type = tensor_type
        self.shape = tuple(shape)
        self.spatial_dims = spatial_dims
        self.nodes, self.initializers, self.count = [], [], 0
        if len(shape) != spatial_dims + 2:
            # Declared as an N-d pooling input all the same, so that the runtime's own input
            # check rejects x: GlobalAveragePool, for one, would pool any rank it is given.
            shape = ["n", "c", *(f"d{axis}" for axis in range(spatial_dims))]
        self.input = helper.make_tensor_value_info("x", tensor_type, list(shape))

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """For graphs whose constants depend on the input size (adaptive, divisor_override)."""
        if len(self.shape) != self.spatial_dims + 2:
            raise ValueError(
                f"a {self.spatial_dims}-d pooling graph needs an input of rank "
                f"{self.spatial_dims + 1} or {self.spatial_dims + 2}, not shape {self.shape}"
            )
        return self.shape[2:]

    def require_nonempty(self, op_name: str) -> None:
        """torch's input rule, for graphs the adapter alone defines (adaptive pooling): only
        the batch dimension may be 0. The batch axis was added here for an unbatched input, so
        every dimension after the first must be non-zero either way."""
        if 0 in self.spatial_shape or self.shape[1] == 0:
            raise ValueError(
                f"{op_name}: expected an input with non-zero channel and spatial sizes "
                f"(only the batch may be empty), got {list(self.shape)}"
            )

    def declare_input_dynamic(self) -> None:
        """Declare x with symbolic sizes, so that a runtime cannot fold `Shape` of a node on x
        into a constant at load time and drop that node unrun (and unchecked)."""
        names = ["n", "c", *(f"d{axis}" for axis in range(self.spatial_dims))]
        self.input = helper.make_tensor_value_info("x", self.tensor_type, names[:len(self.shape)])

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, array, stem: str = "c") -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type: str, inputs, outputs: int = 1, **attributes):
        names = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attributes))
        return names if outputs > 1 else names[0]

    def model(self, outputs) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "pool", [self.input],
            # Values keep the input's type; MaxPool's second output, the indices, is int64.
            [helper.make_tensor_value_info(name, element_type, None)
             for name, element_type in zip(outputs, (self.tensor_type, TensorProto.INT64))],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        return model


def _sliding_attributes(spatial_dims, kernel_size, stride, padding, ceil_mode, dilation=None):
    kernel = _per_axis(kernel_size, spatial_dims)
    # torch: stride=None (or empty) means kernel_size.
    no_stride = stride is None or stride == () or stride == []
    strides = kernel if no_stride else _per_axis(stride, spatial_dims)
    pads = _per_axis(padding, spatial_dims)
    attributes = dict(kernel_shape=list(kernel), strides=list(strides), pads=list(pads) * 2,
                      ceil_mode=int(bool(ceil_mode)))
    if dilation is not None:
        attributes["dilations"] = list(_per_axis(dilation, spatial_dims))
    return attributes


def build_extreme_pool(g: _Graph, dtype, spatial_dims, kernel_size, stride=None, padding=0,
                       dilation=1, ceil_mode=False, return_indices=False, *, minimum=False):
    _require_type("MaxPool", g.tensor_type)
    attributes = _sliding_attributes(spatial_dims, kernel_size, stride, padding, ceil_mode,
                                     dilation)
    x = "x"
    if minimum:
        flip = "BitwiseNot" if np.issubdtype(dtype, np.integer) else "Neg"
        _require_type(flip, g.tensor_type)
        x = g.node(flip, [x])
    outputs = g.node("MaxPool", [x], outputs=2 if return_indices else 1, **attributes)
    values, indices = (outputs if return_indices else (outputs, None))
    if minimum:
        values = g.node(flip, [values])
    return [values, indices] if return_indices else [values]


def build_avg_pool(g: _Graph, dtype, spatial_dims, kernel_size, stride=None, padding=0,
                   ceil_mode=False, count_include_pad=True, divisor_override=None):
    _require_type("AveragePool", g.tensor_type)
    attributes = _sliding_attributes(spatial_dims, kernel_size, stride, padding, ceil_mode)
    if divisor_override is None:
        return [g.node("AveragePool", ["x"], count_include_pad=int(bool(count_include_pad)),
                       **attributes)]

    # ONNX has no divisor_override, so the adapter is its only implementation and applies
    # torch's rule: a non-zero int.
    if isinstance(divisor_override, bool):
        raise TypeError("divisor_override must be an int or None, not bool")
    divisor = operator.index(divisor_override)
    if divisor == 0:
        raise ValueError("divisor_override: divisor must be not zero")
    kernel, strides, pads = (np.array(attributes[key][:spatial_dims], dtype=np.int64)
                             for key in ("kernel_shape", "strides", "pads"))
    lengths = np.array(g.spatial_shape, dtype=np.int64)
    # The backend's own window grid: o windows per axis, however its ceil mode counts them.
    # The input is declared with symbolic sizes, so that this AveragePool runs, and the runtime
    # checks its attributes, instead of `Shape` being folded into a constant at load time.
    g.declare_input_dynamic()
    grid = g.node("Shape", [g.node("AveragePool", ["x"], **attributes)], start=2)
    last_end = g.node("Add", [g.node("Mul", [g.node("Sub", [grid, g.const(np.int64(1))]),
                                             g.const(strides)]), g.const(kernel)])
    overhang = g.node("Max", [g.node("Sub", [last_end, g.const(lengths + 2 * pads)]),
                              g.const(np.zeros(spatial_dims, np.int64))])
    zeros2 = g.const(np.zeros(2, np.int64))
    pad_amounts = g.node("Concat", [zeros2, g.const(pads), zeros2,
                                    g.node("Add", [g.const(pads), overhang])], axis=0)
    # Window sums: a Conv with a kernel of ones over each (n, c) plane of the zero-padded input,
    # in the input's dtype (what the runtime does with it, Cast nodes of its own included, is
    # the runtime's). A sum, not AveragePool's mean times the kernel volume: that quotient is
    # rounded, and the product cannot undo it for subnormal sums.
    padded = g.node("Pad", ["x", pad_amounts])  # constant mode, zeros: they add nothing to a sum
    leading = g.node("Shape", ["x"], end=2)  # (N, C)
    planes = g.node("ReduceProd", [leading], keepdims=1)  # (N * C,)
    one_channel = g.node("Reshape", [padded, g.node("Concat", [
        planes, g.const(np.array([1], np.int64)), g.node("Shape", [padded], start=2)], axis=0)])
    ones = g.const(np.ones((1, 1, *attributes["kernel_shape"]), dtype=dtype))
    sums = g.node("Conv", [one_channel, ones], kernel_shape=attributes["kernel_shape"],
                  strides=attributes["strides"])
    window_sum = g.node("Reshape", [sums, g.node("Concat", [
        leading, g.node("Shape", [sums], start=2)], axis=0)])
    return [g.node("Div", [window_sum, g.const(dtype.type(divisor))])]


def _adaptive_tables(lengths, output_size, spatial_dims):
    """Per axis: gather indices (O, M), and for averages a validity mask (O, M) and counts (O,)."""
    sizes = _per_axis(output_size, spatial_dims)
    if spatial_dims == 1 and None in sizes:
        # torch's 1-d adaptive functions take an int only; "keep the input size" is 2-d/3-d.
        raise TypeError("output_size of 1-d adaptive pooling must be an int, not None")
    tables = []
    for length, size in zip(lengths, sizes, strict=True):
        size = length if size is None else size
        if size < 0:
            raise ValueError(f"adaptive pooling output_size must be >= 0, got {sizes}")
        starts = [(i * length) // size for i in range(size)]
        ends = [-((-(i + 1) * length) // size) for i in range(size)]
        counts = np.array([end - start for start, end in zip(starts, ends)], dtype=np.int64)
        width = int(counts.max()) if size else 1
        taps = np.arange(width, dtype=np.int64)
        offsets = np.array(starts, dtype=np.int64).reshape(size, 1) + taps
        valid = taps < counts.reshape(size, 1)
        last = (np.array(ends, dtype=np.int64) - 1).reshape(size, 1)
        tables.append((np.minimum(offsets, last), valid, counts))
    return tables


def _reduce_windows(g: _Graph, x: str, tables, reduce: str, fill: str | None = None) -> str:
    """Reduce every adaptive window, one spatial axis at a time.

    The spatial axes go in front first: a `Gather` on an outer axis copies whole blocks, while
    on the innermost axis it goes element by element and is about 30 times slower in ONNX
    Runtime. Per axis, `Gather` turns L into (O, M) and the reduction removes M. With `fill`,
    positions past a window's end (the index table's padding) are replaced by `fill` first.
    """
    dims = len(tables)
    x = g.node("Transpose", [x], perm=[*range(2, 2 + dims), 0, 1])
    for axis in reversed(range(dims)):
        index, valid, _ = tables[axis]
        x = g.node("Gather", [x, g.const(index)], axis=axis)
        if fill is not None:
            mask = valid.reshape(valid.shape + (1,) * (dims - axis + 1))
            x = g.node("Where", [g.const(mask), x, fill])
        x = g.node(reduce, [x, g.const(np.array([axis + 1], np.int64))], keepdims=0)
    return g.node("Transpose", [x], perm=[dims, dims + 1, *range(dims)])


def build_adaptive_avg_pool(g: _Graph, dtype, spatial_dims, output_size):
    _require_type("AveragePool", g.tensor_type)  # ONNX's averages are float-only
    g.require_nonempty(f"adaptive_avg_pool{spatial_dims}d")
    tables = _adaptive_tables(g.spatial_shape, output_size, spatial_dims)
    # Summed and divided in the input's dtype, as a graph of ONNX ops on that dtype computes.
    sums = _reduce_windows(g, "x", tables, "ReduceSum", fill=g.const(dtype.type(0)))
    counts = np.ones((), dtype=np.int64)
    for _, _, axis_counts in tables:
        counts = np.multiply.outer(counts, axis_counts)
    return [g.node("Div", [sums, g.const(counts.astype(dtype))])]


def build_adaptive_max_pool(g: _Graph, dtype, spatial_dims, output_size, return_indices=False):
    if return_indices:
        raise UnsupportedByOnnx(
            "adaptive max pooling indices: ONNX has no op giving the position of an adaptive "
            "window's max, and ArgMax's NaN and tie rules are unspecified"
        )
    _require_type("Gather", g.tensor_type)
    _require_type("ReduceMax", g.tensor_type)
    g.require_nonempty(f"adaptive_max_pool{spatial_dims}d")
    tables = _adaptive_tables(g.spatial_shape, output_size, spatial_dims)
    return [_reduce_windows(g, "x", tables, "ReduceMax")]


def build_global_avg_pool(g: _Graph, dtype, spatial_dims):
    _require_type("GlobalAveragePool", g.tensor_type)
    return [g.node("GlobalAveragePool", ["x"])]


BUILDERS = {
    "max_pool": build_extreme_pool,
    "min_pool": lambda *a, **k: build_extreme_pool(*a, **k, minimum=True),
    "avg_pool": build_avg_pool,
    "adaptive_avg_pool": build_adaptive_avg_pool,
    "adaptive_max_pool": build_adaptive_max_pool,
    "global_avg_pool": build_global_avg_pool,
}


def build_model(family: str, spatial_dims: int, dtype, shape, arguments: dict):
    """The ONNX model computing `family` over a batched input of this dtype and shape."""
    dtype = np.dtype(dtype)
    g = _Graph(_tensor_type(dtype), shape, spatial_dims)
    outputs = BUILDERS[family](g, dtype, spatial_dims, **arguments)
    return g.model([name for name in outputs if name is not None])


class OnnxBackend:
    """The suite's interface over ONNX models; subclasses say how a model is compiled and run."""

    name = "onnx"
    version = "unknown"

    def __init__(self, cache_size: int = CACHE_SIZE):
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size

    def compile(self, model: onnx.ModelProto):
        """A callable taking the input array and returning the list of output arrays."""
        raise NotImplementedError

    def __getattr__(self, op_name: str):
        if op_name.startswith("_"):
            raise AttributeError(op_name)
        family, spatial_dims = split_op_name(op_name, FAMILIES)

        def op(input, *args, **kwargs):
            arguments = bind(family, spatial_dims, input, args, kwargs)
            x = np.asarray(input)
            unbatched = x.ndim == spatial_dims + 1
            if unbatched:
                x = x[np.newaxis]
            outputs = self._compiled(family, spatial_dims, x.dtype, x.shape, arguments)(
                np.ascontiguousarray(x))
            if len(outputs) == 2:
                outputs[1] = outputs[1] - _plane_offsets(x.shape, spatial_dims)
            if unbatched:
                outputs = [output[0] for output in outputs]
            # The contract asks for writable C-contiguous arrays; a runtime may hand back views
            # (the reference evaluator's Transpose does).
            outputs = [_writable_contiguous(output) for output in outputs]
            return tuple(outputs) if len(outputs) == 2 else outputs[0]

        op.__name__ = op_name
        return op

    def _compiled(self, family, spatial_dims, dtype, shape, arguments):
        key = (family, spatial_dims, dtype, shape, _freeze(tuple(arguments.items())))
        try:
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        run = self.compile(build_model(family, spatial_dims, dtype, shape, arguments))
        if key is not None:
            self._cache[key] = run
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return run


def _writable_contiguous(array: np.ndarray) -> np.ndarray:
    if array.flags.c_contiguous and array.flags.writeable:
        return array
    return np.array(array, order="C")  # a copy


def _plane_offsets(shape, spatial_dims) -> np.ndarray:
    """Where each (n, c) plane starts in ONNX's flat indices, broadcastable over the output.

    Subtracted rather than taken modulo the plane size, so an index outside its plane stays
    outside it instead of being folded onto some element.
    """
    leading, plane = shape[:-spatial_dims], math.prod(shape[-spatial_dims:])
    offsets = np.arange(math.prod(leading), dtype=np.int64) * plane
    return offsets.reshape(tuple(leading) + (1,) * spatial_dims)
