"""The course notebook's claims, each judged TRUE or FALSE with evidence.

Formula claims are judged against window enumeration; the others through the backend under test,
since "global average pooling is AdaptiveAvgPool2d((1, 1))" is a claim about a library.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import find, settings
from hypothesis.errors import NoSuchExample

from conformance.engine.cases import Case
from conformance.engine.checks import compare, observe
from conformance.engine.regions import case_features
from conformance.claims.formulas import FORMULAS_BY_ID, enumerated_length, smallest_counterexample
from conformance.engine.strategies import WIDE_FLOAT_DTYPES, cases


@dataclass(frozen=True)
class ClaimResult:
    id: str
    claim: str
    verdict: str  # TRUE, FALSE or UNSUPPORTED (the backend cannot say)
    evidence: str


def formula_claim(formula_id: str) -> ClaimResult:
    formula = FORMULAS_BY_ID[formula_id]
    counterexample = smallest_counterexample(formula)
    claim = f"{formula.text} ({formula.source})"
    if counterexample is None:
        return ClaimResult(formula_id, claim, "TRUE",
                           "agrees with window enumeration on 3000 drawn configurations")
    c = counterexample
    return ClaimResult(formula_id, claim, "FALSE", (
        f"W={c.length}, f={c.kernel}, s={c.stride}, p={c.padding}, d={c.dilation}: the formula "
        f"gives {formula.length(c)}, enumerating windows gives "
        f"{enumerated_length(c, formula.ceil_mode)}"
    ))


def worked_example_claim(backend) -> ClaimResult:
    claim = "MaxPool2d(kernel_size=2, stride=2) on a 1x4x4 input gives 1x2x2"
    if getattr(backend, "max_pool2d", None) is None:
        return ClaimResult("notebook-example", claim, "UNSUPPORTED", "the backend has no max_pool2d")
    case = Case("max_pool2d", np.arange(16, dtype=np.float32).reshape(1, 4, 4),
                {"kernel_size": 2, "stride": 2})
    observation = observe(backend, case)
    mismatch = observation.unsupported or compare(observation, "values")
    if mismatch:
        return ClaimResult("notebook-example", claim, "FALSE",
                           getattr(mismatch, "message", mismatch))
    return ClaimResult("notebook-example", claim, "TRUE",
                       f"on arange(16): {observation.actual.tolist()}, as the oracle says")


def avg_has_no_dilation_claim(backend) -> ClaimResult:
    claim = "average pooling has no dilation"
    function = getattr(backend, "avg_pool2d", None)
    if function is None:
        return ClaimResult("avg-no-dilation", claim, "UNSUPPORTED", "the backend has no avg_pool2d")
    try:
        function(np.zeros((1, 1, 4, 4), np.float32), 2, dilation=2)
    except TypeError as error:
        return ClaimResult("avg-no-dilation", claim, "TRUE",
                           f"avg_pool2d(..., dilation=2) raises TypeError: {error}")
    except Exception as error:
        return ClaimResult("avg-no-dilation", claim, "TRUE",
                           f"avg_pool2d(..., dilation=2) is rejected: {type(error).__name__}")
    return ClaimResult("avg-no-dilation", claim, "FALSE", "avg_pool2d accepts dilation=2")


def global_average_claim(backend, examples: int = 200) -> ClaimResult:
    """AdaptiveAvgPool2d((1, 1)) vs the oracle's global average, with the values tolerance."""
    claim = "global average pooling is AdaptiveAvgPool2d((1, 1))"
    if getattr(backend, "adaptive_avg_pool2d", None) is None:
        return ClaimResult("global-average", claim, "UNSUPPORTED",
                           "the backend has no adaptive_avg_pool2d")

    def as_adaptive(case: Case) -> Case:
        return Case("adaptive_avg_pool2d", case.input, {"output_size": (1, 1)})

    def differs(case: Case) -> bool:
        # The claim equates two definitions; a sum past the dtype's range is a precision hazard
        # of the backend's accumulation, judged by the values properties and registered there.
        if case_features(case)["window_sum_overflows"]:
            return False
        observation = observe(backend, as_adaptive(case))
        return not observation.unsupported and compare(observation, "values") is not None

    try:
        counterexample = find(cases("global_avg_pool2d", dtype_strategy=WIDE_FLOAT_DTYPES), differs,
                              settings=settings(max_examples=examples, derandomize=True,
                                                database=None, deadline=None))
    except NoSuchExample:
        return ClaimResult("global-average", claim, "TRUE", (
            f"adaptive_avg_pool2d(x, (1, 1)) equals the oracle's mean over H and W on {examples} "
            f"drawn inputs (float32, float64)"))
    message = compare(observe(backend, as_adaptive(counterexample)), "values").message
    return ClaimResult("global-average", claim, "FALSE", message)


def four_kinds_claim(backend) -> ClaimResult:
    claim = "pooling comes as max, min, average and global average"
    kinds = {"max": "max_pool2d", "min": "min_pool2d", "average": "avg_pool2d",
             "global average": "global_avg_pool2d"}
    missing = [kind for kind, op in kinds.items() if getattr(backend, op, None) is None]
    if missing:
        return ClaimResult("four-kinds", claim, "FALSE", (
            f"the backend has no {', '.join(missing)} pooling"
            + ("; torch.nn has no MinPool: min pooling is -max_pool(-x)" if "min" in missing else "")
        ))
    return ClaimResult("four-kinds", claim, "TRUE", "the backend has all four")


def evaluate_claims(backend, examples: int = 200) -> list[ClaimResult]:
    return [
        formula_claim("notebook-maxpool"),
        formula_claim("notebook-avgpool"),
        worked_example_claim(backend),
        avg_has_no_dilation_claim(backend),
        global_average_claim(backend, examples),
        four_kinds_claim(backend),
        formula_claim("torch-floor"),
        formula_claim("torch-ceil"),
        formula_claim("torch-ceil-with-drop"),
    ]
