"""Output-size formulas against window enumeration. A wrong formula is a result, not a failure:
its test pins the verdict and the counterexample, worked by hand below."""

import pytest
from hypothesis import given

from conformance.claims.formulas import (
    FORMULAS_BY_ID, AxisConfiguration, axis_configurations, enumerated_length,
    smallest_counterexample,
)


@pytest.mark.parametrize("formula_id", ["torch-floor", "torch-ceil-with-drop"])
@given(data=axis_configurations())
def test_torch_documented_formula_matches_enumeration(formula_id, data):
    formula = FORMULAS_BY_ID[formula_id]
    enumerated = enumerated_length(data, formula.ceil_mode)
    assert formula.length(data) == enumerated, (
        f"{formula.text} gives {formula.length(data)} but {enumerated} windows exist for {data}"
    )


@given(data=axis_configurations(with_dilation=False))
def test_notebook_avgpool_formula_matches_enumeration_in_floor_mode(data):
    formula = FORMULAS_BY_ID["notebook-avgpool"]
    assert formula.length(data) == enumerated_length(data, ceil_mode=False), data


def test_notebook_maxpool_formula_does_not_hold():
    # By hand: W=1, f=1, s=1, p=0, d=1 has one window; floor((1 + 0 - 0 + 1)/1) + 1 = 3.
    # The notebook's own example breaks it too: W=4, f=2, s=2 gives floor(4/2) + 1 = 3, not 2.
    formula = FORMULAS_BY_ID["notebook-maxpool"]
    assert smallest_counterexample(formula) == AxisConfiguration(1, 1, 1, 0, 1)
    assert formula.length(AxisConfiguration(1, 1, 1, 0, 1)) == 3
    assert formula.length(AxisConfiguration(4, 2, 2, 0, 1)) == 3
    assert enumerated_length(AxisConfiguration(4, 2, 2, 0, 1), ceil_mode=False) == 2


def test_torch_ceil_formula_without_the_drop_rule_does_not_hold():
    # By hand: L=2, k=1, s=2, p=0: ceil((2 - 1)/2) + 1 = 2 windows, but the second would start
    # at 2, past the input (the right padding is empty), so torch and the oracle take 1.
    formula = FORMULAS_BY_ID["torch-ceil"]
    counterexample = smallest_counterexample(formula)
    assert counterexample is not None
    assert formula.length(counterexample) == enumerated_length(counterexample, True) + 1
    assert formula.length(AxisConfiguration(2, 1, 2, 0, 1)) == 2
    assert enumerated_length(AxisConfiguration(2, 1, 2, 0, 1), ceil_mode=True) == 1
