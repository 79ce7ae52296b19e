"""Backend vs oracle in each dialect the backend speaks (conformance.engine.dialects): the same
concerns as test_pooling.py and test_validity.py, drawn from the dialect's own parameter space
(conformance.engine.strategies.dialects), and ONNX shape inference as a property of its own."""

import pytest
from hypothesis import given

from conformance.engine.dialects import dialects_of
from conformance.engine.strategies.dialect_invalid import dialect_invalid_cases
from conformance.engine.strategies.dialects import DIALECT_CASES, dialect_cases
from conformance.properties.test_pooling import run_property
from reference import dialects

DIALECT_OPS = [(dialect, op) for dialect in DIALECT_CASES for op in dialects.op_names(dialect)]
WITH_INDICES = [(d, op) for d, op in DIALECT_OPS if "return_indices" in dialects.signature(d, op).parameters]


def ids(pair):
    return f"{pair[0]}-{pair[1]}"


def require(conformance, dialect: str, op: str) -> None:
    """Skip where the backend does not speak the dialect (nothing to record: it never claimed
    to), or speaks it without this op (recorded as unsupported)."""
    if dialect not in dialects_of(conformance.backend):
        pytest.skip(f"{conformance.backend_name} does not speak the {dialect} dialect")
    conformance.require(op)


@pytest.mark.parametrize("pair", DIALECT_OPS, ids=ids)
@pytest.mark.parametrize("concern", ["shape", "dtype", "values"])
def test_dialect(conformance, concern, pair):
    require(conformance, *pair)
    run_property(conformance, concern, dialect_cases(*pair))


@pytest.mark.parametrize("pair", WITH_INDICES, ids=ids)
def test_dialect_indices(conformance, pair):
    require(conformance, *pair)
    run_property(conformance, "indices", dialect_cases(*pair, return_indices=True))


@pytest.mark.parametrize("pair", DIALECT_OPS, ids=ids)
def test_dialect_invalid_arguments(conformance, pair):
    require(conformance, *pair)

    @given(drawn=dialect_invalid_cases(*pair))
    def property_holds(drawn):
        case, _ = drawn
        conformance.check("validity", case, property_name=f"validity[{case.op_name}]")

    property_holds()


@pytest.mark.parametrize("pair", [p for p in DIALECT_OPS if p[0] == "onnx"], ids=ids)
def test_onnx_shape_inference(conformance, pair):
    """The shape onnx.shape_inference gives the node's output (a backend's `inferred_shape`,
    (op, input, **attributes) -> shape) is the oracle's output shape."""
    require(conformance, *pair)
    if getattr(conformance.backend, "inferred_shape", None) is None:
        conformance.results.unsupported.setdefault("inferred_shape", "the backend has no "
                                                   "inferred_shape")
        pytest.skip("the backend has no inferred_shape")
    run_property(conformance, "inferred_shape", dialect_cases(*pair))
