"""The canonical cases (conformance.engine.strategies.canonical) on every concern, before any
search: a handful of fixed hazard cases per op that a wrong backend most likely fails, so that
`pytest -x` reports it within seconds (the run is ordered so this module comes first)."""

import pytest

import reference
from conformance.engine.ops import OPS
from conformance.engine.strategies.canonical import canonical_cases, canonical_gradient_cases


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_canonical_cases_conform(conformance, op_name):
    conformance.require(op_name)
    with_indices = OPS[op_name].has_indices
    for case in canonical_cases(op_name, return_indices=True if with_indices else None):
        for concern in ("dtype", "values") + (("indices",) if with_indices else ()):
            conformance.check(concern, case)
    if getattr(conformance.backend, "vjp", None) is not None:
        for case in canonical_gradient_cases(op_name):
            conformance.check("gradient", case)
