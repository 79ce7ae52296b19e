"""The backward pass: the backend's vector-Jacobian product against the oracle's
(reference.gradients), for every op in 1-D, 2-D and 3-D and every parameter the forward
properties draw, float dtypes only (integers have no gradient); and, needing no oracle, average
pooling's gradient against central differences of the backend's own forward.

A backend without `vjp` (docs/backend-interface.md) is unsupported here, as is one without the op.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, reject, strategies as st
from hypothesis.extra import numpy as npst

import reference
from conformance.engine.cases import Case
from conformance.engine.ops import AVERAGING_FAMILIES, OPS
from conformance.properties.test_pooling import run_property
from conformance.engine.strategies import cases, gradient_cases, output_shape
from reference.dtypes import FLOAT_FORMATS

AVERAGING_OPS = [name for name, op in OPS.items() if op.family in AVERAGING_FAMILIES]
# Integers as floats: central differences need a finite point; window sums are exact, so only
# the divisions round; and nothing is subnormal, where rounding stops being relative.
SMALL_INTEGERS = st.integers(-1000, 1000).map(float)
FLOAT64 = st.just("float64")


@st.composite
def linear_cases(draw, op_name: str) -> tuple[Case, np.ndarray]:
    """A float64 case of `op_name`, its upstream gradient, and a direction: small integers."""
    case = draw(cases(op_name, dtype_strategy=FLOAT64))
    point = draw(npst.arrays(np.float64, case.input.shape, elements=SMALL_INTEGERS))
    upstream = draw(npst.arrays(np.float64, output_shape(case), elements=SMALL_INTEGERS))
    direction = draw(npst.arrays(np.float64, case.input.shape, elements=SMALL_INTEGERS))
    return dataclasses.replace(case, input=point, grad_output=upstream), direction


@pytest.mark.parametrize("op_name", reference.OP_NAMES)
def test_gradient(conformance, op_name):
    conformance.require(op_name)
    conformance.require("vjp")
    run_property(conformance, "gradient", gradient_cases(op_name))


@pytest.mark.parametrize("op_name", AVERAGING_OPS)
def test_average_gradient_matches_central_differences(conformance, op_name):
    """An average is linear in its input, so the central difference of the forward along any
    direction v is exactly J v, whatever the step: <vjp(g), v> must equal
    <g, (f(x + v) - f(x - v)) / 2> up to float64 rounding (torch.autograd.gradcheck's fast mode
    compares the same two numbers)."""
    conformance.require(op_name)
    conformance.require("vjp")

    @given(drawn=linear_cases(op_name))
    def relation_holds(drawn):
        case, direction = drawn
        forward_plus = conformance.call(op_name, case.input + direction, **case.kwargs)
        forward_minus = conformance.call(op_name, case.input - direction, **case.kwargs)
        try:
            gradient = conformance.backend.vjp(op_name, case.input.copy(),
                                               case.grad_output.copy(), **case.kwargs)
        except NotImplementedError:
            reject()
        assert gradient.shape == case.input.shape, (
            f"vjp shape {gradient.shape}, input shape {case.input.shape}; case: {case.describe()}")
        upstream = case.grad_output
        by_gradient = float(np.sum(gradient * direction))
        by_differences = float(np.sum(upstream * (forward_plus - forward_minus))) / 2
        # Each side is a float64 sum over at most every input and output element of terms
        # rounded a few times each. Their magnitudes are at most sum |g| |f(|x| + |v|)| (the
        # average is linear, with one sign per case): on the right f(x +- v), on the left
        # vjp(|g|) . |v| = <|g|, f(|v|)>. (elements + 4) epsilons of twice that bound both.
        magnitudes = conformance.call(op_name, np.abs(case.input) + np.abs(direction),
                                      **case.kwargs)
        scale = 2 * float(np.sum(np.abs(upstream) * np.abs(magnitudes)))
        terms = case.input.size + upstream.size + 4
        bound = terms * FLOAT_FORMATS["float64"].epsilon * scale
        assert abs(by_gradient - by_differences) <= bound, (
            f"{op_name}: <vjp(g), v> = {by_gradient!r} but the central difference gives "
            f"<g, (f(x + v) - f(x - v)) / 2> = {by_differences!r} (|difference| "
            f"{abs(by_gradient - by_differences):.6g} > {bound:.6g}); case: {case!r}, "
            f"v = {direction.tolist()!r}"
        )

    relation_holds()
