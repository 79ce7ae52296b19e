"""Which input positions each output element reads, one spatial axis at a time.

Output sizes are never computed from a formula here: they are the number of windows enumerated.
An N-d window is the Cartesian product of one window per spatial axis.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a position of a window holds, in unpadded coordinates along one axis of length L with
# padding p: the input (0 <= i < L), padding (-p <= i < 0 or L <= i < L + p), or the ceil-mode
# overhang past the end of the padded input (i >= L + p), which is neither input nor padding.
INPUT = "input"
PADDING = "padding"
OVERHANG = "overhang"


@dataclass(frozen=True)
class AxisWindow:
    positions: tuple[int, ...]  # increasing, unpadded coordinates
    kinds: tuple[str, ...]  # INPUT, PADDING or OVERHANG for each position

    @property
    def start(self) -> int:
        return self.positions[0]


def position_kind(position: int, length: int, padding: int) -> str:
    if 0 <= position < length:
        return INPUT
    if position < length + padding:
        return PADDING
    return OVERHANG


def _axis_window(start: int, kernel: int, dilation: int, length: int, padding: int) -> AxisWindow:
    positions = tuple(start + dilation * tap for tap in range(kernel))
    return AxisWindow(positions, tuple(position_kind(p, length, padding) for p in positions))


def sliding_windows(
    length: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> list[AxisWindow]:
    """The windows of max/min/avg pooling along one axis, left to right.

    Rules, from torch's MaxPool1d/AvgPool1d documentation (torch.nn, "Shape" and the ceil_mode
    note) and `pooling_output_shape` in aten/src/ATen/native/Pool.h:
    - Window i starts at i * stride - padding and takes `kernel` positions `dilation` apart.
    - Floor mode takes every window that lies wholly inside the padded input.
    - Ceil mode also takes one window that runs past the end of the padded input, when the full
      windows leave elements of the padded input after the last of them (the remainder floor
      mode would drop). The part past the padded input is the overhang.
    - "Sliding windows that would start in the right padded region are ignored" (the ceil_mode
      note): that extra window is taken only if it starts in the left padding or the input.
      (pytorch/pytorch#120335 documented this rule; onnx/onnx#5741 adopted the same.)
    - With no full window at all, ceil mode's extra window is the first one, at -padding. torch's
      closed form instead depends on the stride there; see the registry of torch's deviations.
    """
    span = dilation * (kernel - 1) + 1
    padded_end = length + padding  # first position past the right padding
    windows = []
    start = -padding
    while start + span <= padded_end:
        windows.append(_axis_window(start, kernel, dilation, length, padding))
        start += stride
    covered_end = windows[-1].start + span if windows else -padding
    if ceil_mode and covered_end < padded_end and start < length:
        windows.append(_axis_window(start, kernel, dilation, length, padding))
    return windows


def adaptive_windows(length: int, output_size: int) -> list[AxisWindow]:
    """The windows of adaptive pooling along one axis.

    Window i covers [floor(i * L / O), ceil((i + 1) * L / O)): torch's `start_index` and
    `end_index` in aten/src/ATen/native/AdaptivePooling.h. Windows may overlap (O does not divide
    L) and repeat positions (O > L); every window holds at least one input position.
    """
    windows = []
    for i in range(output_size):
        start = (i * length) // output_size
        end = -((-(i + 1) * length) // output_size)
        positions = tuple(range(start, end))
        windows.append(AxisWindow(positions, (INPUT,) * len(positions)))
    return windows
