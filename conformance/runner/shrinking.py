"""Hypothesis' smallest example of a registered deviation, for reports.

A known deviation does not fail its property, so Hypothesis never shrinks the cases that hit it
during the run; the report asks Hypothesis for a minimal one separately.
"""

from __future__ import annotations

from hypothesis import find, settings
from hypothesis.errors import NoSuchExample

from conformance.engine.regions import case_features
from conformance.engine.strategies import cases, gradient_cases, invalid_cases
from conformance.runner.suite import observe_and_compare


def smallest_known_case(backend, registry, deviation_id: str, op_name: str, concern: str,
                        max_examples: int = 1000):
    """(case, mismatch) of a minimal case the deviation explains, or None if none is found in
    `max_examples` draws."""

    def deviates_as_registered(case) -> bool:
        observation, mismatch = observe_and_compare(backend, case, concern)
        if observation.unsupported:
            return False
        verdict = registry.judge(case_features(case), concern, mismatch)
        return verdict.outcome == "known" and deviation_id in {d.id for d in verdict.deviations}

    if concern == "gradient":
        strategy = gradient_cases(op_name)
    elif concern == "validity":
        strategy = invalid_cases(op_name).map(lambda drawn: drawn[0])
    else:
        strategy = cases(op_name, return_indices=True if concern == "indices" else None)
    try:
        case = find(strategy, deviates_as_registered,
                    settings=settings(max_examples=max_examples, derandomize=True, database=None,
                             deadline=None))
    except NoSuchExample:
        return None
    return case, observe_and_compare(backend, case, concern)[1]
