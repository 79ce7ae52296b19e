"""The catalogue of ops under test: what each computes and which parameters it takes."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import reference

# How values are compared (conformance.engine.tolerance): a choice is exact, an average is bounded.
CHOOSING_FAMILIES = ("max_pool", "min_pool", "adaptive_max_pool")
AVERAGING_FAMILIES = ("avg_pool", "adaptive_avg_pool", "global_avg_pool")
SLIDING_FAMILIES = ("max_pool", "min_pool", "avg_pool")
ADAPTIVE_FAMILIES = ("adaptive_avg_pool", "adaptive_max_pool")


@dataclass(frozen=True)
class Op:
    name: str
    family: str
    spatial_dims: int

    @property
    def parameters(self) -> tuple[str, ...]:
        """The op's parameters after `input`, from the oracle's (torch's) signature."""
        return tuple(inspect.signature(getattr(reference, self.name)).parameters)[1:]

    @property
    def chooses(self) -> bool:
        return self.family in CHOOSING_FAMILIES

    @property
    def has_indices(self) -> bool:
        return "return_indices" in self.parameters


OPS = {
    name: Op(name, name[:-2], int(name[-2]))
    for name in reference.OP_NAMES
}
