"""What is checked, and how: everything a verdict on one case depends on.

- `ops.py`: the catalogue of ops (family, spatial dims, parameters); `cases.py`: one op applied to
  one input (`Case`); `arrays.py`: NumPy arrays to and from the oracle's `reference.Array`.
- `strategies/`: Hypothesis strategies that draw valid and invalid cases.
- `checks.py`: run a case on the backend and the oracle, and say how they differ on a concern
  (shape, dtype, values, indices, validity); `gradients.py` does the same for the backward pass.
- `tolerance.py`: how close an average must be; choices and integers are exact.
- `regions/`: the named facts about a case (ceil overhang, a NaN in a window, ...) that
  signatures match and the coverage table counts.
- `deviations.py`: the registry that keys known deviations by those signatures and judges each
  case as conforming, known, new or stale.
"""
