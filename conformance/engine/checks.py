"""Running a case on a backend and on the oracle, and saying how the two differ.

`observe` runs both; `compare` judges one concern (shape, dtype, values, indices) and returns a
`Mismatch` whose message names the element that differed, by how much, and the parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from conformance.engine.arrays import from_reference, to_reference
from conformance.engine.cases import Case
from conformance.engine.dialects import axis_windows, index_count, oracle_result, spatial_index
from conformance.engine.tolerance import average_bound, mismatched_elements

CONCERNS = ("shape", "dtype", "values", "indices")


class CallDidNotReturn(Exception):
    """The backend call killed its process or outran its time limit (conformance.runner.isolation).
    Neither is a way of rejecting arguments, valid or not: both are findings of their own."""


@dataclass(frozen=True)
class Mismatch:
    # one of CONCERNS, or "raises" / "accepts" / "type" / "crashes" when no comparison is possible
    concern: str
    message: str
    expected: str = ""  # the oracle's values around the first difference, for reports
    actual: str = ""


@dataclass
class Observation:
    case: Case
    expected: object = None  # the oracle's array, or (values, indices)
    oracle_error: Exception | None = None
    actual: object = None
    backend_error: BaseException | None = None
    unsupported: str | None = None  # why the backend cannot run this case


def observe(backend, case: Case) -> Observation:
    observation = Observation(case)
    try:
        result = oracle_result(case, to_reference(case.input))
        observation.expected = (
            tuple(from_reference(part) for part in result) if isinstance(result, tuple)
            else from_reference(result)
        )
    except (TypeError, ValueError) as error:
        observation.oracle_error = error
    function = getattr(backend, case.op_name, None)
    if function is None:
        observation.unsupported = f"the backend has no {case.op_name}"
        return observation
    try:
        observation.actual = function(case.input.copy(), **case.kwargs)
    except NotImplementedError as error:
        observation.unsupported = describe_error(error)
    except KeyboardInterrupt:
        raise  # the user's Ctrl-C, which a backend cannot be told apart from
    except BaseException as error:  # any exception (SystemExit too) is a way of rejecting the case
        observation.backend_error = error
    return observation


def describe_error(error: BaseException) -> str:
    """`TypeName: message`, even for an exception whose __str__ itself fails."""
    try:
        message = str(error)
    except Exception:
        message = f"<{type(error).__name__} whose message cannot be shown>"
    return f"{type(error).__name__}: {message}"


def compare(observation: Observation, concern: str) -> Mismatch | None:
    """How the backend departs from the oracle on `concern`, or None where it conforms."""
    case = observation.case
    if isinstance(observation.backend_error, CallDidNotReturn):
        return Mismatch("crashes", f"{describe_error(observation.backend_error)}; "
                                   f"case: {case.describe()}")
    if observation.oracle_error is not None:
        if observation.backend_error is None:
            return Mismatch("accepts", (
                f"the backend accepted invalid arguments: the oracle raises "
                f"{type(observation.oracle_error).__name__}: {observation.oracle_error}; "
                f"case: {case.describe()}"
            ))
        return None
    if observation.backend_error is not None:
        error = observation.backend_error
        return Mismatch("raises", (
            f"the backend raised {describe_error(error)} on valid arguments; "
            f"case: {case.describe()}"
        ))
    problem = _result_kind_problem(observation)
    if problem:
        return Mismatch("type", f"{problem}; case: {case.describe()}")
    return _COMPARISONS[concern](observation)


def _result_kind_problem(observation: Observation) -> str | None:
    actual = observation.actual
    if isinstance(observation.expected, tuple):
        if not isinstance(actual, tuple) or len(actual) != 2:
            return (f"with return_indices=True the backend must return a tuple "
                    f"(values, indices), but returned {_kind(actual)}")
        parts = actual
    else:
        if isinstance(actual, tuple):
            return f"the backend returned {_kind(actual)}, but one array was expected"
        parts = (actual,)
    for part in parts:
        if not isinstance(part, np.ndarray):
            return f"the backend returned {_kind(part)} where a numpy.ndarray was expected"
        if not part.flags.c_contiguous:
            return f"the backend returned a non-contiguous array (strides {part.strides})"
        if not part.flags.writeable:
            return "the backend returned a read-only array"
    return None


def _kind(value) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} ({', '.join(type(v).__name__ for v in value)})"
    return f"a {type(value).__module__}.{type(value).__name__}"


def _pairs(observation):
    """(name, expected, actual) for the values and, with return_indices, the indices."""
    expected, actual = observation.expected, observation.actual
    if isinstance(expected, tuple):
        return [("values", expected[0], actual[0]), ("indices", expected[1], actual[1])]
    return [("values", expected, actual)]


def _compare_attribute(observation: Observation, attribute: str) -> Mismatch | None:
    """The arrays' `attribute` ("shape" or "dtype"), values first, then indices."""
    for name, expected, actual in _pairs(observation):
        wanted, got = getattr(expected, attribute), getattr(actual, attribute)
        if wanted != got:
            return Mismatch(attribute, (
                f"{observation.case.op_name} {name} {attribute} differs: expected {wanted}, "
                f"got {got}; case: {observation.case.describe()}"
            ), str(wanted), str(got))
    return None


def _compare_shape(observation: Observation) -> Mismatch | None:
    return _compare_attribute(observation, "shape")


def _compare_dtype(observation: Observation) -> Mismatch | None:
    return _compare_attribute(observation, "dtype")


def _compare_values(observation: Observation) -> Mismatch | None:
    shape_mismatch = _compare_shape(observation)
    if shape_mismatch:
        return shape_mismatch
    case = observation.case
    _, expected, actual = _pairs(observation)[0]
    bound = value_tolerance(case, expected)
    differs = mismatched_elements(expected, actual, bound)
    if not differs.any():
        return None
    return first_difference(
        "values", case, "values differ at out", expected, actual, differs, bound,
        lambda first: f"the window reads input positions {_window_text(case, first)}")


def first_difference(concern: str, case: Case, headline: str, expected: np.ndarray,
                     actual: np.ndarray, differs: np.ndarray, bound, where) -> Mismatch:
    """The mismatch of an array comparison, named by its first differing element: both values,
    by how much, the tolerance there (`bound`, broadcast to the array; None is 0), `where(index)`
    (which windows the element comes from), the case, and the neighbourhood of the element."""
    first = tuple(int(i) for i in np.argwhere(differs)[0])
    allowed = 0.0 if bound is None else float(np.broadcast_to(bound, expected.shape)[first])
    expected_value, actual_value = expected[first], actual[first]
    difference = abs(float(actual_value) - float(expected_value))  # NaN where either is NaN
    message = (
        f"{case.op_name} {headline}{list(first)} ({int(differs.sum())} of {differs.size} "
        f"elements): expected {expected_value!r}, got {actual_value!r} (|difference| "
        f"{difference:.6g} > tolerance {allowed:.6g}); {where(first)}; case: {case.describe()}"
    )
    return Mismatch(concern, message, _around(expected, first, case), _around(actual, first, case))


def _compare_indices(observation: Observation) -> Mismatch | None:
    shape_mismatch = _compare_shape(observation)
    if shape_mismatch or not isinstance(observation.expected, tuple):
        return shape_mismatch
    case = observation.case
    expected, actual = observation.expected[1], observation.actual[1]
    plane_size = index_count(case)
    actual = actual.astype(np.int64)
    # An expected -1 marks a window with no input element: any index naming no element is right.
    names_an_element = (actual >= 0) & (actual < plane_size)
    differs = np.where(expected >= 0, actual != expected, names_an_element)
    if not differs.any():
        return None
    first = tuple(int(i) for i in np.argwhere(differs)[0])
    wanted = (f"expected {int(expected[first])}" if expected[first] >= 0
              else "expected an index naming no element (the window holds no input element)")
    message = (
        f"{case.op_name} indices differ at out{list(first)} ({int(differs.sum())} of "
        f"{differs.size} elements): {wanted}, got {int(actual[first])}; the window reads input "
        f"positions {_window_text(case, first)}; case: {case.describe()}"
    )
    return Mismatch("indices", message, _around(expected, first, case),
                    _around(actual, first, case))


_COMPARISONS = {
    "shape": _compare_shape,
    "dtype": _compare_dtype,
    "values": _compare_values,
    "indices": _compare_indices,
    # Arguments at the edge of validity: where both accept them, the results must agree too.
    "validity": _compare_values,
}


def value_tolerance(case: Case, expected: np.ndarray):
    """Per-element tolerance of the case's values (conformance.engine.tolerance); None means exact."""
    if case.op.chooses or case.dtype.startswith(("int", "uint")):
        return None
    magnitudes = np.abs(case.input.astype(np.float64))
    mean_abs = oracle_result(case, to_reference(magnitudes))
    mean_abs = from_reference(mean_abs[0] if isinstance(mean_abs, tuple) else mean_abs)
    windows = axis_windows(case)
    window_size = math.prod(max((len(w.positions) for w in axis), default=0) for axis in windows)
    return average_bound(expected, np.abs(mean_abs), window_size, case.dtype)


def _window_text(case: Case, out_index: tuple[int, ...]) -> str:
    windows = axis_windows(case)
    spatial = spatial_index(case, out_index)
    per_axis = [list(axis[i].positions) for axis, i in zip(windows, spatial)]
    return " x ".join(str(positions) for positions in per_axis) + " (outside [0, size) is padding)"


def _spatial_axes(case: Case, ndim: int) -> range:
    """A dialect case's spatial axes: channels-last layouts put them before the channels."""
    last = spatial_index(case, tuple(range(ndim))) == tuple(range(1, 1 + case.op.spatial_dims))
    return range(1, ndim - 1) if last else range(2, ndim)


def _around(array: np.ndarray, index: tuple[int, ...], case: Case, radius: int = 2) -> str:
    """The first differing element's neighbourhood in its (n, c) plane, as text."""
    spatial_axes = range(array.ndim - case.op.spatial_dims, array.ndim)
    if case.dialect != "torch" and array.ndim == case.input.ndim and case.input.ndim >= 3:
        spatial_axes = _spatial_axes(case, array.ndim)
    crop = tuple(
        slice(max(0, i - radius), i + radius + 1) if axis in spatial_axes else i
        for axis, i in enumerate(index)
    )
    return np.array2string(array[crop], threshold=200, max_line_width=100)
