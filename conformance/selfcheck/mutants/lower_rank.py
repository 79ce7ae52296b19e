"""Mutants that run a lower-rank pool through a higher-rank kernel (a size-1 spatial axis added)
with the wrong arguments on that axis."""

from __future__ import annotations

import torch.nn.functional as F

from conformance.backends.torch_backend import functional, to_numpy, to_torch
from conformance.selfcheck.mutants.machinery import Call, Mutant, Witness
from conformance.selfcheck.mutants.rewrites import on_values, pad_spec

_TWO_D = functional()


def _max_1d_through_2d_padding_both_axes(c: Call):
    """max_pool1d as max_pool2d on (N, C, 1, L) with the int padding p applied to both axes: the
    size-1 axis padded by hand to 1 + 2p rows (kernel 1 there, so the middle row's windows are
    the right ones) and the indices counted in that padded (1 + 2p, L) plane."""
    if c.dims != 1 or not c.args["return_indices"]:
        return c.torch()
    (p,) = c.axes("padding")
    x = c.x.unsqueeze(-2)
    x = F.pad(x, pad_spec([p, 0], [p, 0]), value=-float("inf")) if p else x
    values, indices = _TWO_D.max_pool2d(
        to_numpy(x), kernel_size=(1, c.axes("kernel_size")[0]), stride=(1, c.axes("stride")[0]),
        padding=(0, p), dilation=(1, c.axes("dilation")[0]), ceil_mode=c.args["ceil_mode"],
        return_indices=True)
    # The middle row; its indices are flat in the padded plane, p * L + l for the element l.
    return to_torch(values[..., p, :]), to_torch(indices[..., p, :])


def _avg_1d_through_2d_kernel_broadcast(c: Call):
    """avg_pool1d as avg_pool2d on (N, C, 1, L) with the int kernel k used on both axes: the
    size-1 axis zero-padded by hand to k rows so the kernel fits, and those zeros averaged in."""
    if c.dims != 1:
        return c.torch()
    (k,) = c.axes("kernel_size")
    x = F.pad(c.x.unsqueeze(-2), pad_spec([0, 0], [k - 1, 0]), value=0)
    result = _TWO_D.avg_pool2d(
        to_numpy(x), kernel_size=(k, k), stride=(1, c.axes("stride")[0]),
        padding=(0, c.axes("padding")[0]), ceil_mode=c.args["ceil_mode"],
        count_include_pad=c.args["count_include_pad"])
    return on_values(to_torch(result), lambda v: v[..., 0, :])


max_pool1d_through_2d_padding_on_both_axes = Mutant(
    "max-pool1d-through-2d-padding-on-both-axes",
    "max_pool1d run as max_pool2d on a size-1 axis with the int padding applied to both axes: "
    "values right (kernel 1 on that axis), indices counted in the padded 2-d plane",
    {"max_pool1d": _max_1d_through_2d_padding_both_axes},
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "padding": 1,
                                             "return_indices": True}),
)
avg_pool1d_through_2d_kernel_on_both_axes = Mutant(
    "avg-pool1d-through-2d-kernel-on-both-axes",
    "avg_pool1d run as avg_pool2d on a size-1 axis with the int kernel_size applied to both "
    "axes, the size-1 axis zero-filled to fit it (an int broadcast to every axis of the "
    "higher-rank kernel)",
    {"avg_pool1d": _avg_1d_through_2d_kernel_broadcast},
    Witness("avg_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2}),
)
