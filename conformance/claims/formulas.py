"""Closed-form output-length formulas, each a claim checked against window enumeration.

The oracle never uses these: it counts windows (reference.windows). A formula that disagrees is
a result, reported as a claim that does not hold with Hypothesis' smallest counterexample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from hypothesis import find, settings, strategies as st
from hypothesis.errors import NoSuchExample

from reference.windows import sliding_windows


@dataclass(frozen=True)
class AxisConfiguration:
    length: int
    kernel: int
    stride: int
    padding: int
    dilation: int

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


@dataclass(frozen=True)
class Formula:
    id: str
    text: str
    source: str
    ceil_mode: bool
    with_dilation: bool  # False: the formula is claimed for dilation 1 only (average pooling)
    length: Callable[[AxisConfiguration], int]


def _torch_ceil_length(c: AxisConfiguration) -> int:
    return math.ceil((c.length + 2 * c.padding - c.span) / c.stride) + 1


def _torch_ceil_length_with_drop(c: AxisConfiguration) -> int:
    length = _torch_ceil_length(c)
    return length - 1 if (length - 1) * c.stride >= c.length + c.padding else length


FORMULAS = (
    Formula(
        "notebook-maxpool", "W_out = floor((W_in + 2p - d(f-1) + 1)/s) + 1",
        "the course notebook (MaxPool)", False, True,
        lambda c: (c.length + 2 * c.padding - c.dilation * (c.kernel - 1) + 1) // c.stride + 1,
    ),
    Formula(
        "notebook-avgpool", "W_out = floor((W_in + 2p - f)/s) + 1",
        "the course notebook (AvgPool)", False, False,
        lambda c: (c.length + 2 * c.padding - c.kernel) // c.stride + 1,
    ),
    Formula(
        "torch-floor", "L_out = floor((L_in + 2p - d(k-1) - 1)/s + 1)",
        "torch.nn.MaxPool1d docs, ceil_mode=False", False, True,
        lambda c: (c.length + 2 * c.padding - c.span) // c.stride + 1,
    ),
    Formula(
        "torch-ceil", "L_out = ceil((L_in + 2p - d(k-1) - 1)/s + 1)",
        "torch.nn.MaxPool1d docs, ceil_mode=True, without the note on windows starting in the "
        "right padding", True, True, _torch_ceil_length,
    ),
    Formula(
        "torch-ceil-with-drop", "torch-ceil, minus 1 when (L_out - 1) * s >= L_in + p",
        "torch's pooling_output_shape (aten/src/ATen/native/Pool.h)", True, True,
        _torch_ceil_length_with_drop,
    ),
)
FORMULAS_BY_ID = {formula.id: formula for formula in FORMULAS}


def enumerated_length(configuration: AxisConfiguration, ceil_mode: bool) -> int:
    c = configuration
    return len(sliding_windows(c.length, c.kernel, c.stride, c.padding, c.dilation, ceil_mode))


@st.composite
def axis_configurations(draw, with_dilation: bool = True) -> AxisConfiguration:
    """Valid one-axis configurations with at least one full window in the padded input.

    Sizes reach well beyond what the value properties draw: the formulas are cheap to check.
    """
    kernel = draw(st.integers(1, 8))
    dilation = draw(st.integers(1, 4)) if with_dilation else 1
    padding = draw(st.integers(0, kernel // 2))
    stride = draw(st.integers(1, 9))
    span = dilation * (kernel - 1) + 1
    length = draw(st.integers(max(1, span - 2 * padding), 96))
    return AxisConfiguration(length, kernel, stride, padding, dilation)


def disagrees(formula: Formula, configuration: AxisConfiguration) -> bool:
    return formula.length(configuration) != enumerated_length(configuration, formula.ceil_mode)


def smallest_counterexample(formula: Formula) -> AxisConfiguration | None:
    """Hypothesis' minimal configuration where the formula and enumeration disagree, or None."""
    try:
        return find(
            axis_configurations(with_dilation=formula.with_dilation),
            lambda configuration: disagrees(formula, configuration),
            settings=settings(max_examples=3000, derandomize=True, database=None,
                             deadline=None),
        )
    except NoSuchExample:
        return None
