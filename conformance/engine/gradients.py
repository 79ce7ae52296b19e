"""The backward pass: a case's vector-Jacobian product on a backend and on the oracle, compared.

A gradient case is a forward case with an upstream gradient (`Case.grad_output`, shaped like the
op's output). The oracle's answer is `reference.gradients.vjp`; a backend answers through its
optional `vjp(op_name, input, grad_output, *args, **kwargs)` (docs/backend-interface.md), and a
backend without it, or without the op, is unsupported. The concern is "gradient": a wrong shape,
dtype or value of the gradient is a gradient mismatch; raising, or returning something other than
one array, is judged as for the forward (`checks.compare`).

Tolerance. Each element of the gradient is a sum of contributions, one per window that sends it
something: the upstream gradient itself (max, min), or divided by the window's divisor (averages;
torch's channels-last adaptive average divides once per axis). A backend may round each division and each
addition, in the input's dtype (torch's CPU backward kernels accumulate `grad_input[i] +=
grad_delta` in the input's scalar type, float16 and bfloat16 included). So the bound is (n + 1)
epsilons of the dtype times the sum of |contributions|, n the most contributions any element can
receive (the most windows holding one element), plus one unit in the last place of the expected
element for the oracle's own rounding: tolerance.average_bound's reasoning, with the dtype's own
epsilon for the accumulation. An element that receives nothing must be exactly 0.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from conformance.engine.arrays import from_reference, to_reference
from conformance.engine.cases import Case
from conformance.engine.checks import Mismatch, Observation, compare, first_difference
from conformance.engine.tolerance import mismatched_elements, unit_in_last_place
from reference.dtypes import FLOAT_FORMATS
from reference.gradients import vjp
from reference.pooling import op_windows
from reference.windows import INPUT


def observe_gradient(backend, case: Case, grad_output: np.ndarray | None = None) -> Observation:
    """The oracle's and the backend's gradient of `case` for the upstream `grad_output` (by
    default the case's own); the observation's case carries the upstream gradient used."""
    if grad_output is None:
        grad_output = case.grad_output
    observation = Observation(dataclasses.replace(case, grad_output=grad_output))
    try:
        observation.expected = from_reference(vjp(
            case.op_name, to_reference(case.input), to_reference(grad_output), **case.kwargs
        ))
    except (TypeError, ValueError) as error:
        observation.oracle_error = error
    backend_vjp = getattr(backend, "vjp", None)
    if backend_vjp is None or getattr(backend, case.op_name, None) is None:
        missing = "vjp" if backend_vjp is None else case.op_name
        observation.unsupported = f"the backend has no {missing}"
        return observation
    try:
        observation.actual = backend_vjp(case.op_name, case.input.copy(), grad_output.copy(),
                                         **case.kwargs)
    except NotImplementedError as error:
        observation.unsupported = f"NotImplementedError: {error}"
    except Exception as error:  # any exception is a way of rejecting the case
        observation.backend_error = error
    return observation


def compare_gradient(observation: Observation) -> Mismatch | None:
    """How the backend's gradient departs from the oracle's, or None where it conforms."""
    # Raising, accepting what the oracle rejects, or returning something other than one array
    # is judged as for the forward; a wrong shape is the gradient's own mismatch, below.
    verdict = compare(observation, "shape")
    if observation.oracle_error is not None or (verdict and verdict.concern != "shape"):
        return verdict
    case, expected, actual = observation.case, observation.expected, observation.actual
    if (expected.shape, expected.dtype) != (actual.shape, actual.dtype):
        return Mismatch("gradient", (
            f"{case.op_name} gradient must be shaped and typed like the input, "
            f"{expected.shape} {expected.dtype}, but is {actual.shape} {actual.dtype}; "
            f"case: {case.describe()}"
        ), f"{expected.shape} {expected.dtype}", f"{actual.shape} {actual.dtype}")
    bound = gradient_tolerance(case, expected)
    differs = mismatched_elements(expected, actual, bound)
    if not differs.any():
        return None
    return first_difference("gradient", case, "gradient differs at grad_input", expected, actual,
                            differs, bound, lambda first: _senders_text(case, first))


def gradient_tolerance(case: Case, expected: np.ndarray) -> np.ndarray:
    """The largest allowed |actual - expected| for each element of the gradient."""
    # Which elements receive what depends on the input's values only through max/min choices,
    # which float64 preserves; sending |grad_output| gives each element its sum of |contributions|.
    magnitudes = np.abs(from_reference(vjp(
        case.op_name, to_reference(case.input.astype(np.float64)),
        to_reference(np.abs(case.grad_output.astype(np.float64))), **case.kwargs,
    )))
    epsilon = FLOAT_FORMATS[case.dtype].epsilon
    return ((most_contributions(case) + 1) * epsilon * magnitudes
            + unit_in_last_place(expected, case.dtype))


def most_contributions(case: Case) -> int:
    """The most windows that hold any one input element: a bound on its contributions."""
    windows = op_windows(case.op_name, case.input.shape, **case.kwargs)
    return math.prod(
        max(map(len, _windows_holding(axis_windows).values()), default=0)
        for axis_windows in windows
    )


def _windows_holding(axis_windows) -> dict[int, list[int]]:
    """Along one axis: input position -> the windows (by output position) that hold it."""
    holding = {}
    for window_index, window in enumerate(axis_windows):
        for position, kind in zip(window.positions, window.kinds):
            if kind == INPUT:
                holding.setdefault(position, []).append(window_index)
    return holding


def _senders_text(case: Case, input_index: tuple[int, ...]) -> str:
    """The windows that hold the element, each with its upstream gradient, for the message."""
    spatial_dims = case.op.spatial_dims
    leading, spatial = input_index[:-spatial_dims], input_index[-spatial_dims:]
    windows = op_windows(case.op_name, case.input.shape, **case.kwargs)
    per_axis = [_windows_holding(axis).get(position, [])
                for axis, position in zip(windows, spatial)]
    senders = [leading + out for out in itertools.product(*per_axis)]
    if not senders:
        return "no window holds this element"
    listed = ", ".join(f"out{list(out)} (upstream {case.grad_output[out]!r})"
                       for out in senders)
    return f"the windows holding this element: {listed}"
