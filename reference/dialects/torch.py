"""The torch dialect: the oracle's own ops (reference.pooling), torch.nn.functional's names and
signatures. It needs no translation: torch's parameters are the ones reference.windows and
reference.pooling were written in (symmetric padding <= kernel / 2, stride defaulting to the
kernel, divisor_override, indices flat within each (n, c) plane)."""

from __future__ import annotations

import reference

OPS = {name: getattr(reference, name) for name in reference.OP_NAMES}
FAMILIES = {name: name[:-2] for name in OPS}
SPATIAL_DIMS = {name: int(name[-2]) for name in OPS}
