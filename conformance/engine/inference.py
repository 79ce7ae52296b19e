"""The shape-inference concern: a backend's static output shape for a call (ONNX's
onnx.shape_inference, through the backend's `inferred_shape(op, input, **attributes)`) against
the shape of the oracle's output. The backend's inference, not its kernel, is under test."""

from __future__ import annotations

from conformance.engine.arrays import to_reference
from conformance.engine.cases import Case
from conformance.engine.checks import Mismatch, Observation, describe_error
from conformance.engine.dialects import oracle_result


def observe_inferred_shape(backend, case: Case) -> Observation:
    observation = Observation(case)
    try:
        result = oracle_result(case, to_reference(case.input))
        observation.expected = (result[0] if isinstance(result, tuple) else result).shape
    except (TypeError, ValueError) as error:
        observation.oracle_error = error
    try:
        observation.actual = backend.inferred_shape(case.op_name, case.input.copy(), **case.kwargs)
    except NotImplementedError as error:
        observation.unsupported = describe_error(error)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        observation.backend_error = error
    return observation


def compare_inferred_shape(observation: Observation) -> Mismatch | None:
    """None where the inferred shape is the oracle's; a dimension inference leaves symbolic
    (None) is unknown, not wrong, and only a known dimension that differs is reported."""
    case = observation.case
    if observation.oracle_error is not None:
        return None  # invalid arguments are test_dialect_invalid_arguments's business
    if observation.backend_error is not None:
        return Mismatch("inferred_shape", f"shape inference raised {describe_error(observation.backend_error)} "
                                  f"on valid arguments; case: {case.describe()}")
    expected, inferred = tuple(observation.expected), observation.actual
    inferred = None if inferred is None else tuple(inferred)
    if inferred is None:
        return None  # no shape inferred at all: nothing claimed
    if len(inferred) != len(expected) or any(
            got is not None and got != want for got, want in zip(inferred, expected)):
        return Mismatch("inferred_shape", (
            f"{case.op_name} shape inference gives {list(inferred)}, the output is "
            f"{list(expected)}; case: {case.describe()}"), str(list(expected)), str(list(inferred)))
    return None
