"""Throughput: examples per second for each property, against a backend and against the oracle
alone, where the time goes, and what the oracle costs per output element.

    OMP_NUM_THREADS=1 python benchmarks/throughput.py [--profile ci] [--backend torch]

Every property runs in this process as pytest runs it (conformance.selfcheck.mutation.property_calls, the
plain `Suite`), once against BACKEND and once against the `reference` backend (the oracle judging
itself). Hypothesis' observability hook counts the examples and times, for each, drawing it
through the suite's strategies and executing the property's body; inside the body, wrapped calls
time the oracle's forward and vjp, the backend, and region features
(conformance.engine.regions.case_features), and the rest of the body is the suite's own comparing,
tolerance and registry code. What neither covers of the wall time is Hypothesis' engine itself.
Numbers are measurements of one run on this machine, not limits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections import defaultdict

# Hypothesis' observability hook traces coverage unless told not to, which would slow every
# example down by an order of magnitude; the switch is read when Hypothesis is imported.
os.environ.setdefault("HYPOTHESIS_EXPERIMENTAL_OBSERVABILITY_NOCOVER", "1")

from _pytest.outcomes import Skipped  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis.internal.observability import (  # noqa: E402
    add_observability_callback, remove_observability_callback,
)

import conformance.engine.checks  # noqa: E402
import conformance.engine.gradients  # noqa: E402
import conformance.runner.suite  # noqa: E402
import reference  # noqa: E402
from conformance.runner.loading import builtin_deviations_file, load_backend  # noqa: E402
from conformance.engine.deviations import Registry  # noqa: E402
from conformance.selfcheck.mutation import property_calls  # noqa: E402
from conformance.runner.suite import ConformanceFailure, Suite  # noqa: E402


class Clock:
    """Seconds spent in each part of the suite, and the oracle's cost per output element."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.elements = defaultdict(lambda: [0, 0.0])  # op family -> [output elements, seconds]

    def timed(self, part: str, function, family: str | None = None):
        def call(*args, **kwargs):
            started = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - started
            if family is not None:
                output = result[0] if isinstance(result, tuple) else result
                self.elements[family][0] += len(output.data)
                self.elements[family][1] += time.perf_counter() - started
            return result
        return call


class TimedBackend:
    """The backend, each call timed as `backend`; missing attributes stay missing."""

    def __init__(self, backend, clock: Clock):
        self._backend, self._clock = backend, clock
        self.name, self.version = backend.name, backend.version

    def __getattr__(self, name):
        attribute = getattr(self._backend, name)
        return self._clock.timed("backend", attribute) if callable(attribute) else attribute


class TimedOracle:
    """The `reference` module as conformance.engine.checks sees it, each op timed as `oracle`."""

    def __init__(self, clock: Clock):
        self._clock = clock

    def __getattr__(self, name):
        attribute = getattr(reference, name)
        if name in reference.OP_NAMES:
            return self._clock.timed("oracle", attribute, family=name[:-2])
        return attribute


def measure(backend_spec: str, registry: Registry) -> dict:
    """Per property: examples, wall seconds, and seconds per part."""
    rows = {}
    for name, function, kwargs in property_calls():
        clock = Clock()
        suite = Suite(TimedBackend(load_backend(backend_spec), clock), backend_spec, registry)
        examples = []

        def observe(observation):
            if observation.type == "test_case" and observation.status != "gave_up":
                examples.append(observation.timing)

        patches = {
            (conformance.engine.checks, "reference"): TimedOracle(clock),
            (conformance.engine.gradients, "vjp"): clock.timed("oracle", conformance.engine.gradients.vjp),
            (conformance.runner.suite, "case_features"):
                clock.timed("features", conformance.runner.suite.case_features),
        }
        originals = {target: getattr(*target) for target in patches}
        for (module, attribute), replacement in patches.items():
            setattr(module, attribute, replacement)
        add_observability_callback(observe)
        started = time.perf_counter()
        try:
            function(suite, **kwargs)
        except (Skipped, ConformanceFailure, AssertionError):
            pass  # a skipped or failing property still took its time; the numbers stand
        finally:
            wall = time.perf_counter() - started
            remove_observability_callback(observe)
            for (module, attribute), original in originals.items():
                setattr(module, attribute, original)
        executing = sum(timing.get("execute:test", 0.0) for timing in examples)
        drawing = sum(seconds for timing in examples for key, seconds in timing.items()
                      if key.startswith("generate:"))
        measured = sum(clock.seconds.values())
        rows[name] = {"examples": len(examples), "wall": wall, **clock.seconds,
                      "property": max(0.0, executing - measured), "drawing": drawing,
                      "engine": max(0.0, wall - executing - drawing),
                      "elements": dict(clock.elements)}
    return rows


def by_property(rows: dict) -> dict:
    """Rows summed over each property's parametrisations (test_values[max_pool1d], ... ->
    test_values)."""
    totals = defaultdict(lambda: defaultdict(float))
    for name, row in rows.items():
        for key, value in row.items():
            if key != "elements":
                totals[name.split("[", 1)[0]][key] += value
    return totals


def share(row, part) -> str:
    return f"{100 * row.get(part, 0.0) / row['wall']:.0f}%" if row["wall"] else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--backend", default="torch")
    arguments = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    settings.load_profile(arguments.profile)
    registry_file = builtin_deviations_file(arguments.backend)
    registry = Registry.load(registry_file, load_backend(arguments.backend).version) \
        if registry_file else Registry()
    print(f"command: `OMP_NUM_THREADS=1 python benchmarks/throughput.py --profile "
          f"{arguments.profile} --backend {arguments.backend}`\n")
    against_backend = measure(arguments.backend, registry)
    against_oracle = measure("reference", Registry())
    backend_totals, oracle_totals = by_property(against_backend), by_property(against_oracle)

    print(f"| property | examples | examples/s vs {arguments.backend} | examples/s vs oracle "
          f"alone | oracle | backend | region features | the property's own code | Hypothesis "
          f"drawing | Hypothesis engine |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, row in backend_totals.items():
        alone = oracle_totals[name]
        if not row["examples"]:
            print(f"| {name} | 0 | - | - | not a Hypothesis property, or skipped: the backend "
                  f"lacks what it needs ||||||")
            continue
        print(f"| {name} | {row['examples']:.0f} | {row['examples'] / row['wall']:.0f} | "
              f"{alone['examples'] / alone['wall']:.0f} | {share(row, 'oracle')} | "
              f"{share(row, 'backend')} | {share(row, 'features')} | {share(row, 'property')} | "
              f"{share(row, 'drawing')} | {share(row, 'engine')} |")
    parts = ("oracle", "backend", "features", "property", "drawing", "engine")
    total = {key: sum(row.get(key, 0.0) for row in backend_totals.values())
             for key in ("wall", "examples", *parts)}
    print(f"\nAll properties against {arguments.backend}: {total['examples']:.0f} examples in "
          f"{total['wall']:.1f} s ({total['examples'] / total['wall']:.0f}/s): oracle "
          f"{share(total, 'oracle')}, backend {share(total, 'backend')}, region features "
          f"{share(total, 'features')}, the properties' own code {share(total, 'property')}, "
          f"Hypothesis drawing {share(total, 'drawing')}, Hypothesis' engine "
          f"{share(total, 'engine')}. Against the oracle alone: "
          f"{sum(r['wall'] for r in oracle_totals.values()):.1f} s.")

    print("\n| op family | output elements | oracle µs per output element |")
    print("|---|---|---|")
    elements = defaultdict(lambda: [0, 0.0])
    for row in against_backend.values():
        for family, (count, seconds) in row["elements"].items():
            elements[family][0] += count
            elements[family][1] += seconds
    for family, (count, seconds) in sorted(elements.items()):
        print(f"| {family} | {count} | {1e6 * seconds / count:.1f} |" if count
              else f"| {family} | 0 | - |")
    costs = [1e6 * s / c for c, s in elements.values() if c]
    print(f"\nMedian over op families: {statistics.median(costs):.1f} µs per output element "
          f"(the oracle's forward, its window enumeration included; empty outputs cost their "
          f"call alone and count no element).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
