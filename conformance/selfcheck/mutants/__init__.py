"""A bank of deliberately buggy backends, to show that the suite catches real pooling bugs.

Each mutant is the correct torch backend with exactly one bug of a kind real implementations
have shipped (the `bug` text cites the upstream report where anchors.md names one). A mutant
changes a few ops, or only their backward pass (`vjp`), leaving the forward torch's; every other
op is torch's, untouched. Each carries a `witness`: one small input (with an upstream gradient,
for a backward bug) on which it differs from torch while the oracle agrees with torch, so the
witness shows the bug rather than a torch quirk (tests/test_mutant_bank.py checks both).

Run the suite against one: `pytest --backend conformance.selfcheck.mutants:avg_divisor_counts_ceil_overhang`.
The suite should fail; a mutant it passes is a bug class it cannot see.
"""

from conformance.selfcheck.mutants import (
    averages, backward, batching, defaults, dtypes, indices, lower_rank, nan_and_infinity,
    output_size, validation, window_geometry,
)
from conformance.selfcheck.mutants.machinery import Mutant

# The bank, one module per kind of bug; a new mutant goes into the module of what it breaks.
GROUPS = (output_size, window_geometry, nan_and_infinity, indices, averages, dtypes, batching,
          validation, backward, defaults, lower_rank)

MUTANTS: dict[str, Mutant] = {
    mutant.name: mutant
    for module in GROUPS for mutant in vars(module).values() if isinstance(mutant, Mutant)
}
# Each mutant is also an attribute of this package under its identifier, the name with "-" as "_"
# (a test checks), which is what a backend SPEC names:
# `conformance.selfcheck.mutants:avg_divisor_counts_ceil_overhang`.
globals().update({name.replace("-", "_"): mutant for name, mutant in MUTANTS.items()})
