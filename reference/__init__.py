"""The oracle: a naive, pure-Python statement of what every pooling op must compute.

Standard library only (a test enforces it). Obvious over fast: every output element comes from
enumerating its window, and every output shape from counting windows.
"""

from reference.array import Array
from reference.dtypes import DTYPES
from reference.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    global_avg_pool1d,
    global_avg_pool2d,
    global_avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    min_pool1d,
    min_pool2d,
    min_pool3d,
)

FAMILIES = ("max_pool", "min_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
            "global_avg_pool")
OP_NAMES = tuple(f"{family}{n}d" for family in FAMILIES for n in (1, 2, 3))

__all__ = [
    "Array", "DTYPES", "FAMILIES", "OP_NAMES",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "global_avg_pool1d",
    "global_avg_pool2d",
    "global_avg_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "min_pool1d",
    "min_pool2d",
    "min_pool3d",
]
