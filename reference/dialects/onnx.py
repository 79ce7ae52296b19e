"""The ONNX dialect: MaxPool, AveragePool, LpPool, GlobalMaxPool, GlobalAveragePool.

Every rule cites the operator documentation (https://onnx.ai/onnx/operators/, the pages
onnx_aionnx_MaxPool, ..._AveragePool, ..._LpPool, ..._GlobalMaxPool, ..._GlobalAveragePool), as
of opset 22. Each function takes the input's shape and the operator's attributes (with the
documented defaults) and returns a `Plan`; `reference.dialects.evaluate` runs it.

- X is (N x C x D1 x ... x Dn), n >= 1 spatial axes.
- `pads` is [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; "it can take any value greater
  than or equal to 0", with no bound by the kernel: a pad as large as the kernel or larger is
  valid, and gives windows of padding alone. It "cannot be used simultaneously with auto_pad".
- `strides` and `dilations` default to 1 along each axis (not to the kernel, as torch's stride).
- `auto_pad`: NOTSET (use `pads`), VALID (no padding), SAME_UPPER / SAME_LOWER ("pad the input
  so that output_shape[i] = ceil(input_shape[i] / strides[i]) ... In case the padding is an odd
  number, the extra padding is added at the end for SAME_UPPER and at the beginning for
  SAME_LOWER"), with pad_shape[i] = (output[i] - 1) * strides[i] + ((kernel[i] - 1) *
  dilations[i] + 1) - input[i], taken as 0 where negative (reference.dialects.padding).
- `ceil_mode`: with NOTSET, the output size is ceil((L + pad_shape - span) / stride + 1) and
  "Sliding windows that would start in the right padded region are ignored": the enumeration of
  reference.windows with the two ends padded apart, and, since a pad may be as large as the
  kernel, every window that starts at or past the input's end is left out, not only the extra
  one. (The sentence follows the ceil-mode formula, as torch's note does; in floor mode every
  window inside the padded input is kept. onnx.reference and ONNX's shape inference drop at
  most one window; see their registries.) With auto_pad the spec gives the sizes
  itself: SAME is ceil(L / stride) in both modes, and VALID is ceil((L - span + 1) / stride),
  which equals the floor-mode count, so under VALID ceil mode adds no window.
- MaxPool pads with -inf ("The output of each pooling window is maximum number of elements
  exclude pad"); AveragePool counts padding only with `count_include_pad=1` (default 0), never
  the ceil-mode overhang (reference.pooling.average_divisor); LpPool pads with zeros.
- Indices (MaxPool's optional second output): "flatten 1-D tensor, and the indices do not
  consider padding. So the values in indices are in [0, N x C x D1 x ... x Dn)". The spec names
  no formula for `storage_order=1` ("column major"); onnxruntime (pool.cc, `storage_order == 0 ?
  c * x_step + h_index : c * x_step + w * height + h`) and onnx.reference (op_max_pool.py) both
  number planes row-major and the position within a plane column-major, and so does this.
- `return_indices` is not an attribute: it asks for the optional output Indices.
"""

from __future__ import annotations

import numbers

from reference.dialects.padding import same_padding
from reference.dialects.plan import (
    TENSOR_PLANE_COLUMN_MAJOR, TENSOR_ROW_MAJOR, AxisGeometry, Plan,
)
from reference.pooling import global_windows
from reference.windows import full_windows, sliding_windows

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")

# The opset versions in which each operator's definition changed (the operator's "Version"
# list in the docs, and onnx.defs.get_schema(op, max_inclusive_version=v).since_version; a
# test checks this table against the installed onnx), from 7 on, where onnxruntime starts.
VERSIONS = {
    "MaxPool": (8, 10, 11, 12, 22),
    "AveragePool": (7, 10, 11, 19, 22),
    "LpPool": (11, 18, 22),
    "GlobalMaxPool": (1, 22),
    "GlobalAveragePool": (1, 22),
}
# Attributes that a version introduced (the operator's changelog): absent before it, an
# attribute makes the model invalid at that opset.
ATTRIBUTE_SINCE = {
    ("MaxPool", "storage_order"): 8, ("MaxPool", "return_indices"): 8,
    ("MaxPool", "ceil_mode"): 10, ("MaxPool", "dilations"): 10,
    ("AveragePool", "count_include_pad"): 7, ("AveragePool", "ceil_mode"): 10,
    ("AveragePool", "dilations"): 19,
    ("LpPool", "ceil_mode"): 18, ("LpPool", "dilations"): 18,
}
# The element types each version accepts (type constraint T), where they grew.
DTYPES_SINCE = {"int8": {"MaxPool": 12}, "uint8": {"MaxPool": 12},
                "bfloat16": {op: 22 for op in VERSIONS}}
BASE_DTYPES = ("float16", "float32", "float64")


def _ints(op, name, value, count, minimum):
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        raise TypeError(f"{op}: attribute {name} must be a list of ints, got {value!r}")
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in value):
        raise TypeError(f"{op}: attribute {name} must be a list of ints, got {value!r}")
    if len(value) != count:
        raise ValueError(f"{op}: attribute {name} needs {count} values, got {list(value)}")
    if any(v < minimum for v in value):
        raise ValueError(f"{op}: attribute {name} must be >= {minimum}, got {list(value)}")
    return tuple(int(v) for v in value)


def _flag(op, name, value):
    if value not in (0, 1) or isinstance(value, float):
        raise ValueError(f"{op}: attribute {name} must be 0 or 1, got {value!r}")
    return int(value)


def _check_input(op, input_shape):
    if len(input_shape) < 3 or 0 in input_shape[1:]:
        raise ValueError(f"{op}: X must be (N x C x D1 x ... x Dn) with nonzero C and Di, "
                         f"got {list(input_shape)}")
    return len(input_shape) - 2


def check_opset(op: str, opset: int | None, attributes: dict) -> None:
    """An attribute given at an opset older than the one that introduced it is invalid."""
    if opset is None:
        return
    for name, value in attributes.items():
        since = ATTRIBUTE_SINCE.get((op, name))
        if since is not None and opset < since and value not in (None, 0, False):
            raise TypeError(f"{op}-{opset} has no attribute {name} (added in opset {since})")


def sliding_plan(op, input_shape, kernel_shape, auto_pad, ceil_mode, dilations, pads, strides,
                 reduction, **rule):
    """The windows of MaxPool, AveragePool and LpPool (the module docstring's rules)."""
    dims = _check_input(op, input_shape)
    kernel = _ints(op, "kernel_shape", kernel_shape, dims, 1)
    strides = (1,) * dims if strides is None else _ints(op, "strides", strides, dims, 1)
    dilations = (1,) * dims if dilations is None else _ints(op, "dilations", dilations, dims, 1)
    ceil_mode = _flag(op, "ceil_mode", ceil_mode)
    if auto_pad not in AUTO_PADS:
        raise ValueError(f"{op}: auto_pad must be one of {', '.join(AUTO_PADS)}, got {auto_pad!r}")
    if auto_pad != "NOTSET" and pads is not None:
        raise ValueError(f"{op}: pads cannot be used simultaneously with auto_pad={auto_pad}")
    flat_pads = (0,) * (2 * dims) if pads is None else _ints(op, "pads", pads, 2 * dims, 0)
    lengths = input_shape[2:]
    windows, geometry = [], []
    for axis, (length, k, s, d) in enumerate(zip(lengths, kernel, strides, dilations)):
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            padding = same_padding(length, k, s, d, auto_pad == "SAME_UPPER")
            axis_windows = full_windows(length, k, s, padding, d)
        elif auto_pad == "VALID":
            padding = (0, 0)
            axis_windows = full_windows(length, k, s, padding, d)
        else:
            padding = (flat_pads[axis], flat_pads[axis + dims])
            axis_windows = sliding_windows(length, k, s, padding, d, bool(ceil_mode))
            if ceil_mode:
                axis_windows = [w for w in axis_windows if w.start < length]
        geometry.append(AxisGeometry(length, k, s, *padding, d))
        if not axis_windows:
            raise ValueError(f"{op}: no window fits axis {axis} (length {length}, kernel {k}, "
                             f"dilation {d}, auto_pad {auto_pad}): output size below 1")
        windows.append(tuple(axis_windows))
    return Plan(family=FAMILIES[op], reduction=reduction, windows=tuple(windows),
                geometry=tuple(geometry), **rule)


def MaxPool(input_shape, kernel_shape, auto_pad="NOTSET", ceil_mode=0, dilations=None, pads=None,
            storage_order=0, strides=None, return_indices=False, opset=None):
    check_opset("MaxPool", opset, {"ceil_mode": ceil_mode, "dilations": dilations,
                                   "storage_order": storage_order,
                                   "return_indices": return_indices})
    order = _flag("MaxPool", "storage_order", storage_order)
    numbering = TENSOR_PLANE_COLUMN_MAJOR if order else TENSOR_ROW_MAJOR
    return sliding_plan("MaxPool", input_shape, kernel_shape, auto_pad, ceil_mode, dilations,
                        pads, strides, "max",
                        indices=numbering if return_indices else None)


def AveragePool(input_shape, kernel_shape, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0,
                dilations=None, pads=None, strides=None, opset=None):
    check_opset("AveragePool", opset, {"ceil_mode": ceil_mode, "dilations": dilations,
                                       "count_include_pad": count_include_pad})
    include = _flag("AveragePool", "count_include_pad", count_include_pad)
    return sliding_plan("AveragePool", input_shape, kernel_shape, auto_pad, ceil_mode, dilations,
                        pads, strides, "average", count_include_pad=bool(include))


def LpPool(input_shape, kernel_shape, auto_pad="NOTSET", ceil_mode=0, dilations=None, p=2,
           pads=None, strides=None, opset=None):
    check_opset("LpPool", opset, {"ceil_mode": ceil_mode, "dilations": dilations})
    if isinstance(p, bool) or not isinstance(p, numbers.Integral):
        raise TypeError(f"LpPool: attribute p must be an int, got {p!r}")
    return sliding_plan("LpPool", input_shape, kernel_shape, auto_pad, ceil_mode, dilations,
                        pads, strides, "lp", p=int(p))


def _global(op, reduction):
    def plan(input_shape, opset=None):
        dims = _check_input(op, input_shape)
        return Plan(family=FAMILIES[op], reduction=reduction,
                    windows=tuple(tuple(axis) for axis in global_windows(input_shape, dims)))
    plan.__name__ = plan.__qualname__ = op
    plan.__doc__ = (f"ONNX {op}: one window per (n, c) plane holding all of it; the output "
                    f"keeps each spatial axis with size 1.")
    return plan


GlobalMaxPool = _global("GlobalMaxPool", "max")
GlobalAveragePool = _global("GlobalAveragePool", "average")

# Each operator's engine family: how its values are compared (exactly, or within a bound).
FAMILIES = {"MaxPool": "max_pool", "AveragePool": "avg_pool", "LpPool": "lp_pool",
            "GlobalMaxPool": "global_max_pool", "GlobalAveragePool": "global_avg_pool"}
OPS = {name: globals()[name] for name in FAMILIES}
# Every op is N-d: its number of spatial axes is the input's rank minus 2.
SPATIAL_DIMS = {name: None for name in FAMILIES}
