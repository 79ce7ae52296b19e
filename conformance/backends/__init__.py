"""Backends: the built-in adapters, one file per backend.

`conformance/runner/loading.py` resolves a backend SPEC (a built-in name, an entry point of the
group `pooling_conformance.backends`, or `package.module:attribute`) to a backend object; it
checks a backend against the oracle's op names, so it lives with the runner, not here. The
contract is docs/backend-interface.md. Each adapter is a thin binding to one framework's public pooling API
and never uses the oracle (`reference`) for anything but `reference_backend.py`, the oracle itself
as a backend. A new built-in backend: one file here, a line in `conformance.runner.loading.BUILTIN_BACKENDS`, a
registry in `conformance/deviations/`. `torch_signatures.py` holds what adapters of torch-like
frameworks share: torch's signatures (names, defaults) and the formulas from torch's documentation
they emulate a missing parameter with (ceil mode's end padding, adaptive windows).
"""
