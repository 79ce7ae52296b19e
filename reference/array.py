"""A plain-Python n-dimensional array: a shape, a flat row-major list of elements, and a dtype."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from reference.dtypes import check_dtype, is_integer


@dataclass(frozen=True)
class Array:
    shape: tuple[int, ...]
    data: tuple  # row-major: the last axis varies fastest
    dtype: str

    def __post_init__(self):
        check_dtype(self.dtype)
        # Elements are Python ints for integer dtypes and floats otherwise; None marks an index
        # that names no element (a max window with no input element).
        element = int if is_integer(self.dtype) else float
        normalised = tuple(value if value is None else element(value) for value in self.data)
        object.__setattr__(self, "data", normalised)
        if any(not isinstance(size, int) or size < 0 for size in self.shape):
            raise ValueError(f"shape must hold non-negative ints, got {self.shape}")
        if len(self.data) != math.prod(self.shape):
            raise ValueError(f"{len(self.data)} elements do not fill shape {self.shape}")

    @classmethod
    def from_nested(cls, nested, dtype: str) -> "Array":
        """Build an array from nested lists, e.g. `Array.from_nested([[1, 2], [3, 4]], "float32")`."""
        shape = []
        level = nested
        while isinstance(level, (list, tuple)):
            shape.append(len(level))
            level = level[0] if level else None
        flat = nested
        for _ in range(len(shape) - 1):
            flat = [element for row in flat for element in row]
        return cls(tuple(shape), tuple(flat), dtype)

    def to_nested(self):
        if not self.shape:
            return self.data[0]
        nested = list(self.data)
        for size in reversed(self.shape[1:]):
            nested = [nested[i : i + size] for i in range(0, len(nested), size)]
        return nested

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def flat_index(self, index: tuple[int, ...]) -> int:
        flat = 0
        for position, size in zip(index, self.shape):
            flat = flat * size + position
        return flat

    def __getitem__(self, index: tuple[int, ...]):
        return self.data[self.flat_index(index)]


def indices_of(shape: tuple[int, ...]):
    """Every index of an array of this shape, in row-major order."""
    return itertools.product(*(range(size) for size in shape))
