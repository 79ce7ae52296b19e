"""Mutants whose max-pooling indices name the wrong element, or are laid out or typed wrongly."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from conformance.selfcheck.mutants.machinery import (
    Call, Mutant, Witness,
)
from conformance.selfcheck.mutants.rewrites import (
    MAX, indices_remapped, pad_spec, ravel, reach_past_input, reindexed, unravel,
)


def _plane_numbers(values, dims):
    """n * C + c for each output element: which (n, c) plane it belongs to."""
    leading = values.shape[:-dims]
    return torch.arange(math.prod(leading)).reshape(*leading, *(1,) * dims)


def _window_taps(c: Call, output_shape) -> torch.Tensor:
    """Shape (*output, K): the flat plane index of each window position, -1 off the input."""
    kernel, strides = c.axes("kernel_size"), c.axes("stride")
    pads, dilations = c.axes("padding"), c.axes("dilation")
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilations)]
    right = [max(0, reach) for reach in reach_past_input(c, output_shape)]
    taps = F.pad(torch.arange(math.prod(c.spatial)).reshape(c.spatial), pad_spec(pads, right),
                 value=-1)
    for axis in range(c.dims):
        taps = taps.unfold(axis, spans[axis], strides[axis])
    # The leading axes hold window starts (cut to the output), the trailing ones window spans.
    taps = taps[tuple(slice(o) for o in output_shape)
                + tuple(slice(None, None, d) for d in dilations)]
    return taps.flatten(-c.dims)


def last_of_tied_maxima(c: Call, values, indices):
    taps = _window_taps(c, values.shape[-c.dims:])
    window = c.x.flatten(-c.dims)[..., taps.clamp(min=0)]
    best = values.unsqueeze(-1)
    hit = (taps >= 0) & ((window == best) | (window.isnan() & best.isnan()))
    last = hit.shape[-1] - 1 - hit.flip(-1).int().argmax(-1, keepdim=True)
    return taps.expand(hit.shape).gather(-1, last).squeeze(-1)


def transposed_indices(c: Call, values, indices):
    """Each index flattened column-major (w * H + h): its coordinates taken in reversed order."""
    return ravel(unravel(indices, c.spatial)[::-1], c.spatial[::-1])


# Indices.

max_ties_last = Mutant(
    "max-ties-last",
    "of equal maxima the last is chosen ('>=' in the running max), torch and the oracle take "
    "the first",
    {"max_pool": indices_remapped(last_of_tied_maxima)},
    Witness("max_pool1d", [[[2, 2, 1]]], {"kernel_size": 2, "stride": 1, "return_indices": True}),
)
indices_in_padded_coordinates = Mutant(
    "indices-in-padded-coordinates",
    "indices count positions in the padded plane, not the input's",
    {"max_pool": indices_remapped(lambda c, v, i: reindexed(
        i, c.spatial, [n + 2 * p for n, p in zip(c.spatial, c.axes("padding"))],
        c.axes("padding")))},
    Witness("max_pool1d", [[[1, 2, 3]]], {"kernel_size": 2, "padding": 1, "return_indices": True}),
)
indices_flat_over_batch_and_channels = Mutant(
    "indices-flat-over-batch-and-channels",
    "indices flat over the whole N*C*H*W tensor instead of each (n, c) plane (TF's "
    "max_pool_with_argmax with include_batch_in_index)",
    dict.fromkeys(MAX, indices_remapped(
        lambda c, v, i: i + _plane_numbers(v, c.dims) * math.prod(c.spatial))),
    Witness("max_pool1d", [[[1, 2], [3, 4]]], {"kernel_size": 2, "return_indices": True}),
)
indices_channels_last_flat = Mutant(
    "indices-channels-last-flat",
    "indices in an NHWC plane, (h * W + w) * C + c, as TF's max_pool_with_argmax flattens",
    dict.fromkeys(MAX, indices_remapped(lambda c, v, i: i * c.x.shape[-c.dims - 1]
                                         + _plane_numbers(v, c.dims) % c.x.shape[-c.dims - 1])),
    Witness("max_pool1d", [[[1, 2], [3, 4]]], {"kernel_size": 2, "return_indices": True}),
)
indices_hw_transposed = Mutant(
    "indices-hw-transposed",
    "indices flattened column-major (w * H + h), coordinates taken in reversed order",
    dict.fromkeys(MAX, indices_remapped(transposed_indices)),
    Witness("max_pool2d", [[[[1, 5, 2], [0, 3, 4]]]],
            {"kernel_size": (2, 3), "return_indices": True}),
)
indices_int32 = Mutant(
    "indices-int32",
    "indices returned as int32 (ONNX Runtime/TF-Lite style index type) instead of int64",
    dict.fromkeys(MAX, indices_remapped(lambda c, v, i: i.int())),
    Witness("max_pool1d", [[[1, 2]]], {"kernel_size": 2, "return_indices": True}),
)
