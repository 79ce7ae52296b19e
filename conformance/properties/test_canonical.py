"""The canonical cases (conformance.engine.strategies.canonical) before any search: a handful of
fixed hazard cases per op that a wrong backend most likely fails, so that `pytest -x` reports it
within seconds (the run is ordered so that these come first). A failure shrinks to the first
failing canonical case; the search properties that follow find and shrink their own."""

import pytest
from hypothesis import given, strategies as st

import reference
from conformance.engine.ops import OPS
from conformance.engine.strategies.canonical import canonical_cases, canonical_gradient_cases


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_canonical_cases_conform(conformance, op_name):
    conformance.require(op_name)
    with_indices = OPS[op_name].has_indices
    concerns = ("dtype", "values") + (("indices",) if with_indices else ())

    @given(case=st.sampled_from(canonical_cases(op_name, True if with_indices else None)))
    def property_holds(case):
        for concern in concerns:
            conformance.check(concern, case)

    property_holds()


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_canonical_gradients_conform(conformance, op_name):
    conformance.require(op_name)
    conformance.require("vjp")

    @given(case=st.sampled_from(canonical_gradient_cases(op_name)))
    def property_holds(case):
        conformance.check("gradient", case)

    property_holds()
