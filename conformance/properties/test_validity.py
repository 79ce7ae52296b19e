"""Invalid arguments: where the oracle raises, the backend must raise too; where an edge case is
valid after all, the backend must accept it and agree."""

import pytest
from hypothesis import given

import reference
from conformance.engine.strategies import invalid_cases
from conformance.engine.strategies.boundaries import boundary_cases


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_invalid_arguments_raise(conformance, op_name):
    conformance.require(op_name)

    @given(drawn=invalid_cases(op_name))
    def property_holds(drawn):
        case, breakage = drawn
        conformance.check("validity", case, property_name=f"validity[{op_name}]")

    property_holds()


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_arguments_at_each_validation_boundary(conformance, op_name):
    """Just inside each rejection rule the backend must accept and agree in values; just
    outside, raise (conformance.engine.strategies.boundaries)."""
    conformance.require(op_name)

    @given(drawn=boundary_cases(op_name))
    def property_holds(drawn):
        case, rule = drawn
        conformance.check("validity", case, property_name=f"validity[{op_name}]")

    property_holds()
