"""Shapes and hyperparameters: leading dims, per-axis windows with at least one full window, and
the keyword arguments of sliding and adaptive pooling, leaning toward the regions where
implementations differ (ceil overhang, padding-only windows, dilation, stride > kernel, adaptive
sizes that do not divide the input)."""

from __future__ import annotations

from hypothesis import strategies as st

# Largest spatial extent per number of spatial dims: keeps a 3-d oracle call near a millisecond.
MAX_LENGTH = {1: 12, 2: 7, 3: 5}
# Large windows (regions.catalogue.LARGE_WINDOW, 25 positions and more): per-axis sizes whose
# product over the axes runs from 25 to 64 (1-d 25..64, 2-d 5x5..8x8, 3-d 3x3x3..4x4x4), on
# inputs long enough to hold them (up to LARGE_MAX_LENGTH).
LARGE_AXIS = {1: (25, 64), 2: (5, 8), 3: (3, 4)}
LARGE_MAX_LENGTH = {1: 72, 2: 9, 3: 5}


def large_windows() -> st.SearchStrategy[bool]:
    """Whether a case draws a large window: one in five, and False when shrinking."""
    return st.sampled_from([False, False, False, False, True])


@st.composite
def leading_shapes(draw) -> tuple[int, ...]:
    """(N, C) for a batched input or (C,) for an unbatched one; N = 0 (an empty batch) is valid."""
    channels = draw(st.integers(1, 2))
    if draw(st.booleans()):
        return (channels,)
    return (draw(st.sampled_from([1, 2, 1, 0])), channels)


@st.composite
def sliding_axes(draw, spatial_dims: int, allow_dilation: bool, large: bool = False):
    """Per axis: (length, kernel, stride, padding, dilation), with at least one full window;
    with `large`, kernels whose volume is at least 25 (LARGE_AXIS), undilated."""
    axes = []
    for _ in range(spatial_dims):
        if large:
            longest = LARGE_MAX_LENGTH[spatial_dims]
            dilation = 1
            kernel = draw(st.integers(*LARGE_AXIS[spatial_dims]))
        else:
            longest = MAX_LENGTH[spatial_dims]
            dilation = draw(st.sampled_from([1, 2, 1, 3])) if allow_dilation else 1
            kernel = draw(st.integers(1, min(4, (longest - 1) // dilation + 1)))
        # The largest padding often: with dilation it leaves windows of padding alone.
        padding = draw(st.one_of(st.integers(0, kernel // 2), st.just(kernel // 2)))
        stride = draw(st.one_of(st.integers(1, kernel + 2), st.just(kernel), st.integers(2, 3)))
        span = dilation * (kernel - 1) + 1
        shortest = max(1, span - 2 * padding)
        length = draw(st.one_of(st.integers(shortest, max(shortest, longest)), st.just(shortest)))
        if draw(st.booleans()):
            # Leave a remainder after the last full window: ceil mode then overhangs or drops.
            full_windows_end = span + ((length + 2 * padding - span) // stride) * stride
            remainder = length + 2 * padding - full_windows_end
            if remainder == 0 and stride > 1 and length + 1 <= longest:
                length += 1
        axes.append((length, kernel, stride, padding, dilation))
    return axes


@st.composite
def per_axis_argument(draw, values: tuple[int, ...]):
    """An int when every axis agrees (sometimes), else a tuple: both spellings are torch's."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


@st.composite
def default_or_explicit(draw, kwargs: dict, name: str, value, at_default: bool,
                        allow_none: bool = False) -> None:
    """Put `name=value` in `kwargs`; where `value` means what the documented default means,
    draw instead whether it is omitted (the backend's own default runs), spelled out, or passed
    as None where the API allows it (stride=None means the kernel size): each spelling has its
    own code path in a backend."""
    if not at_default:
        kwargs[name] = value
        return
    spelling = draw(st.sampled_from(["omitted", "explicit", "none"] if allow_none
                                    else ["omitted", "explicit"]))
    if spelling != "omitted":
        kwargs[name] = None if spelling == "none" else value


@st.composite
def sliding_kwargs(draw, op, axes) -> dict:
    """kernel_size, stride, padding, ... for max/min/avg pooling; each parameter at its default
    drawn omitted, explicit or None (`default_or_explicit`)."""
    lengths, kernels, strides, paddings, dilations = zip(*axes)
    kwargs = {"kernel_size": draw(per_axis_argument(kernels))}
    stride = draw(per_axis_argument(strides))
    draw(default_or_explicit(kwargs, "stride", stride, strides == kernels, allow_none=True))
    draw(default_or_explicit(kwargs, "padding", draw(per_axis_argument(paddings)),
                             not any(paddings)))
    if "dilation" in op.parameters:
        draw(default_or_explicit(kwargs, "dilation", draw(per_axis_argument(dilations)),
                                 all(d == 1 for d in dilations)))
    ceil_mode = draw(st.one_of(st.just(True), st.booleans()))  # ceil mode is where bugs live
    draw(default_or_explicit(kwargs, "ceil_mode", ceil_mode, not ceil_mode))
    if op.family == "avg_pool":
        count_include_pad = draw(st.booleans())
        draw(default_or_explicit(kwargs, "count_include_pad", count_include_pad,
                                 count_include_pad))
        if "divisor_override" in op.parameters:
            divisor = (draw(st.sampled_from([1, 2, 3, 7, -2])) if draw(st.integers(0, 3)) == 0
                       else None)
            draw(default_or_explicit(kwargs, "divisor_override", divisor, divisor is None))
    if op.has_indices:
        return_indices = draw(st.booleans())
        draw(default_or_explicit(kwargs, "return_indices", return_indices, not return_indices))
    return kwargs


@st.composite
def adaptive_output_sizes(draw, lengths: tuple[int, ...]):
    """Per axis: a size that may not divide the input, may exceed it, or None (keep the input's;
    2-d and 3-d only, as torch documents)."""
    sizes = []
    for length in lengths:
        size = draw(st.one_of(
            st.integers(1, length + 3),
            st.sampled_from([length, 1]),
            st.none() if len(lengths) > 1 else st.nothing(),
        ))
        sizes.append(size)
    if len(set(sizes)) == 1 and sizes[0] is not None and draw(st.booleans()):
        return sizes[0]
    return tuple(sizes)
