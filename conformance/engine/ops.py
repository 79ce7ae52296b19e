"""The catalogue of ops under test: what each computes and which parameters it takes."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import reference
from reference import dialects

# How values are compared (conformance.engine.tolerance): a choice is exact, an average is bounded.
CHOOSING_FAMILIES = ("max_pool", "min_pool", "adaptive_max_pool", "global_max_pool")
AVERAGING_FAMILIES = ("avg_pool", "adaptive_avg_pool", "global_avg_pool")
# Families only some dialects have (ONNX LpPool), compared within a bound like an average.
NORM_FAMILIES = ("lp_pool",)
SLIDING_FAMILIES = ("max_pool", "min_pool", "avg_pool")
ADAPTIVE_FAMILIES = ("adaptive_avg_pool", "adaptive_max_pool")


@dataclass(frozen=True)
class Op:
    name: str
    family: str
    spatial_dims: int
    dialect: str = "torch"

    @property
    def parameters(self) -> tuple[str, ...]:
        """The op's parameters after `input`, from the oracle's signature in its dialect."""
        if self.dialect != "torch":
            return tuple(dialects.signature(self.dialect, self.name).parameters)
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


def op_of(dialect: str, name: str, input_rank: int, params: dict | None = None) -> Op:
    """The op a case names: torch's from OPS; another dialect's from reference.dialects (an N-d
    op's number of spatial axes is the input's rank - 2)."""
    if dialect == "torch":
        return OPS[name]
    return Op(name, dialects.family(dialect, name, params),
              dialects.spatial_dims(dialect, name, input_rank), dialect)
