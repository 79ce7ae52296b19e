"""Mutants that get the output size wrong: ceil mode ignored or always on, the last window's drop rule, the notebook's formula, no error for a kernel past the input."""

from __future__ import annotations


import torch

from conformance.selfcheck.mutants.machinery import (
    Call, Mutant, Witness,
)
from conformance.selfcheck.mutants.rewrites import (
    SLIDING, lowest_value, output_sizes, padded_by_hand, resized, with_arguments,
)


def _empty_when_too_small(c: Call):
    try:
        return c.torch()
    except RuntimeError as error:
        sizes = output_sizes(c, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s + 1)
        if isinstance(error, NotImplementedError) or min(sizes) > 0:
            raise
    empty = torch.empty(*c.x.shape[:-c.dims], *(max(0, n) for n in sizes), dtype=c.x.dtype)
    return (empty, empty.long()) if c.args.get("return_indices") else empty


def _notebook_output_size(c: Call):
    sizes = output_sizes(c, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) + 1) // s + 1)
    fill = lowest_value(c.x.dtype) if c.family == "max_pool" else 0
    result = c.torch()
    if isinstance(result, tuple):
        return resized(result[0], sizes, fill), resized(result[1], sizes, -1)
    return resized(result, sizes, fill)


# Output sizes and ceil mode.

output_size_always_ceil = Mutant(
    "output-size-always-ceil",
    "rounds the output size up whatever ceil_mode says (shape formulas disagree across "
    "backends first: openvinotoolkit/openvino#18731, onnx/onnx#2927)",
    dict.fromkeys(SLIDING, with_arguments(ceil_mode=True)),
    Witness("max_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2}),
)
ceil_mode_ignored = Mutant(
    "ceil-mode-ignored",
    "ceil_mode=True computes the floor-mode output, dropping the partial last window",
    dict.fromkeys(SLIDING, with_arguments(ceil_mode=False)),
    Witness("max_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2, "ceil_mode": True}),
)
ceil_keeps_window_starting_in_right_padding = Mutant(
    "ceil-keeps-window-starting-in-right-padding",
    "ceil mode keeps a last window that starts in the right padding (plain ceil, as TVM's and "
    "Paddle's oracles; the rule of pytorch/pytorch PR #120335 and onnx/onnx PR #5741 drops it; "
    "cf. microsoft/onnxruntime#15446)",
    {"max_pool": padded_by_hand(lowest_value)},
    Witness("max_pool1d", [[[1, 2, 3, 4, 5]]],
            {"kernel_size": 2, "padding": 1, "ceil_mode": True}),
)
output_size_notebook_formula = Mutant(
    "output-size-notebook-formula",
    "output size floor((W + 2p - d(k-1) + 1) / s) + 1, the course notebook's formula (+1 where "
    "torch has -1), extra outputs read as padding",
    dict.fromkeys(SLIDING, _notebook_output_size),
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "stride": 1}),
)
output_too_small_returns_empty = Mutant(
    "output-too-small-returns-empty",
    "a kernel larger than the padded input gives an empty output instead of torch's 'Output "
    "size is too small' error (anchors (d) 9)",
    dict.fromkeys(SLIDING, _empty_when_too_small),
    Witness("max_pool1d", [[[1, 2]]], {"kernel_size": 3}),
)
