"""Backend vs oracle, one property per concern, parametrised over every op in 1-D, 2-D and 3-D."""

import pytest
from hypothesis import given

import reference
from conformance.engine.ops import OPS
from conformance.engine.strategies import cases

OPS_WITH_INDICES = [name for name, op in OPS.items() if op.has_indices]


def run_property(suite, concern: str, strategy) -> None:
    @given(case=strategy)
    def property_holds(case):
        suite.check(concern, case)

    property_holds()


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_output_shape(conformance, op_name):
    conformance.require(op_name)
    run_property(conformance, "shape", cases(op_name))


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_output_dtype(conformance, op_name):
    conformance.require(op_name)
    run_property(conformance, "dtype", cases(op_name))


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_values(conformance, op_name):
    conformance.require(op_name)
    run_property(conformance, "values", cases(op_name))


@pytest.mark.parametrize("op_name", OPS_WITH_INDICES)
def test_indices(conformance, op_name):
    conformance.require(op_name)
    run_property(conformance, "indices", cases(op_name, return_indices=True))
