"""Running the properties under pytest, and keeping what they found.

- `plugin.py`: the pytest plugin (`--backend`, `--deviations`, `--isolate`, ...): loads the
  backend and its registry, merges pytest-xdist workers' results, writes the results JSON.
- `suite.py`: the run's state (`Suite`): judges one case on one concern and records it.
- `profiles.py`: the Hypothesis profiles (`ci`, `dev`, `thorough`, `compile`) and report budgets.
- `isolation.py`: backend calls in a worker process, so a crash, a hang or a runaway
  allocation is a fault, not the end of the run.
- `faults.py`: fault quarantine (a fault's region is not called again) and the run budget.
- `results.py`: outcomes, findings and coverage of a run, as the report renders them.
- `shrinking.py`: a registered deviation's minimal case, searched for the report.
- `metadata.py`: versions, platform and profile of a run.
- `loading.py`: the backend a SPEC names (built-in name, entry point, `module:attribute`),
  checked to be one (it has pooling ops, and they are callable).
"""
