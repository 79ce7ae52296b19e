"""Mutants whose backward pass (vjp) is wrong while the forward is torch's."""

from __future__ import annotations

import math

import torch

from conformance.selfcheck.mutants.machinery import (
    GradientCall, GradientImplementation, Mutant, Witness,
)
from conformance.selfcheck.mutants.indices import last_of_tied_maxima, transposed_indices
from conformance.selfcheck.mutants.rewrites import (
    MAX, zero_padded_past_the_overhang,
)


def _scattered_through(indices_of) -> GradientImplementation:
    """The backward of a choice, each upstream gradient added to the element that
    `indices_of(call, values, indices)` names, as torch's max backward scatters through the
    forward's indices; an index naming no element of the plane sends its gradient nowhere."""

    def implementation(c: GradientCall):
        values, indices = c.torch(return_indices=True)
        indices = indices_of(c, values, indices).flatten(-c.dims)
        plane_size = math.prod(c.spatial)
        names_an_element = (indices >= 0) & (indices < plane_size)
        upstream = torch.where(names_an_element, c.grad_output.flatten(-c.dims), 0)
        gradient = torch.zeros(*c.x.shape[:-c.dims], plane_size, dtype=c.x.dtype)
        gradient.scatter_add_(-1, indices.clamp(0, plane_size - 1), upstream)
        return gradient.reshape(c.x.shape)

    return implementation


def _backward_divisor_counts_overhang(c: GradientCall):
    if not (c.args["ceil_mode"] and c.args["count_include_pad"]):
        return c.torch_vjp()
    gradient = c.torch_vjp(zero_padded_past_the_overhang(c), padding=0, ceil_mode=False)
    # The hand padding's gradient is dropped, as F.pad's backward would.
    return gradient[(..., *(slice(p, p + n) for p, n in zip(c.axes("padding"), c.spatial)))]


# Backward only: the forward is torch's, the gradient is not.

avg_backward_divisor_counts_ceil_overhang = Mutant(
    "avg-backward-divisor-counts-ceil-overhang",
    "the backward divides an overhanging ceil-mode window by the full kernel size while the "
    "forward clips it (tracel-ai/burn#5604, pytorch/pytorch#198119 in Inductor's lowering)",
    {},
    Witness("avg_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2, "ceil_mode": True},
            grad_output=[[[1, 1, 1]]]),
    gradients={"avg_pool": _backward_divisor_counts_overhang},
)
max_backward_to_last_tied_maximum = Mutant(
    "max-backward-to-last-tied-maximum",
    "the backward re-finds the maximum with '>=' and sends the gradient to the last of tied "
    "maxima, not the element the forward's index names (Theano/Theano#5404: implementations "
    "disagree on which tied maximum gets the gradient)",
    {},
    Witness("max_pool1d", [[[2, 2, 1]]], {"kernel_size": 2, "stride": 1},
            grad_output=[[[1, 1]]]),
    gradients={"max_pool": _scattered_through(last_of_tied_maxima)},
)
max_backward_through_transposed_indices = Mutant(
    "max-backward-through-transposed-indices",
    "the backward scatters through indices flattened column-major (w * H + h), the forward's "
    "values and indices untouched",
    {},
    Witness("max_pool2d", [[[[1, 5, 2], [0, 3, 4]]]], {"kernel_size": (2, 3)},
            grad_output=[[[[1]]]]),
    gradients=dict.fromkeys(MAX, _scattered_through(transposed_indices)),
)
