"""Mutants that mishandle unbatched (C, *spatial) inputs."""

from __future__ import annotations


import torch

from conformance.selfcheck.mutants.machinery import (
    Call, Implementation, Mutant, Witness, on_parts,
)
from conformance.selfcheck.mutants.rewrites import (
    ALL,
)


def _unbatched_through_batch(restore) -> Implementation:
    def implementation(c: Call):
        if c.batched:
            return c.torch()
        return on_parts(c.torch(c.x.unsqueeze(0)), restore)

    return implementation


# Unbatched inputs.

unbatched_output_keeps_batch_dim = Mutant(
    "unbatched-output-keeps-batch-dim",
    "an unbatched (C, *spatial) input is batched for the kernel and the batch axis never removed "
    "(torch's no_batch_dim_reference_fn: unbatched must equal a batch of one, squeezed)",
    dict.fromkeys(ALL, _unbatched_through_batch(lambda t: t)),
    Witness("max_pool1d", [[1, 2, 3, 4]], {"kernel_size": 2}),
)
unbatched_squeeze_drops_size_one_dims = Mutant(
    "unbatched-squeeze-drops-size-one-dims",
    "the batch axis added for an unbatched input removed with squeeze() over all axes, so size-1 "
    "channel and spatial axes go too",
    dict.fromkeys(ALL, _unbatched_through_batch(torch.squeeze)),
    Witness("max_pool1d", [[1, 2]], {"kernel_size": 2}),
)
