"""Regions: what a case exercises (ceil overhang, a window of padding only, a NaN beside a number,
...), decided from the oracle's own window enumeration, so a region means exactly what the oracle
means by it. Deviation signatures match on them and the report's coverage table counts them.

- catalogue.py: every region's name and meaning (`REGIONS`); a new region starts there.
- features.py: `case_features(case)`, the one dict a signature is matched against.
- geometry.py (shape and arguments), values.py (the input's values, window by window),
  precision.py (subnormals, 16-bit sums): the deciders, each region decided in one of them.
- windows.py: the oracle's windows, cached and gathered into NumPy blocks for the deciders.
"""

from conformance.engine.regions.catalogue import REGIONS
from conformance.engine.regions.features import case_features

__all__ = ["REGIONS", "case_features"]
