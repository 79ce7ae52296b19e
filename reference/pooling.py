"""The pooling operators, each output element computed from the window it reads.

One implementation per op family, for any number of spatial dimensions; the public
`max_pool2d`-style functions at the bottom only fix that number. Each semantic rule is written
once, in the function named for it: `sliding_windows` and `adaptive_windows` (reference.windows)
say which positions a window reads, `extreme_of_window` how max and min pooling choose,
`average_divisor` what an average divides by, and `dtypes.store` how a result is stored.
"""

from __future__ import annotations

import inspect
import itertools
import math
import operator
from dataclasses import dataclass
from fractions import Fraction

from reference import parameters
from reference.array import Array
from reference.dtypes import INDEX_DTYPE, highest, is_integer, lowest, store
from reference.windows import INPUT, OVERHANG, AxisWindow, adaptive_windows, sliding_windows


@dataclass(frozen=True)
class Window:
    """What one output element reads from one (n, c) plane."""

    elements: tuple[tuple[int, object], ...]  # (flat index in the plane, value), window order
    padding_count: int  # positions in the padding
    overhang_count: int  # positions past the padded input (ceil mode), counted nowhere


def gather_window(plane: tuple, spatial_shape: tuple[int, ...], axis_windows) -> Window:
    """The N-d window as the product of one window per axis, in row-major window order.

    A position is input only if it is input on every axis; it is overhang if it is overhang on
    any axis; otherwise it is padding.
    """
    elements, padding_count, overhang_count = [], 0, 0
    for taps in itertools.product(*(zip(w.positions, w.kinds) for w in axis_windows)):
        kinds = {kind for _, kind in taps}
        if OVERHANG in kinds:
            overhang_count += 1
        elif kinds == {INPUT}:
            flat = 0
            for (position, _), size in zip(taps, spatial_shape):
                flat = flat * size + position
            elements.append((flat, plane[flat]))
        else:
            padding_count += 1
    return Window(tuple(elements), padding_count, overhang_count)


def extreme_of_window(window: Window, dtype: str, prefer) -> tuple[object, int | None]:
    """The max (`prefer=operator.gt`) or min (`operator.lt`) of a window, and the chosen index.

    - Padding takes part as -inf for max (+inf for min): "implicit negative infinity padding"
      (MaxPool2d docs). It never beats an input element and is never chosen, so only input
      elements are examined here.
    - Ties go to the first element in window order (row-major over the window), i.e. the
      smallest flat index; torch's kernels update only on a strictly greater value. So of -0.0
      and 0.0, whichever comes first is returned.
    - NaN propagates: a NaN is preferred to every number, and the first NaN is chosen. torch's
      CPU kernel picks the *last* NaN instead; that is registered as a torch deviation, since
      nothing documents it and first-NaN is the tie rule applied consistently.
    - A window with no input element (possible with dilation) gives the dtype's lowest value for
      max (-inf, or the integer minimum; `dtypes.lowest`) and highest for min, and its index is
      None: there is no element to name. Any index a backend returns there must name no element.
    """
    chosen = None
    for index, value in window.elements:
        if chosen is None:
            chosen = (value, index)
        elif _is_nan(chosen[0]):
            break
        elif _is_nan(value) or prefer(value, chosen[0]):
            chosen = (value, index)
    if chosen is None:
        return (lowest(dtype) if prefer is operator.gt else highest(dtype)), None
    return chosen


def average_divisor(window: Window, count_include_pad: bool, divisor_override) -> int:
    """What the sum of a window is divided by. The one place this rule lives.

    - `divisor_override`, when given, is the divisor ("if specified, it will be used as divisor,
      otherwise size of the pooling region will be used", AvgPool2d docs); negative is allowed.
    - `count_include_pad=True` counts the input and padding positions ("when True, will include
      the zero-padding in the averaging calculation"); `False` counts input positions only.
    - The ceil-mode overhang is never counted: torch clips a window to the padded input before
      counting (`hend = min(hstart + kH, input_height + padH)` in AvgPoolKernel.cpp). Counting it
      is the bug of apple/coremltools#2772, sonos/tract#2851 and robertknight/rten#1456.
    """
    if divisor_override is not None:
        return divisor_override
    return len(window.elements) + (window.padding_count if count_include_pad else 0)


def average_of_window(window: Window, dtype: str, divisor: int):
    """The window's sum (padding adds zeros) divided by `divisor`, stored in `dtype`.

    Floats: the exact quotient, rounded once (`dtypes.store`). NaN or both infinities in the
    window give NaN; otherwise an infinity dominates, with the divisor's sign applied.
    Integers: the quotient truncated toward zero, as torch's integer kernels compute
    `sum / divide_factor` in C++ integer arithmetic.
    """
    values = [value for _, value in window.elements]
    if is_integer(dtype):
        return store(int(Fraction(sum(values), divisor)), dtype)
    return store(exact_sum(values) / divisor, dtype)


def lp_norm_of_window(window: Window, dtype: str, p: int):
    """The window's Lp norm, (sum |x|^p)^(1/p), stored in `dtype`: ONNX LpPool ("computing the
    Lp norm on all values of a subset of the input tensor according to the kernel size";
    `p` defaults to 2). Padding adds zeros, so only input elements are summed. The sum of
    |x|^p is exact; its root is taken once in float64 after scaling by the largest |x|, so no
    intermediate overflows. NaN gives NaN; an infinity (with no NaN) gives +inf."""
    magnitudes = [abs(value) for _, value in window.elements]
    if any(_is_nan(m) for m in magnitudes):
        return store(math.nan, dtype)
    if any(math.isinf(m) for m in magnitudes):
        return store(math.inf, dtype)
    largest = max(magnitudes, default=0.0)
    if largest == 0:
        return store(0.0, dtype)
    scaled = sum((Fraction(m) / Fraction(largest)) ** p for m in magnitudes)
    return store(largest * float(scaled) ** (1.0 / p), dtype)


def exact_sum(terms) -> Fraction | float:
    """The exact sum of floats and Fractions: a Fraction, or a float where the sum is not finite.

    NaN, or both infinities, give NaN; otherwise an infinity dominates. Dividing the result by a
    nonzero int keeps that meaning: an infinity takes the divisor's sign.
    """
    terms = list(terms)
    infinities = {term for term in terms if isinstance(term, float) and math.isinf(term)}
    if any(_is_nan(term) for term in terms) or len(infinities) == 2:
        return math.nan
    if infinities:
        return infinities.pop()
    return sum(map(Fraction, terms), Fraction(0))


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def plane_windows(input: Array, windows_per_axis):
    """Every window of every (n, c) plane, in the output's row-major order, each with the offset
    of its plane in `input.data` (a window's indices are flat within its plane)."""
    spatial_shape = input.shape[-len(windows_per_axis):]
    plane_size = math.prod(spatial_shape)
    for plane_start in range(0, len(input.data), plane_size):
        plane = input.data[plane_start : plane_start + plane_size]
        for axis_windows in itertools.product(*windows_per_axis):
            yield plane_start, gather_window(plane, spatial_shape, axis_windows)


def pooled_shape(input_shape: tuple[int, ...], windows_per_axis) -> tuple[int, ...]:
    """The output's shape: the leading dims, then one entry per axis counting its windows."""
    return input_shape[:-len(windows_per_axis)] + tuple(map(len, windows_per_axis))


def _pool(input: Array, windows_per_axis, reduce_window):
    """Apply `reduce_window` to every window of every (n, c) plane: (values, indices) arrays."""
    values, indices = [], []
    for _, window in plane_windows(input, windows_per_axis):
        value, index = reduce_window(window)
        values.append(value)
        indices.append(index)
    shape = pooled_shape(input.shape, windows_per_axis)
    return Array(shape, tuple(values), input.dtype), Array(shape, tuple(indices), INDEX_DTYPE)


def _sliding_windows_per_axis(op_name, spatial_dims, shape, kernel_size, stride, padding,
                              dilation, ceil_mode) -> list[list[AxisWindow]]:
    parameters.check_input_shape(op_name, spatial_dims, shape)
    kernel, strides, pads, dilations = parameters.sliding_parameters(
        op_name, spatial_dims, kernel_size, stride, padding, dilation
    )
    spatial_shape = shape[-spatial_dims:]
    windows = [
        sliding_windows(length, k, s, p, d, bool(ceil_mode))
        for length, k, s, p, d in zip(spatial_shape, kernel, strides, pads, dilations)
    ]
    parameters.check_windows_exist(op_name, spatial_shape, [len(w) for w in windows])
    return windows


def _adaptive_windows_per_axis(op_name, spatial_dims, shape, output_size):
    parameters.check_input_shape(op_name, spatial_dims, shape)
    spatial_shape = shape[-spatial_dims:]
    sizes = parameters.adaptive_output_size(op_name, spatial_dims, output_size, spatial_shape)
    return [adaptive_windows(length, size) for length, size in zip(spatial_shape, sizes)]


def _global_windows_per_axis(op_name, spatial_dims, shape):
    parameters.check_input_shape(op_name, spatial_dims, shape)
    return global_windows(shape, spatial_dims)


# The op families. Each takes the number of spatial dimensions and the op's public name
# (for messages) as keyword-only arguments, which `_specialise` fixes.


def _extreme_pool(prefer):
    def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False, *, spatial_dims, op_name):
        """Max or min pooling; with `return_indices`, also the index each element came from."""
        windows = _sliding_windows_per_axis(
            op_name, spatial_dims, input.shape, kernel_size, stride, padding, dilation, ceil_mode
        )
        values, indices = _pool(
            input, windows, lambda w: extreme_of_window(w, input.dtype, prefer)
        )
        return (values, indices) if return_indices else values

    return pool


# `extreme_of_window`'s `prefer` for each choosing family.
PREFERENCES = {"max_pool": operator.gt, "min_pool": operator.lt, "adaptive_max_pool": operator.gt}

max_pool = _extreme_pool(PREFERENCES["max_pool"])
min_pool = _extreme_pool(PREFERENCES["min_pool"])


def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None, *, spatial_dims, op_name):
    """Average pooling. torch's AvgPool has no dilation; neither has this."""
    parameters.check_divisor_override(op_name, divisor_override)
    windows = _sliding_windows_per_axis(
        op_name, spatial_dims, input.shape, kernel_size, stride, padding, 1, ceil_mode
    )

    def reduce_window(window):
        divisor = average_divisor(window, bool(count_include_pad), divisor_override)
        return average_of_window(window, input.dtype, divisor), None

    return _pool(input, windows, reduce_window)[0]


def adaptive_avg_pool(input, output_size, *, spatial_dims, op_name):
    windows = _adaptive_windows_per_axis(op_name, spatial_dims, input.shape, output_size)

    def reduce_window(window):
        return average_of_window(window, input.dtype, average_divisor(window, True, None)), None

    return _pool(input, windows, reduce_window)[0]


def adaptive_max_pool(input, output_size, return_indices=False, *, spatial_dims, op_name):
    windows = _adaptive_windows_per_axis(op_name, spatial_dims, input.shape, output_size)
    prefer = PREFERENCES["adaptive_max_pool"]
    values, indices = _pool(input, windows, lambda w: extreme_of_window(w, input.dtype, prefer))
    return (values, indices) if return_indices else values


def global_avg_pool(input, *, spatial_dims, op_name):
    """The mean over all spatial dimensions, each kept with size 1.

    Defined directly as one window per (n, c) plane holding the whole plane, not as
    AdaptiveAvgPool2d((1, 1)): that identity is one of the course notebook's claims under test.
    """
    windows = _global_windows_per_axis(op_name, spatial_dims, input.shape)

    def reduce_window(window):
        return average_of_window(window, input.dtype, average_divisor(window, True, None)), None

    return _pool(input, windows, reduce_window)[0]


def _specialise(family, family_name: str, spatial_dims: int, drop=()):
    """`family` with the number of spatial dimensions fixed, under torch's name for it."""
    name = f"{family_name}{spatial_dims}d"

    family_signature = inspect.signature(family)
    signature = family_signature.replace(parameters=[
        p for p in family_signature.parameters.values()
        if p.kind is not p.KEYWORD_ONLY and p.name not in drop
    ])

    def op(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)  # TypeError for an argument torch's op lacks
        return family(*bound.args, **bound.kwargs, spatial_dims=spatial_dims, op_name=name)

    op.__signature__ = signature
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{family_name} over {spatial_dims} spatial dimension(s). {family.__doc__ or ''}"
    return op


max_pool1d, max_pool2d, max_pool3d = (_specialise(max_pool, "max_pool", n) for n in (1, 2, 3))
min_pool1d, min_pool2d, min_pool3d = (_specialise(min_pool, "min_pool", n) for n in (1, 2, 3))
# torch's avg_pool1d has no divisor_override parameter.
avg_pool1d = _specialise(avg_pool, "avg_pool", 1, drop=("divisor_override",))
avg_pool2d, avg_pool3d = (_specialise(avg_pool, "avg_pool", n) for n in (2, 3))
adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d = (
    _specialise(adaptive_avg_pool, "adaptive_avg_pool", n) for n in (1, 2, 3)
)
adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d = (
    _specialise(adaptive_max_pool, "adaptive_max_pool", n) for n in (1, 2, 3)
)
global_avg_pool1d, global_avg_pool2d, global_avg_pool3d = (
    _specialise(global_avg_pool, "global_avg_pool", n) for n in (1, 2, 3)
)


def reduce_windows(input: Array, windows_per_axis, reduction: str, count_include_pad=True,
                   p: int = 2):
    """`input` pooled over `windows_per_axis` (N-d windows as products of per-axis windows):
    (values, indices) arrays. The entry point of the dialects (reference.dialects), which
    state their windows and call this with one of the reductions the torch ops use: "max",
    "min" (`extreme_of_window`), "average" (`average_divisor`, `count_include_pad`), or "lp"
    (`lp_norm_of_window`, `p`); indices are flat within each (n, c) plane, as torch's."""
    if reduction in ("max", "min"):
        prefer = operator.gt if reduction == "max" else operator.lt
        return _pool(input, windows_per_axis, lambda w: extreme_of_window(w, input.dtype, prefer))
    if reduction == "average":
        def average(window):
            divisor = average_divisor(window, bool(count_include_pad), None)
            if divisor == 0:
                # A window of padding alone that counts no padding (ONNX pads >= kernel, or
                # dilation): no spec names its value; 0/0 in IEEE 754 is NaN. The strategies
                # draw no such window for averages, so no verdict rests on this.
                return store(math.nan, input.dtype), None
            return average_of_window(window, input.dtype, divisor), None
        return _pool(input, windows_per_axis, average)
    if reduction == "lp":
        return _pool(input, windows_per_axis, lambda w: (lp_norm_of_window(w, input.dtype, p),
                                                         None))
    raise ValueError(f"unknown reduction {reduction!r}")


def global_windows(input_shape: tuple[int, ...], spatial_dims: int) -> list[list[AxisWindow]]:
    """One window per (n, c) plane holding the whole plane (global pooling)."""
    return [[AxisWindow(tuple(range(length)), (INPUT,) * length)]
            for length in input_shape[-spatial_dims:]]


def op_windows(op_name: str, input_shape: tuple[int, ...], *args, **kwargs):
    """The per-axis windows `op_name` reads for an input of this shape, checked as the op does.

    For tools that describe a case (coverage regions, messages) and for the gradients; the ops
    use the same functions.
    """
    arguments = op_arguments(op_name, *args, **kwargs)
    family, spatial_dims = op_name[:-2], int(op_name[-2])
    if family.startswith("adaptive"):
        return _adaptive_windows_per_axis(op_name, spatial_dims, input_shape,
                                          arguments["output_size"])
    if family == "global_avg_pool":
        return _global_windows_per_axis(op_name, spatial_dims, input_shape)
    return _sliding_windows_per_axis(
        op_name, spatial_dims, input_shape, arguments["kernel_size"], arguments["stride"],
        arguments["padding"], arguments.get("dilation", 1), arguments["ceil_mode"],
    )


def op_arguments(op_name: str, *args, **kwargs) -> dict:
    """The arguments after `input` by name, defaults filled in; TypeError for one the op lacks."""
    bound = globals()[op_name].__signature__.bind(None, *args, **kwargs)
    bound.apply_defaults()
    return {name: value for name, value in bound.arguments.items() if name != "input"}
