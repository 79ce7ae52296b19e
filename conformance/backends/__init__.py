"""Backends: the plug-in interface and the built-in adapters, one file per backend.

`loading.py` resolves a backend SPEC (a built-in name, an entry point of the group
`pooling_conformance.backends`, or `package.module:attribute`) to a backend object; the contract
is docs/backend-interface.md. Each adapter is a thin binding to one framework's public pooling API
and never uses the oracle (`reference`) for anything but `reference_backend.py`, the oracle itself
as a backend. A new built-in backend: one file here, a line in `loading.BUILTIN_BACKENDS`, a
registry in `conformance/deviations/`.
"""
