"""Conventions where the oracle and torch pick different defensible rules, judged against the
backend's dialect: of several NaNs in a max (min) window, the oracle's index names the first in
window order, torch's kernels the last. A backend that speaks torch's dialect may follow either
(its registry says which it does); one that follows neither, or switches between them from window
to window or call to call, is reported. A backend of another dialect is held to the oracle's."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, reject, strategies as st

from conformance.engine.arrays import to_reference
from conformance.engine.dialects import dialects_of
from conformance.engine.ops import OPS
from conformance.engine.regions import case_features
from conformance.engine.strategies import cases
from conformance.engine.strategies.values import WIDE_FLOAT_DTYPES
from reference.pooling import op_windows, plane_windows

CHOOSING_OPS_WITH_INDICES = [name for name, op in OPS.items() if op.has_indices]
NAMED = {"first": "the first NaN in window order (the oracle's rule)",
         "last": "the last NaN in window order (torch's kernels)",
         "neither": "neither the first nor the last NaN in window order"}


@st.composite
def cases_with_several_nans_per_window(draw, op_name: str):
    """A float case with indices whose input is NaN at about half of its positions."""
    case = draw(cases(op_name, dtype_strategy=WIDE_FLOAT_DTYPES, return_indices=True))
    mask = draw(st.lists(st.booleans(), min_size=case.input.size, max_size=case.input.size))
    values = case.input.copy()
    values.reshape(-1)[np.array(mask, dtype=bool)] = math.nan
    return dataclasses.replace(case, input=values)


def nan_conventions(case, indices: np.ndarray) -> list[tuple[tuple, str]]:
    """(output position, "first" | "last" | "neither") for each window holding two or more
    NaNs: which NaN, in window order, the backend's index names."""
    windows = op_windows(case.op_name, case.input.shape, **case.kwargs)
    found = []
    flat_indices = indices.reshape(-1)
    for position, (_, window) in enumerate(plane_windows(to_reference(case.input), windows)):
        nans = [index for index, value in window.elements
                if isinstance(value, float) and math.isnan(value)]
        if len(nans) < 2:
            continue
        chosen = int(flat_indices[position])
        convention = ("first" if chosen == nans[0] else "last" if chosen == nans[-1]
                      else "neither")
        found.append((tuple(int(i) for i in np.unravel_index(position, indices.shape)),
                      convention))
    return found


@pytest.mark.parametrize("op_name", CHOOSING_OPS_WITH_INDICES)
def test_nan_index_follows_one_convention(conformance, op_name):
    conformance.require(op_name)
    allowed = {"first"} | ({"last"} if "torch" in dialects_of(conformance.backend) else set())
    seen = {}  # convention -> the first case that followed it, across this property's calls

    @given(case=cases_with_several_nans_per_window(op_name))
    def property_holds(case):
        features = case_features(case)
        if any(deviation.kind == "bug" and deviation.concern in ("indices", "raises", "crashes")
               and deviation.matches(features) for deviation in conformance.registry.deviations):
            conformance.excuse()  # a registered bug in the indices, or no indices at all
        try:  # called directly: the registry's excuse for torch's last NaN is what is judged
            result = getattr(conformance.backend, op_name)(case.input.copy(), **case.kwargs)
        except NotImplementedError:
            conformance.excuse()
        found = nan_conventions(case, np.asarray(result[1]).astype(np.int64))
        if not found:
            reject()
        for position, convention in found:
            named = NAMED[convention]
            assert convention in allowed, (
                f"{op_name}: of the NaNs in the window of out{list(position)}, the index names "
                f"{named}; allowed: {', '.join(NAMED[c] for c in sorted(allowed))} (dialects "
                f"{dialects_of(conformance.backend)}); case: {case.describe()}")
            seen.setdefault(convention, case.describe())
        assert len(seen) == 1, (
            f"{op_name} switches between NaN conventions: the first NaN on {seen.get('first')}, "
            f"the last on {seen.get('last')}; case: {case.describe()}")

    property_holds()
