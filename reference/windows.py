"""Which input positions each output element reads, one spatial axis at a time.

Output sizes are never computed from a formula here: they are the number of windows enumerated.
An N-d window is the Cartesian product of one window per spatial axis.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a position of a window holds, in unpadded coordinates along one axis of length L with
# padding p before and q after (torch: p = q): the input (0 <= i < L), padding (-p <= i < 0 or
# L <= i < L + q), or the ceil-mode overhang past the end of the padded input (i >= L + q),
# which is neither input nor padding.
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


def padding_ends(padding) -> tuple[int, int]:
    """(before, after): an int pads both ends alike (torch); a pair pads them apart (the ONNX
    `pads` attribute, TF and ONNX SAME padding; reference.dialects)."""
    if isinstance(padding, (tuple, list)):
        return int(padding[0]), int(padding[1])
    return int(padding), int(padding)


def position_kind(position: int, length: int, padding) -> str:
    if 0 <= position < length:
        return INPUT
    if position < length + padding_ends(padding)[1]:
        return PADDING
    return OVERHANG


def _axis_window(start: int, kernel: int, dilation: int, length: int, padding) -> AxisWindow:
    positions = tuple(start + dilation * tap for tap in range(kernel))
    return AxisWindow(positions, tuple(position_kind(p, length, padding) for p in positions))


def sliding_windows(
    length: int, kernel: int, stride: int, padding, dilation: int, ceil_mode: bool
) -> list[AxisWindow]:
    """The windows of max/min/avg pooling along one axis, left to right.

    From torch's MaxPool1d/AvgPool1d documentation (torch.nn) and `pooling_output_shape` in
    aten/src/ATen/native/Pool.h: window i starts at i * stride - padding and takes `kernel`
    positions `dilation` apart. Floor mode takes every window that lies wholly inside the padded
    input; ceil mode may add one more (`ceil_mode_extra_window`). `padding` is an int, or a
    (before, after) pair (`padding_ends`): the same enumeration with ends padded apart, which is
    ONNX's output-size formula with `pad_shape[i]` the sum of both ends (MaxPool operator docs).
    """
    windows = full_windows(length, kernel, stride, padding, dilation)
    if ceil_mode:
        extra, taken = ceil_mode_extra_window(windows, length, kernel, stride, padding, dilation)
        if taken:
            windows.append(extra)
    return windows


def full_windows(length, kernel, stride, padding, dilation) -> list[AxisWindow]:
    """Every window that lies wholly inside the padded input."""
    before, after = padding_ends(padding)
    span = dilation * (kernel - 1) + 1
    windows = []
    start = -before
    while start + span <= length + after:
        windows.append(_axis_window(start, kernel, dilation, length, padding))
        start += stride
    return windows


def ceil_mode_extra_window(full, length, kernel, stride, padding, dilation):
    """The window ceil mode considers after the `full` ones, and whether it is taken.

    - It is considered when the full windows leave elements of the padded input after the last
      of them (the remainder floor mode drops); it runs past the padded input (the overhang).
    - "Sliding windows that would start in the right padded region are ignored" (the ceil_mode
      note in torch's pooling docs; pytorch/pytorch#120335, and onnx/onnx#5741 for ONNX): it is
      taken only if it starts in the left padding or in the input.
    - With no full window at all, the window considered is the first one, at -padding, and it
      is taken: it starts in the left padding. torch's closed form makes that depend on the
      stride instead (see torch's deviation registry).
    Returns (window, taken), or (None, False) when no window is considered.
    """
    before, after = padding_ends(padding)
    start = full[-1].start + stride if full else -before
    covered_end = full[-1].positions[-1] + 1 if full else -before
    if covered_end >= length + after:
        return None, False
    return _axis_window(start, kernel, dilation, length, padding), start < length


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
