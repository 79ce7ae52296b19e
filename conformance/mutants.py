"""A bank of deliberately buggy backends, to show that the suite catches real pooling bugs.

Each mutant is the correct torch backend with exactly one bug of a kind real implementations
have shipped (the `bug` text cites the upstream report where anchors.md names one). A mutant
changes a few ops, or only their backward pass (`vjp`), leaving the forward torch's; every other
op is torch's, untouched. Each carries a `witness`: one small input (with an upstream gradient,
for a backward bug) on which it differs from torch while the oracle agrees with torch, so the
witness shows the bug rather than a torch quirk (tests/test_mutant_bank.py checks both).

Run the suite against one: `pytest --backend conformance.mutants:avg_divisor_counts_ceil_overhang`.
The suite should fail; a mutant it passes is a bug class it cannot see.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

import reference
from conformance.arrays import NUMPY_DTYPES
from conformance.backends.torch_backend import functional, to_numpy, to_torch
from reference.pooling import op_arguments

# --------------------------------------------------------------------------------------------
# The machinery: a mutant's changed ops see one `Call` and return what torch's op would.


@dataclass(frozen=True)
class Call:
    """One call of an op on a mutant: the torch input and every argument, defaults filled in."""

    family: str
    dims: int
    x: torch.Tensor
    args: dict
    correct: Callable  # the correct backend's op: NumPy in, NumPy out

    def torch(self, x: torch.Tensor | None = None, **changes):
        """What the correct backend returns, on another input or with some arguments changed."""
        result = self.correct(to_numpy(self.x if x is None else x), **{**self.args, **changes})
        return _on_parts(result, to_torch)

    def axes(self, name: str) -> tuple:
        """An int-or-tuple argument as one entry per spatial axis (stride=None: the kernel)."""
        if name == "dilation" and name not in self.args:  # avg pooling has none
            return (1,) * self.dims
        value = self.args[name]
        if name == "stride" and value in (None, (), []):
            value = self.args["kernel_size"]
        value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        return value * self.dims if len(value) == 1 else value

    @property
    def spatial(self) -> tuple[int, ...]:
        return tuple(self.x.shape[-self.dims:])

    @property
    def batched(self) -> bool:
        return self.x.ndim == self.dims + 2


@dataclass(frozen=True)
class GradientCall(Call):
    """One call of an op's vjp on a mutant: a Call with the upstream gradient."""

    grad_output: torch.Tensor
    correct_vjp: Callable  # the correct backend's vjp of this op: NumPy in, NumPy out

    def torch_vjp(self, x: torch.Tensor | None = None, **changes) -> torch.Tensor:
        """What the correct backend's vjp returns for this upstream gradient, on another input
        or with some arguments changed (giving an output of the same shape)."""
        return to_torch(self.correct_vjp(to_numpy(self.x if x is None else x),
                                         to_numpy(self.grad_output), **{**self.args, **changes}))


Implementation = Callable[[Call], object]
GradientImplementation = Callable[[GradientCall], torch.Tensor]


@dataclass(frozen=True)
class Witness:
    """An input on which a mutant and the correct backend differ: in the op's result, or, with
    `grad_output`, in its gradient."""

    op: str
    input: list  # nested lists of Python numbers
    kwargs: dict = field(default_factory=dict)
    dtype: str = "float32"
    grad_output: list | None = None  # the upstream gradient, for a backward bug

    def array(self, values=None) -> np.ndarray:
        values = self.input if values is None else values
        return np.array(values, dtype=np.float64).astype(NUMPY_DTYPES[self.dtype])

    def run(self, backend):
        if self.grad_output is None:
            return getattr(backend, self.op)(self.array(), **self.kwargs)
        return backend.vjp(self.op, self.array(), self.array(self.grad_output), **self.kwargs)


def _for_op(implementations: Mapping, op_name: str):
    return implementations.get(op_name) or implementations.get(op_name[:-2])


@dataclass(frozen=True)
class Mutant:
    """One bug: `ops` maps an op family ("max_pool") or one op ("avg_pool2d") to its buggy
    implementation, `gradients` likewise to a buggy backward (its vjp) where the forward stays
    torch's. Calling the mutant gives its backend, which is what a backend SPEC loads."""

    name: str
    bug: str
    ops: Mapping[str, Implementation]
    witness: Witness
    gradients: Mapping[str, GradientImplementation] = field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.ops) | set(self.gradients)
        unknown -= set(reference.FAMILIES) | set(reference.OP_NAMES)
        if unknown:
            raise ValueError(f"mutant {self.name}: no such op or family: {sorted(unknown)}")

    def implementation(self, op_name: str) -> Implementation | None:
        return _for_op(self.ops, op_name)

    def gradient_implementation(self, op_name: str) -> GradientImplementation | None:
        return _for_op(self.gradients, op_name)

    @property
    def changed_ops(self) -> tuple[str, ...]:
        """The ops whose forward the mutant changes."""
        return tuple(op for op in reference.OP_NAMES if self.implementation(op))

    @property
    def changed_gradients(self) -> tuple[str, ...]:
        """The ops whose backward the mutant changes."""
        return tuple(op for op in reference.OP_NAMES if self.gradient_implementation(op))

    def __call__(self) -> MutantBackend:
        return MutantBackend(self)


class MutantBackend:
    """torch's functional backend, except for the ops its mutant changes.

    An unchanged op is the correct backend's own (getattr fallthrough). A changed op binds its
    arguments by the oracle's signature, hands the mutant a `Call` on torch tensors, and reaches
    torch only through the correct backend's public ops, so it tracks that adapter's behaviour.
    """

    def __init__(self, mutant: Mutant):
        self.mutant = mutant
        self.correct = functional()
        self.name = f"mutant:{mutant.name}"
        # A local version label keeps torch's version visible and the string PEP 440-valid.
        self.version = f"{torch.__version__}{'.' if '+' in torch.__version__ else '+'}mutant"

    def __getattr__(self, op_name: str):
        mutant = vars(self).get("mutant")  # absent while copying or unpickling
        if mutant is None or op_name.startswith("__"):
            raise AttributeError(op_name)
        correct_op = getattr(self.correct, op_name)  # AttributeError where torch lacks the op
        implementation = mutant.implementation(op_name)
        if implementation is None:
            return correct_op
        family, dims = op_name[:-2], int(op_name[-2])

        def op(input: np.ndarray, *args, **kwargs):
            arguments = op_arguments(op_name, *args, **kwargs)
            with torch.no_grad():
                result = implementation(Call(family, dims, to_torch(input), arguments, correct_op))
            return _on_parts(result, to_numpy)

        op.__name__ = op_name
        return op

    def vjp(self, op_name: str, input: np.ndarray, grad_output: np.ndarray, *args, **kwargs):
        """torch's vjp, except for the ops whose backward the mutant changes."""
        implementation = self.mutant.gradient_implementation(op_name)
        if implementation is None:
            return self.correct.vjp(op_name, input, grad_output, *args, **kwargs)
        call = GradientCall(
            op_name[:-2], int(op_name[-2]), to_torch(input), op_arguments(op_name, *args, **kwargs),
            getattr(self.correct, op_name), to_torch(grad_output),
            functools.partial(self.correct.vjp, op_name),
        )
        return to_numpy(implementation(call))


# --------------------------------------------------------------------------------------------
# Building blocks the mutants share.

SLIDING = ("max_pool", "avg_pool")
MAX = ("max_pool", "adaptive_max_pool")
ALL = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "global_avg_pool")
AVG_WITH_DIVISOR_OVERRIDE = ("avg_pool2d", "avg_pool3d")  # torch's avg_pool1d has none
NAN, INF = math.nan, math.inf


def _values(result):
    return result[0] if isinstance(result, tuple) else result


def _on_values(result, change):
    return (change(result[0]), *result[1:]) if isinstance(result, tuple) else change(result)


def _on_parts(result, change):
    return tuple(map(change, result)) if isinstance(result, tuple) else change(result)


def _lowest(dtype: torch.dtype):
    return -INF if dtype.is_floating_point else torch.iinfo(dtype).min


def _pad_spec(left, right) -> list[int]:
    # F.pad lists the last axis first.
    return [size for pair in reversed(list(zip(left, right))) for size in pair]


def _resized(tensor, shape, fill):
    """`tensor` cut or extended (with `fill`) at the high end of its trailing axes to `shape`."""
    old = tensor.shape[-len(shape):]
    return F.pad(tensor, _pad_spec([0] * len(shape), [n - o for n, o in zip(shape, old)]),
                 value=fill)


def _unravel(flat, shape):
    coordinates = []
    for size in reversed(shape):
        coordinates.append(flat % size)
        flat = flat // size
    return coordinates[::-1]


def _ravel(coordinates, shape):
    flat = torch.zeros_like(coordinates[0])
    for coordinate, size in zip(coordinates, shape):
        flat = flat * size + coordinate
    return flat


def _reindexed(indices, from_shape, to_shape, shift):
    coordinates = [c + s for c, s in zip(_unravel(indices, from_shape), shift)]
    return _ravel(coordinates, to_shape)


def _output_sizes(c: Call, formula) -> tuple[int, ...]:
    return tuple(formula(*axis) for axis in zip(c.spatial, c.axes("kernel_size"), c.axes("stride"),
                                                 c.axes("padding"), c.axes("dilation")))


def _reach_past_input(c: Call, output_shape) -> tuple[int, ...]:
    """Per axis, how far the last window ends past the input's end (padding and overhang)."""
    return tuple((o - 1) * s + d * (k - 1) + 1 - p - n for o, n, k, s, p, d in zip(
        output_shape, c.spatial, c.axes("kernel_size"), c.axes("stride"), c.axes("padding"),
        c.axes("dilation")))


def _with(**changes) -> Implementation:
    """The correct op with some arguments replaced; a callable replacement receives the Call."""
    return lambda c: c.torch(**{k: v(c) if callable(v) else v for k, v in changes.items()})


def _swapped(argument: str) -> Implementation:
    return _with(**{argument: lambda c: c.axes(argument)[::-1]})


def _nan_replaced_by(value) -> Implementation:
    return lambda c: c.torch(torch.where(c.x.isnan(), torch.tensor(value, dtype=c.x.dtype), c.x))


def _padded_by_hand(fill, right_side=True, keep_shape=False) -> Implementation:
    """Pad the input beforehand and pool with padding=0, as adapters for libraries without a
    padding argument do. The hand padding is ordinary input to the pool, so (unless `keep_shape`
    crops to torch's shape) a ceil-mode window starting in it is kept."""

    def implementation(c: Call):
        left = c.axes("padding")
        right = left if right_side else (0,) * c.dims
        x = F.pad(c.x, _pad_spec(left, right), value=fill(c.x.dtype))
        result = c.torch(x, padding=0)
        if isinstance(result, tuple):
            shift = [-p for p in left]
            result = result[0], _reindexed(result[1], x.shape[-c.dims:], c.spatial, shift)
        if keep_shape:
            shape = _values(c.torch()).shape[-c.dims:]
            result = _on_parts(result, lambda t: _resized(t, shape, -1))
        return result

    return implementation


def _indices_remapped(remap) -> Implementation:
    """Values as torch's; indices = remap(call, values, indices)."""

    def implementation(c: Call):
        result = c.torch()
        if not isinstance(result, tuple):
            return result
        return result[0], remap(c, *result)

    return implementation


def _plane_numbers(values, dims):
    """n * C + c for each output element: which (n, c) plane it belongs to."""
    leading = values.shape[:-dims]
    return torch.arange(math.prod(leading)).reshape(*leading, *(1,) * dims)


def _window_taps(c: Call, output_shape) -> torch.Tensor:
    """Shape (*output, K): the flat plane index of each window position, -1 off the input."""
    kernel, strides = c.axes("kernel_size"), c.axes("stride")
    pads, dilations = c.axes("padding"), c.axes("dilation")
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilations)]
    right = [max(0, reach) for reach in _reach_past_input(c, output_shape)]
    taps = F.pad(torch.arange(math.prod(c.spatial)).reshape(c.spatial), _pad_spec(pads, right),
                 value=-1)
    for axis in range(c.dims):
        taps = taps.unfold(axis, spans[axis], strides[axis])
    # The leading axes hold window starts (cut to the output), the trailing ones window spans.
    taps = taps[tuple(slice(o) for o in output_shape)
                + tuple(slice(None, None, d) for d in dilations)]
    return taps.flatten(-c.dims)


def _last_of_tied_maxima(c: Call, values, indices):
    taps = _window_taps(c, values.shape[-c.dims:])
    window = c.x.flatten(-c.dims)[..., taps.clamp(min=0)]
    best = values.unsqueeze(-1)
    hit = (taps >= 0) & ((window == best) | (window.isnan() & best.isnan()))
    last = hit.shape[-1] - 1 - hit.flip(-1).int().argmax(-1, keepdim=True)
    return taps.expand(hit.shape).gather(-1, last).squeeze(-1)


def _transposed_indices(c: Call, values, indices):
    """Each index flattened column-major (w * H + h): its coordinates taken in reversed order."""
    return _ravel(_unravel(indices, c.spatial)[::-1], c.spatial[::-1])


def _scattered_through(indices_of) -> GradientImplementation:
    """The backward of a choice, each upstream gradient added to the element that
    `indices_of(call, values, indices)` names, as torch's max backward scatters through the
    forward's indices; an index naming no element of the plane sends its gradient nowhere."""

    def implementation(c: GradientCall):
        values, indices = c.torch(return_indices=True)
        indices = indices_of(c, values, indices).flatten(-c.dims)
        plane_size = math.prod(c.spatial)
        names_an_element = (indices >= 0) & (indices < plane_size)
        upstream = torch.where(names_an_element, c.grad_output.flatten(-c.dims), 0)
        gradient = torch.zeros(*c.x.shape[:-c.dims], plane_size, dtype=c.x.dtype)
        gradient.scatter_add_(-1, indices.clamp(0, plane_size - 1), upstream)
        return gradient.reshape(c.x.shape)

    return implementation


def _adaptive_avg_with_bounds(bounds) -> Implementation:
    """Adaptive average pooling, one axis at a time (a box mean is the mean of axis means),
    window i of an axis of length L pooled to O being range(*bounds(i, L, O))."""

    def implementation(c: Call):
        x = c.x
        for axis, size in enumerate(c.axes("output_size")):
            dim = x.ndim - c.dims + axis
            length = x.shape[dim]
            size = length if size is None else size
            parts = [x.narrow(dim, start, end - start).mean(dim)
                     for start, end in (bounds(i, length, size) for i in range(size))]
            x = torch.stack(parts, dim) if parts else x.narrow(dim, 0, 0)
        return x

    return implementation


def _global_avg_summed_in_input_dtype(c: Call):
    if c.x.dtype not in (torch.float16, torch.bfloat16):
        return c.torch()
    taps = c.x.flatten(-c.dims)
    total = torch.zeros_like(taps[..., 0])
    for tap in taps.unbind(-1):
        total = total + tap  # each partial sum rounded to the input dtype
    return (total / taps.shape[-1]).reshape(*total.shape, *(1,) * c.dims)


def _empty_windows_zero(c: Call):
    # A window with no input element is the one a float pool of ones leaves at -inf.
    empty = c.torch(torch.ones_like(c.x, dtype=torch.float32), return_indices=False) == -INF
    return _on_values(c.torch(), lambda v: v.masked_fill(empty, 0))


def _empty_when_too_small(c: Call):
    try:
        return c.torch()
    except RuntimeError as error:
        sizes = _output_sizes(c, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s + 1)
        if isinstance(error, NotImplementedError) or min(sizes) > 0:
            raise
    empty = torch.empty(*c.x.shape[:-c.dims], *(max(0, n) for n in sizes), dtype=c.x.dtype)
    return (empty, empty.long()) if c.args.get("return_indices") else empty


def _notebook_output_size(c: Call):
    sizes = _output_sizes(c, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) + 1) // s + 1)
    fill = _lowest(c.x.dtype) if c.family == "max_pool" else 0
    result = c.torch()
    if isinstance(result, tuple):
        return _resized(result[0], sizes, fill), _resized(result[1], sizes, -1)
    return _resized(result, sizes, fill)


def _zero_padded_past_the_overhang(c: Call) -> torch.Tensor:
    """The input zero-padded by hand, on the right far enough that the ceil window is whole:
    pooled with padding=0 in floor mode, every window then divides by the kernel size."""
    pads = c.axes("padding")
    reach = _reach_past_input(c, c.torch().shape[-c.dims:])
    right = [max(p, r) for p, r in zip(pads, reach)]
    return F.pad(c.x, _pad_spec(pads, right), value=0)


def _divisor_counts_overhang(c: Call):
    if not (c.args["ceil_mode"] and c.args["count_include_pad"]):
        return c.torch()
    return c.torch(_zero_padded_past_the_overhang(c), padding=0, ceil_mode=False)


def _backward_divisor_counts_overhang(c: GradientCall):
    if not (c.args["ceil_mode"] and c.args["count_include_pad"]):
        return c.torch_vjp()
    gradient = c.torch_vjp(_zero_padded_past_the_overhang(c), padding=0, ceil_mode=False)
    # The hand padding's gradient is dropped, as F.pad's backward would.
    return gradient[(..., *(slice(p, p + n) for p, n in zip(c.axes("padding"), c.spatial)))]


def _rejects_stride_over_kernel(c: Call):
    if any(s > k for s, k in zip(c.axes("stride"), c.axes("kernel_size"))):
        raise ValueError("stride must not exceed kernel_size")
    return c.torch()


def _unbatched_through_batch(restore) -> Implementation:
    def implementation(c: Call):
        if c.batched:
            return c.torch()
        return _on_parts(c.torch(c.x.unsqueeze(0)), restore)

    return implementation


def _only_for(dtype, implementation) -> Implementation:
    return lambda c: implementation(c) if c.x.dtype == dtype else c.torch()


# --------------------------------------------------------------------------------------------
# The bank. Identifiers are the names with "-" as "_" (a test checks).

# Output sizes and ceil mode.

output_size_always_ceil = Mutant(
    "output-size-always-ceil",
    "rounds the output size up whatever ceil_mode says (shape formulas disagree across "
    "backends first: openvinotoolkit/openvino#18731, onnx/onnx#2927)",
    dict.fromkeys(SLIDING, _with(ceil_mode=True)),
    Witness("max_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2}),
)
ceil_mode_ignored = Mutant(
    "ceil-mode-ignored",
    "ceil_mode=True computes the floor-mode output, dropping the partial last window",
    dict.fromkeys(SLIDING, _with(ceil_mode=False)),
    Witness("max_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2, "ceil_mode": True}),
)
ceil_keeps_window_starting_in_right_padding = Mutant(
    "ceil-keeps-window-starting-in-right-padding",
    "ceil mode keeps a last window that starts in the right padding (plain ceil, as TVM's and "
    "Paddle's oracles; the rule of pytorch/pytorch PR #120335 and onnx/onnx PR #5741 drops it; "
    "cf. microsoft/onnxruntime#15446)",
    {"max_pool": _padded_by_hand(_lowest)},
    Witness("max_pool1d", [[[1, 2, 3, 4, 5]]],
            {"kernel_size": 2, "padding": 1, "ceil_mode": True}),
)
output_size_notebook_formula = Mutant(
    "output-size-notebook-formula",
    "output size floor((W + 2p - d(k-1) + 1) / s) + 1, the course notebook's formula (+1 where "
    "torch has -1), extra outputs read as padding",
    dict.fromkeys(SLIDING, _notebook_output_size),
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "stride": 1}),
)
output_too_small_returns_empty = Mutant(
    "output-too-small-returns-empty",
    "a kernel larger than the padded input gives an empty output instead of torch's 'Output "
    "size is too small' error (anchors (d) 9)",
    dict.fromkeys(SLIDING, _empty_when_too_small),
    Witness("max_pool1d", [[[1, 2]]], {"kernel_size": 3}),
)

# Padding.

max_pad_value_zero = Mutant(
    "max-pad-value-zero",
    "max pooling pads with 0 instead of -inf, so padding beats negative inputs (TVM's oracle; "
    "webmachinelearning/webnn#935: TFLite 0 vs CoreML -inf)",
    {"max_pool": _padded_by_hand(lambda dtype: 0, keep_shape=True)},
    Witness("max_pool1d", [[[-1, -2, -3, -4]]], {"kernel_size": 2, "padding": 1}),
)
max_padding_left_only = Mutant(
    "max-padding-left-only",
    "padding applied at the start of each axis only, a SAME-split confusion (anchors (d) 11)",
    {"max_pool": _padded_by_hand(_lowest, right_side=False)},
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "padding": 1}),
)
max_empty_window_zero = Mutant(
    "max-empty-window-zero",
    "a max window holding only padding (dilation) gives 0, not -inf (webmachinelearning/"
    "webnn#935, TFLite; torch's test_max_pool1d_corner_cases)",
    {"max_pool": _empty_windows_zero},
    Witness("max_pool1d", [[[1]]], {"kernel_size": 2, "padding": 1, "dilation": 2}),
)

# Per-axis parameters.

stride_axis0_for_all_axes = Mutant(
    "stride-axis0-for-all-axes",
    "the first axis's stride used on every axis (a per-axis tuple read as one int)",
    dict.fromkeys(SLIDING, _with(stride=lambda c: c.axes("stride")[0])),
    Witness("max_pool2d", [[[[1, 2, 3, 4], [5, 6, 7, 8]]]], {"kernel_size": 1, "stride": (1, 2)}),
)
stride_hw_swapped = Mutant(
    "stride-hw-swapped",
    "stride tuple applied in reversed axis order (W, H), an NHWC/NCHW attribute mix-up",
    dict.fromkeys(SLIDING, _swapped("stride")),
    Witness("max_pool2d", [[[[1, 2, 3, 4], [5, 6, 7, 8]]]], {"kernel_size": 1, "stride": (1, 2)}),
)
padding_hw_swapped = Mutant(
    "padding-hw-swapped",
    "padding tuple applied in reversed axis order (W, H)",
    dict.fromkeys(SLIDING, _swapped("padding")),
    Witness("max_pool2d", [[[[1, 2], [3, 4]]]], {"kernel_size": 2, "padding": (0, 1)}),
)
kernel_hw_swapped = Mutant(
    "kernel-hw-swapped",
    "kernel_size tuple applied in reversed axis order (W, H)",
    dict.fromkeys(SLIDING, _swapped("kernel_size")),
    Witness("max_pool2d", [[[[1, 2, 3], [4, 5, 6]]]], {"kernel_size": (1, 2), "stride": 1}),
)
dilation_ignored = Mutant(
    "dilation-ignored",
    "dilation dropped: windows of adjacent elements (JAX's reduce_window oracle has no window "
    "dilation)",
    {"max_pool": _with(dilation=1)},
    Witness("max_pool1d", [[[1, 5, 2, 3, 0]]], {"kernel_size": 2, "dilation": 2}),
)

# NaN and infinities.

max_drops_nan = Mutant(
    "max-drops-nan",
    "NaN skipped by max (fmax semantics), as ONNX's reference pool() does (anchors (e))",
    dict.fromkeys(MAX, _nan_replaced_by(-INF)),
    Witness("max_pool1d", [[[1, NAN, 2, 3]]], {"kernel_size": 2}),
)
avg_nan_as_zero = Mutant(
    "avg-nan-as-zero",
    "NaN read as 0 by average pooling instead of propagating (torch gh-36977 NaN regression)",
    dict.fromkeys(("avg_pool", "adaptive_avg_pool", "global_avg_pool"), _nan_replaced_by(0.0)),
    Witness("avg_pool1d", [[[1, NAN, 2, 3]]], {"kernel_size": 2}),
)
max_neg_inf_index_unset = Mutant(
    "max-neg-inf-index-unset",
    "a window of only -inf reports index -1: the running max starts at -inf with no index and "
    "updates on '>' only (torch's _test_maxpool_indices: '-Infinity is handled correctly')",
    dict.fromkeys(MAX, _indices_remapped(lambda c, v, i: torch.where(v == -INF, -1, i))),
    Witness("max_pool1d", [[[-INF, -INF, 1, 2]]], {"kernel_size": 2, "return_indices": True}),
)

# Indices.

max_ties_last = Mutant(
    "max-ties-last",
    "of equal maxima the last is chosen ('>=' in the running max), torch and the oracle take "
    "the first",
    {"max_pool": _indices_remapped(_last_of_tied_maxima)},
    Witness("max_pool1d", [[[2, 2, 1]]], {"kernel_size": 2, "stride": 1, "return_indices": True}),
)
indices_in_padded_coordinates = Mutant(
    "indices-in-padded-coordinates",
    "indices count positions in the padded plane, not the input's",
    {"max_pool": _indices_remapped(lambda c, v, i: _reindexed(
        i, c.spatial, [n + 2 * p for n, p in zip(c.spatial, c.axes("padding"))],
        c.axes("padding")))},
    Witness("max_pool1d", [[[1, 2, 3]]], {"kernel_size": 2, "padding": 1, "return_indices": True}),
)
indices_flat_over_batch_and_channels = Mutant(
    "indices-flat-over-batch-and-channels",
    "indices flat over the whole N*C*H*W tensor instead of each (n, c) plane (TF's "
    "max_pool_with_argmax with include_batch_in_index)",
    dict.fromkeys(MAX, _indices_remapped(
        lambda c, v, i: i + _plane_numbers(v, c.dims) * math.prod(c.spatial))),
    Witness("max_pool1d", [[[1, 2], [3, 4]]], {"kernel_size": 2, "return_indices": True}),
)
indices_channels_last_flat = Mutant(
    "indices-channels-last-flat",
    "indices in an NHWC plane, (h * W + w) * C + c, as TF's max_pool_with_argmax flattens",
    dict.fromkeys(MAX, _indices_remapped(lambda c, v, i: i * c.x.shape[-c.dims - 1]
                                         + _plane_numbers(v, c.dims) % c.x.shape[-c.dims - 1])),
    Witness("max_pool1d", [[[1, 2], [3, 4]]], {"kernel_size": 2, "return_indices": True}),
)
indices_hw_transposed = Mutant(
    "indices-hw-transposed",
    "indices flattened column-major (w * H + h), coordinates taken in reversed order",
    dict.fromkeys(MAX, _indices_remapped(_transposed_indices)),
    Witness("max_pool2d", [[[[1, 5, 2], [0, 3, 4]]]],
            {"kernel_size": (2, 3), "return_indices": True}),
)
indices_int32 = Mutant(
    "indices-int32",
    "indices returned as int32 (ONNX Runtime/TF-Lite style index type) instead of int64",
    dict.fromkeys(MAX, _indices_remapped(lambda c, v, i: i.int())),
    Witness("max_pool1d", [[[1, 2]]], {"kernel_size": 2, "return_indices": True}),
)

# The average's divisor.

avg_divisor_counts_ceil_overhang = Mutant(
    "avg-divisor-counts-ceil-overhang",
    "with count_include_pad, the ceil-mode overhang counted in the divisor (full kernel size): "
    "apple/coremltools#2772 (PR #2844), sonos/tract PR #2851, robertknight/rten PR #1456",
    {"avg_pool": _divisor_counts_overhang},
    Witness("avg_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2, "ceil_mode": True}),
)
avg_count_include_pad_inverted = Mutant(
    "avg-count-include-pad-inverted",
    "count_include_pad read with the opposite default/meaning (apache/tvm PR #18487: Relax's "
    "default differs from torch's)",
    {"avg_pool": _with(count_include_pad=lambda c: not c.args["count_include_pad"])},
    Witness("avg_pool1d", [[[1, 2, 3]]], {"kernel_size": 2, "padding": 1}),
)
avg_divisor_override_ignored_without_count_include_pad = Mutant(
    "avg-divisor-override-ignored-without-count-include-pad",
    "divisor_override ignored when count_include_pad=False (pytorch/executorch PR #18616)",
    dict.fromkeys(AVG_WITH_DIVISOR_OVERRIDE, _with(divisor_override=lambda c: (
        c.args["divisor_override"] if c.args["count_include_pad"] else None))),
    Witness("avg_pool2d", [[[[1, 2], [3, 4]]]],
            {"kernel_size": 2, "count_include_pad": False, "divisor_override": 1}),
)
avg_divisor_override_ignored = Mutant(
    "avg-divisor-override-ignored",
    "divisor_override ignored altogether, the window size always divides",
    dict.fromkeys(AVG_WITH_DIVISOR_OVERRIDE, _with(divisor_override=None)),
    Witness("avg_pool2d", [[[[1, 2], [3, 4]]]], {"kernel_size": 2, "divisor_override": 1}),
)
avg_zero_divisor_override_accepted = Mutant(
    "avg-zero-divisor-override-accepted",
    "divisor_override=0 silently means 'no override' (a truthiness test, `if divisor_override:`) "
    "where torch raises 'divisor must be not zero'",
    dict.fromkeys(AVG_WITH_DIVISOR_OVERRIDE,
                  _with(divisor_override=lambda c: c.args["divisor_override"] or None)),
    Witness("avg_pool2d", [[[[1, 2], [3, 4]]]], {"kernel_size": 2, "divisor_override": 0}),
)
avg_int_rounds_to_nearest = Mutant(
    "avg-int-rounds-to-nearest",
    "integer averages rounded to nearest (Paddle's oracle uses np.rint) where torch truncates",
    {"avg_pool": lambda c: c.torch(c.x.double()).round().to(c.x.dtype)
     if not c.x.dtype.is_floating_point else c.torch()},
    Witness("avg_pool1d", [[[1, 2, -3, -4]]], {"kernel_size": 2}, dtype="int64"),
)

# Adaptive window bounds.

adaptive_end_floor = Mutant(
    "adaptive-end-floor",
    "adaptive window end floor((i+1)L/O) instead of ceil, so windows no longer overlap (TVM's "
    "and torch's end_index use ceil)",
    {"adaptive_avg_pool": _adaptive_avg_with_bounds(
        lambda i, n, o: (i * n // o, (i + 1) * n // o))},
    Witness("adaptive_avg_pool1d", [[[1, 2, 3, 4, 5]]], {"output_size": 2}),
)
adaptive_start_rounded = Mutant(
    "adaptive-start-rounded",
    "adaptive window start rounded to nearest instead of floor(iL/O)",
    {"adaptive_avg_pool": _adaptive_avg_with_bounds(
        lambda i, n, o: ((2 * i * n + o) // (2 * o), -(-(i + 1) * n // o)))},
    Witness("adaptive_avg_pool1d", [[[1, 2, 3, 4, 5]]], {"output_size": 3}),
)
adaptive_as_fixed_kernel = Mutant(
    "adaptive-as-fixed-kernel",
    "adaptive pooling lowered to a fixed pool, stride L//O and kernel L-(O-1)*stride, the "
    "exporters' rewrite, exact only when O divides L",
    {"adaptive_avg_pool": _adaptive_avg_with_bounds(
        lambda i, n, o: (i * (n // o), i * (n // o) + n - (o - 1) * (n // o)))},
    Witness("adaptive_avg_pool1d", [[[1, 2, 3, 4, 5]]], {"output_size": 3}),
)

# Precision and dtypes.

global_avg_low_precision_accumulation = Mutant(
    "global-avg-low-precision-accumulation",
    "float16/bfloat16 means summed in the input dtype, overflowing where a float accumulator "
    "does not (torch's test_adaptive_avg_pooling_overflow)",
    {"global_avg_pool": _global_avg_summed_in_input_dtype},
    Witness("global_avg_pool1d", [[[60000, 60000]]], dtype="float16"),
)
float16_returned_as_float32 = Mutant(
    "float16-returned-as-float32",
    "float16 results returned in the float32 they were computed in (a missing cast back)",
    dict.fromkeys(ALL, lambda c: _on_values(
        c.torch(), lambda v: v.float() if v.dtype == torch.float16 else v)),
    Witness("max_pool1d", [[[1, 2]]], {"kernel_size": 2}, dtype="float16"),
)
bfloat16_computed_in_float16 = Mutant(
    "bfloat16-computed-in-float16",
    "bfloat16 computed through float16 (a kernel without bfloat16), losing bfloat16's range",
    dict.fromkeys(ALL, _only_for(torch.bfloat16, lambda c: _on_values(
        c.torch(c.x.half()), lambda v: v.bfloat16()))),
    Witness("max_pool1d", [[[70000, 1]]], {"kernel_size": 2}, dtype="bfloat16"),
)

# Unbatched inputs.

unbatched_output_keeps_batch_dim = Mutant(
    "unbatched-output-keeps-batch-dim",
    "an unbatched (C, *spatial) input is batched for the kernel and the batch axis never removed "
    "(torch's no_batch_dim_reference_fn: unbatched must equal a batch of one, squeezed)",
    dict.fromkeys(ALL, _unbatched_through_batch(lambda t: t)),
    Witness("max_pool1d", [[1, 2, 3, 4]], {"kernel_size": 2}),
)
unbatched_squeeze_drops_size_one_dims = Mutant(
    "unbatched-squeeze-drops-size-one-dims",
    "the batch axis added for an unbatched input removed with squeeze() over all axes, so size-1 "
    "channel and spatial axes go too",
    dict.fromkeys(ALL, _unbatched_through_batch(torch.squeeze)),
    Witness("max_pool1d", [[1, 2]], {"kernel_size": 2}),
)

# Parameter validation.

padding_over_half_kernel_clamped = Mutant(
    "padding-over-half-kernel-clamped",
    "padding above kernel_size/2 silently clamped instead of raising (anchors (d) 9)",
    dict.fromkeys(SLIDING, _with(padding=lambda c: tuple(
        min(p, k // 2) for p, k in zip(c.axes("padding"), c.axes("kernel_size"))))),
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "padding": 2}),
)
rejects_stride_greater_than_kernel = Mutant(
    "rejects-stride-greater-than-kernel",
    "stride > kernel_size rejected though valid (gaps between windows; TF's "
    "testKernelSmallerThanStride)",
    dict.fromkeys(SLIDING, _rejects_stride_over_kernel),
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 1, "stride": 2}),
)

# Backward only: the forward is torch's, the gradient is not.

avg_backward_divisor_counts_ceil_overhang = Mutant(
    "avg-backward-divisor-counts-ceil-overhang",
    "the backward divides an overhanging ceil-mode window by the full kernel size while the "
    "forward clips it (tracel-ai/burn#5604, pytorch/pytorch#198119 in Inductor's lowering)",
    {},
    Witness("avg_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2, "ceil_mode": True},
            grad_output=[[[1, 1, 1]]]),
    gradients={"avg_pool": _backward_divisor_counts_overhang},
)
max_backward_to_last_tied_maximum = Mutant(
    "max-backward-to-last-tied-maximum",
    "the backward re-finds the maximum with '>=' and sends the gradient to the last of tied "
    "maxima, not the element the forward's index names (Theano/Theano#5404: implementations "
    "disagree on which tied maximum gets the gradient)",
    {},
    Witness("max_pool1d", [[[2, 2, 1]]], {"kernel_size": 2, "stride": 1},
            grad_output=[[[1, 1]]]),
    gradients={"max_pool": _scattered_through(_last_of_tied_maxima)},
)
max_backward_through_transposed_indices = Mutant(
    "max-backward-through-transposed-indices",
    "the backward scatters through indices flattened column-major (w * H + h), the forward's "
    "values and indices untouched",
    {},
    Witness("max_pool2d", [[[[1, 5, 2], [0, 3, 4]]]], {"kernel_size": (2, 3)},
            grad_output=[[[[1]]]]),
    gradients=dict.fromkeys(MAX, _scattered_through(_transposed_indices)),
)

MUTANTS: dict[str, Mutant] = {
    mutant.name: mutant for mutant in list(globals().values()) if isinstance(mutant, Mutant)
}
