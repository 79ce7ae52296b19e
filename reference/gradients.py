"""The backward pass: the vector-Jacobian product of every pooling op, from the forward's windows.

`vjp(op_name, input, grad_output, ...)` is the gradient of `sum(op(input) * grad_output)` with
respect to `input`. It is computed the naive way: enumerate the windows exactly as the forward op
does (`pooling.op_windows`, `pooling.plane_windows`), ask the forward's own rules which elements a
window's output depends on and how (`extreme_of_window`, `average_divisor`), and send each
window's upstream gradient there. So the backward can never disagree with the forward about a
window, a tie, a NaN or a divisor. The rules, with torch's CPU backward kernels for each (torch
departs twice, as its forward indices do: several NaNs send to the last, and an empty window to
whatever element its stray index names; conformance/deviations/torch.toml):

- Max, min and adaptive max pooling send a window's upstream gradient to the element the forward
  chose, the one its index names: same tie rule (the first in window order) and NaN rule (the
  first NaN) as `extreme_of_window`. torch scatters through the forward's indices,
  `grad_input[maxindex] += grad_output` (aten/src/ATen/native/cpu/MaxPoolKernel.cpp,
  `cpu_max_pool_backward`; AdaptiveMaxPoolKernel.cpp, `cpu_adaptive_max_pool_backward`). A
  window with no input element has no index, so its gradient goes nowhere.
- Average pooling spreads a window's upstream gradient equally over the input elements it
  averaged, each receiving `grad_output / divisor` with the forward's divisor
  (`average_divisor`: padding counted or not, the ceil overhang never, `divisor_override` when
  given). Padding positions are not input and receive nothing. torch: `grad_delta =
  grad_output / divide_factor` added to every input position of the window (AvgPoolKernel.cpp,
  `cpu_avg_pool_backward`, whose `divide_factor` is computed as in its forward).
- Adaptive average pooling does the same over its adaptive window (AdaptiveAvgPoolKernel.cpp,
  `cpu_adaptive_avg_pool_backward`: `grad_delta = grad_output / k`, k the window's element
  count, added to each element of the window), and global average pooling over the whole plane
  (the backward of `mean`: the upstream gradient divided by the number of elements).
- Contributions accumulate: an element read by several windows (overlapping windows, repeated
  adaptive windows, the same maximum chosen twice) receives the sum of what each sends. The sum
  is exact (fractions) and stored once in the input's dtype (`dtypes.store`); an element no
  window sends anything receives 0.

Only floating inputs have a gradient: an integer input raises TypeError, as torch refuses
`requires_grad` on integer tensors. `grad_output` must have the forward output's shape and the
input's dtype. `return_indices` is accepted and ignored: the gradient is that of the values.
"""

from __future__ import annotations

import math
from fractions import Fraction

from reference import parameters
from reference.array import Array
from reference.dtypes import is_integer, store
from reference.pooling import (
    PREFERENCES, Window, average_divisor, exact_sum, extreme_of_window, op_arguments, op_windows,
    plane_windows, pooled_shape,
)


def vjp(op_name: str, input: Array, grad_output: Array, *args, **kwargs) -> Array:
    """The gradient of `sum(op(input, *args, **kwargs) * grad_output)` with respect to `input`."""
    if is_integer(input.dtype):
        raise TypeError(f"{op_name}: an integer input ({input.dtype}) has no gradient")
    arguments = op_arguments(op_name, *args, **kwargs)
    parameters.check_divisor_override(op_name, arguments.get("divisor_override"))
    windows = op_windows(op_name, input.shape, *args, **kwargs)
    output_shape = pooled_shape(input.shape, windows)
    if grad_output.shape != output_shape:
        raise ValueError(f"{op_name}: grad_output has shape {grad_output.shape}, but the output "
                         f"has shape {output_shape}")
    if grad_output.dtype != input.dtype:
        raise TypeError(f"{op_name}: grad_output has dtype {grad_output.dtype}, but the output "
                        f"has dtype {input.dtype}")
    send = _sender(op_name[:-2], input.dtype, arguments)
    received = [[] for _ in input.data]
    for (plane_start, window), upstream in zip(plane_windows(input, windows), grad_output.data):
        for index, share in send(window, _exact(upstream)):
            received[plane_start + index].append(share)
    return Array(input.shape, tuple(store(exact_sum(shares), input.dtype) for shares in received),
                 input.dtype)


def _sender(family: str, dtype: str, arguments: dict):
    """How a window passes its upstream gradient on: window, upstream -> [(flat index, share)]."""
    if family in PREFERENCES:
        prefer = PREFERENCES[family]

        def to_the_chosen_element(window: Window, upstream):
            _, index = extreme_of_window(window, dtype, prefer)
            return [] if index is None else [(index, upstream)]

        return to_the_chosen_element

    # Adaptive and global pooling have neither argument: their windows hold no padding.
    count_include_pad = bool(arguments.get("count_include_pad", True))
    divisor_override = arguments.get("divisor_override")

    def spread_over_the_window(window: Window, upstream):
        share = upstream / average_divisor(window, count_include_pad, divisor_override)
        return [(index, share) for index, _ in window.elements]

    return spread_over_the_window


def _exact(value: float) -> Fraction | float:
    """A finite float as the Fraction it is; NaN and infinities stay floats (`exact_sum`)."""
    return Fraction(value) if math.isfinite(value) else value
