"""pooling-conformance: a property-based conformance suite for pooling layers.

The oracle is the separate top-level package `reference` (pure Python, the spec). This package
checks backends against it:

- `engine/`: what is checked and how. The op catalogue, cases, Hypothesis strategies, the
  oracle-vs-backend comparison per concern, tolerances, regions and the deviation registry.
  A new op: its parameters in `engine/strategies/`, its family in `engine/ops.py`.
- `properties/`: the pytest properties, one per concern, parametrised over every op; metamorphic
  relations; output-size formulas; the course notebook's examples. A new property goes here.
- `runner/`: running the properties under pytest: finding the backend (`loading.py`: built-in
  names, entry points, `module:attribute`), the plugin and its options, the run's state
  (`Suite`), Hypothesis profiles, worker-process isolation, results and their merging.
- `backends/`: the adapters, one file per backend, none of which imports the oracle. A new
  backend is one file here, with its registry in `deviations/` (a built-in one also gets its
  name in `runner/loading.py`).
- `deviations/`: the known-deviation registries, one TOML file per backend.
- `claims/`: the course notebook's claims and the closed-form output-size formulas, judged.
- `selfcheck/`: the suite measuring itself: the mutant bank and the kill measurement.

Reports (markdown and JSON) are rendered by the top-level package `reports`.
"""
