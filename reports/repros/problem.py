"""What a repro states: a finding's case rebuilt, and the definition's answer for it.

The repro script itself imports neither the suite nor the oracle; the oracle runs here, when the
script is written, and its answer goes into the script as literals, with the rule of the
definition that gives it (quoted from the docstring of the oracle function where the rule lives).
"""

from __future__ import annotations

import ast
import inspect
import math
from dataclasses import dataclass, replace

import ml_dtypes
import numpy as np

import reference
import reference.gradients
import reference.parameters
import reference.pooling
import reference.windows
from conformance.engine.arrays import NUMPY_DTYPES, from_reference, to_reference
from conformance.engine.cases import Case
from conformance.engine.checks import value_tolerance
from conformance.engine.gradients import gradient_tolerance

# The kinds of `results["faults"]`: the call did not answer at all.
FAULT_KINDS = ("crash", "hang", "out of memory", "wrong result type")


@dataclass(frozen=True)
class Problem:
    """A finding as a repro needs it: the case, the concern, and the oracle's answer."""

    case: Case
    concern: str  # values, indices, shape, dtype, gradient, raises, accepts, or a fault kind
    expected: np.ndarray | None = None  # values, or the gradient for a gradient finding
    expected_indices: np.ndarray | None = None
    oracle_error: str = ""  # for arguments the definition rejects
    atol: float = 0.0  # |actual - expected| <= atol + rtol * |expected|: the suite's bound
    rtol: float = 0.0  # (conformance.engine.tolerance), loosened to two numbers for a script
    rule: str = ""

    @property
    def gradient(self) -> bool:
        return self.case.grad_output is not None

    @property
    def plane_size(self) -> int:
        return math.prod(self.case.input.shape[-self.case.op.spatial_dims:])


def array_of(literal: str, dtype: str, shape) -> np.ndarray:
    """The array a finding's literal (Case.input_literal) spells, NaN and infinities included."""
    for spelled, name in (("-float('inf')", "'-inf'"), ("float('inf')", "'inf'"),
                          ("float('nan')", "'nan'")):
        literal = literal.replace(spelled, name)
    wide = np.array(ast.literal_eval(literal), dtype=np.int64 if dtype == "int64" else np.float64)
    return wide.astype(NUMPY_DTYPES[dtype]).reshape(shape)


def case_of(finding: dict) -> Case:
    """The finding's case: its op, input, keyword arguments (from its call text) and upstream
    gradient."""
    call = ast.parse(finding["call"], mode="eval").body
    kwargs = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    grad_output = None
    if finding.get("grad_output_literal"):
        grad_output = array_of(finding["grad_output_literal"], finding["dtype"],
                               finding["grad_output_shape"])
    return Case(finding["op"], array_of(finding["input_literal"], finding["dtype"],
                                        finding["input_shape"]), kwargs, grad_output)


def concern_of(finding: dict) -> str:
    if finding.get("kind") in FAULT_KINDS:
        return finding["kind"]
    return "values" if finding["concern"] == "validity" else finding["concern"]


def problem_of(case: Case, concern: str, regions=()) -> Problem:
    """The oracle's answer to `case`, with the tolerance a conforming backend stays within."""
    problem = Problem(case, concern, rule=rule_for(case, concern, regions))
    try:
        if case.grad_output is not None:
            gradient = from_reference(reference.gradients.vjp(
                case.op_name, to_reference(case.input), to_reference(case.grad_output),
                **case.kwargs))
            bound = gradient_tolerance(case, gradient)
            return replace(problem, expected=gradient, **_tolerances(gradient, bound))
        result = getattr(reference, case.op_name)(to_reference(case.input), **case.kwargs)
    except (TypeError, ValueError) as error:
        return replace(problem, oracle_error=f"{type(error).__name__}: {error}",
                       rule=f"the definition rejects these arguments: {error}")
    values, indices = (tuple(from_reference(part) for part in result) if isinstance(result, tuple)
                       else (from_reference(result), None))
    return replace(problem, expected=values, expected_indices=indices,
                   **_tolerances(values, value_tolerance(case, values)))


def _tolerances(expected: np.ndarray, bound) -> dict:
    """atol and rtol that allow what the per-element `bound` allows where it matters: atol is
    the smallest bound (an exact zero, or a subnormal's unit), rtol the largest remainder
    relative to the expected magnitude. An element whose bound is not a number (a NaN expected,
    which the scripts compare with equal_nan) bounds nothing."""
    if bound is None or not expected.size:
        return {"atol": 0.0, "rtol": 0.0}
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), expected.shape)
    bounding = ~np.isnan(bound)
    if not bounding.any():
        return {"atol": 0.0, "rtol": 0.0}
    magnitude = np.abs(expected.astype(np.float64))
    atol = float(bound[bounding].min())
    relative = (bound - atol) / np.where(magnitude > 0, magnitude, np.inf)
    usable = bounding & np.isfinite(magnitude) & (magnitude > 0)
    return {"atol": atol, "rtol": float(relative[usable].max()) if usable.any() else 0.0}


def with_batch_axis(case: Case) -> Case:
    """An unbatched case as a batch of one (for backends that take batched inputs only)."""
    if case.input.ndim == case.op.spatial_dims + 2:
        return case
    grad = None if case.grad_output is None else case.grad_output[np.newaxis]
    return replace(case, input=case.input[np.newaxis], grad_output=grad)


def batched(problem: Problem) -> Problem:
    """An unbatched case as a batch of one, answers included."""
    case = with_batch_axis(problem.case)
    if case is problem.case:
        return problem

    def add_axis(array):
        return None if array is None else array[np.newaxis]

    return replace(problem, case=case, expected=add_axis(problem.expected),
                   expected_indices=add_axis(problem.expected_indices))


# Which oracle docstring bullet states the rule a region exercises: (families, region, the
# function holding the rule, a phrase of its bullet). The first match wins; without one, the
# function's first line.
_CHOICE = ("max_pool", "min_pool", "adaptive_max_pool")
_AVERAGE = ("avg_pool", "adaptive_avg_pool", "global_avg_pool")
_RULES = (
    ("gradient", _CHOICE, None, reference.gradients, "Max, min and adaptive max pooling send"),
    ("gradient", ("avg_pool",), None, reference.gradients, "Average pooling spreads"),
    ("gradient", _AVERAGE, None, reference.gradients, "Adaptive average pooling does"),
    (None, _CHOICE, "nan_in_window", reference.pooling.extreme_of_window, "NaN propagates"),
    (None, _CHOICE, "nan", reference.pooling.extreme_of_window, "NaN propagates"),
    (None, _CHOICE, "window_without_input", reference.pooling.extreme_of_window,
     "no input element"),
    (None, _CHOICE, "tie_in_window", reference.pooling.extreme_of_window, "Ties go to"),
    (None, _CHOICE, "padding", reference.pooling.extreme_of_window, "Padding takes part"),
    (None, _AVERAGE, "ceil_overhang", reference.pooling.average_divisor, "overhang is never"),
    (None, _AVERAGE, "divisor_override", reference.pooling.average_divisor, "divisor_override"),
    (None, _AVERAGE, "padding", reference.pooling.average_divisor, "count_include_pad=True"),
    ("shape", None, "no_full_window", reference.windows.ceil_mode_extra_window, "no full window"),
    ("shape", None, "ceil_overhang", reference.windows.ceil_mode_extra_window, "would start"),
    ("shape", ("adaptive_avg_pool", "adaptive_max_pool"), None, reference.windows.adaptive_windows,
     None),
    ("shape", None, None, reference.windows.sliding_windows, "window i starts"),
    ("raises", None, "input_shorter_than_kernel", reference.windows.sliding_windows,
     "window i starts"),
    ("raises", None, "empty_batch", reference.parameters.check_input_shape, None),
    ("raises", None, "no_full_window", reference.windows.ceil_mode_extra_window, "no full window"),
    ("raises", None, None, reference.windows.sliding_windows, "window i starts"),
    (None, _CHOICE, None, reference.pooling.extreme_of_window, None),
    (None, _AVERAGE, None, reference.pooling.average_of_window, None),
)


def rule_for(case: Case, concern: str, regions=()) -> str:
    """One line: which rule of the definition gives the expected answer, and where it lives."""
    family, present = case.op.family, set(regions)
    if concern == "raises" and case.op.family not in ("max_pool", "min_pool", "avg_pool"):
        concern = "shape"
    for wanted_concern, families, region, holder, phrase in _RULES:
        if wanted_concern not in (None, concern if concern != "indices" else None):
            continue
        if (families and family not in families) or (region and region not in present):
            continue
        if wanted_concern is None and concern in ("shape", "raises"):
            continue
        return f"{_bullet(inspect.getdoc(holder), phrase)} ({_where(holder)})"
    return f"the oracle's {case.op_name} (reference/pooling.py)"


def _bullet(doc: str, phrase: str | None) -> str:
    """The docstring paragraph or bullet holding `phrase` (else the first), to its first
    sentence where it runs long."""
    paragraphs = [" ".join(part.split()) for part in doc.replace("\n- ", "\n\n- ").split("\n\n")]
    chosen = next((p for p in paragraphs if phrase and phrase in p), paragraphs[0])
    chosen = chosen.removeprefix("- ")
    return chosen if len(chosen) <= 160 else chosen[:chosen.find(". ") + 1 or None]


def _where(holder) -> str:
    module = inspect.getmodule(holder)
    name = "" if inspect.ismodule(holder) else f", {holder.__name__}"
    return f"{module.__name__.replace('.', '/')}.py{name}"


def bfloat16_safe(array: np.ndarray) -> np.ndarray:
    """bfloat16 values as float32 (exact), for constructors that take no NumPy bfloat16."""
    return array.astype(np.float32) if array.dtype == ml_dtypes.bfloat16 else array
