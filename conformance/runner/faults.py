"""Fault quarantine: after a call crashes, hangs or runs out of memory, the suite stops feeding that
op the same region of calls, so a hostile backend costs a few timeouts, not one per draw.

A *region* is a signature in the deviation registry's sense: features of a case
(conformance.engine.regions.case_features) that must all hold. The first fault of an op
quarantines the features of its own case; each further fault of the same kind on that op widens
that region to the features the faulting cases share (a SIGFPE "for some kernel sizes" soon covers
what those calls have in common); after `WHOLE_OP_AFTER[kind]` faults the whole op is quarantined,
which bounds what any op can cost: three hangs (each costs time), more crashes (a worker restart
costs milliseconds, and the region they share says more about the bug). A quarantined draw raises
`Quarantined` without calling the backend; a test of a wholly quarantined op is skipped
(conformance.runner.suite), so drawing cases nobody will call costs nothing either.

Hangs are the expensive fault: each costs the whole call timeout. Once an op has hung, its later
calls get a shorter timeout, `HANG_FACTOR` times its slowest call that returned (at least
`HANG_FLOOR` seconds, at most the timeout), so confirming a hang in a wider region costs about a
second. Faults are never shrunk by replaying them (Hypothesis would pay one timeout or one
worker restart per step, and a quarantined replay would not fail again): the fault keeps the
smallest faulting case called, which the strategies' small-first draws make small.

The run budget lives here too: past `deadline` (time.monotonic) every call raises `NotRun`.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import reference
from conformance.engine.cases import Case
from conformance.engine.checks import CallDidNotReturn
from conformance.engine.regions import case_features
from conformance.runner.isolation import BackendFault, IsolatedBackend

WHOLE_OP_AFTER = {"hang": 3, "out of memory": 3, "crash": 8}
HANG_FACTOR = 5.0
HANG_FLOOR = 1.0


class Quarantined(CallDidNotReturn):
    """The call was not made: it lies in the region of an earlier fault."""

    def __init__(self, op_name: str, fault_id: str):
        self.op_name, self.fault_id = op_name, fault_id
        super().__init__(f"{op_name}: not called, quarantined after {fault_id}")


class NotRun(CallDidNotReturn):
    """The call was not made: the run's budget is spent."""


@dataclass
class Region:
    fault_id: str
    features: dict  # every one must hold

    def holds(self, features: dict) -> bool:
        return all(features.get(name) == value for name, value in self.features.items())


def call_case(name: str, args: tuple, kwargs: dict) -> Case:
    """The case a backend call makes: `op(x, ...)`, or `vjp(op, x, grad_output, ...)`, with
    positional arguments named as the oracle's signature names them."""
    if name == "vjp":
        op_name, x, grad_output, rest = args[0], args[1], args[2], args[3:]
    else:
        op_name, x, grad_output, rest = name, args[0], None, args[1:]
    if rest:
        bound = inspect.signature(getattr(reference, op_name)).bind_partial(x, *rest)
        kwargs = {**dict(list(bound.arguments.items())[1:]), **kwargs}
    return Case(op_name, x, dict(kwargs), grad_output)


def region_features(case: Case) -> dict:
    """The features a region is made of; a call the regions cannot describe (arguments the
    oracle has no name for) is a region of its own exact call."""
    try:
        return case_features(case)
    except Exception:
        return {"op": case.op_name, "call": case.call_text()}


class FaultGuard:
    """`backend` behind the quarantine. `on_fault(case, fault)` is told of each fault and returns
    the fault's id, or None where the fault is expected (a registered deviation): not
    quarantined."""

    def __init__(self, backend, on_fault=None, deadline: float | None = None):
        self._backend = backend
        self._on_fault = on_fault or (lambda case, fault: f"{fault.kind}:{case.op_name}")
        self.deadline = deadline
        self._regions = defaultdict(list)  # op -> [Region]
        self._faults = Counter()  # (op, kind) -> faults quarantined
        self._hung = set()
        self._slowest = {}  # op -> seconds of its slowest call that returned
        self.name = getattr(backend, "name", None)
        self.version = getattr(backend, "version", None)

    def __getattr__(self, name: str):
        attribute = getattr(self._backend, name)
        if name.startswith("_") or not callable(attribute) or (
                name != "vjp" and name not in reference.OP_NAMES):
            return attribute

        def guarded(*args, **kwargs):
            return self.call(name, args, kwargs)

        guarded.__name__ = name
        return guarded

    def quarantine(self, op_name: str, fault_id: str, features: dict, kind: str) -> None:
        """Keep `features` (a region, as `results["faults"]` records it) out of reach."""
        self._faults[op_name, kind] += 1
        if kind == "hang":
            self._hung.add(op_name)
        regions = self._regions[op_name]
        if self._faults[op_name, kind] >= WHOLE_OP_AFTER[kind]:
            regions[:] = [Region(fault_id, {"op": op_name})]
            return
        same = next((region for region in regions if region.fault_id == fault_id), None)
        if same is None:
            regions.append(Region(fault_id, dict(features)))
        else:
            same.features = {name: value for name, value in same.features.items()
                             if features.get(name) == value}

    def wholly_quarantined(self, op_name: str) -> str | None:
        """The fault id that put every call of `op_name` out of reach, if one did."""
        return next((region.fault_id for region in self._regions.get(op_name, ())
                     if region.features == {"op": op_name}), None)

    def region(self, fault_id: str) -> dict | None:
        return next((region.features for regions in self._regions.values() for region in regions
                     if region.fault_id == fault_id), None)

    def call(self, name: str, args: tuple, kwargs: dict):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise NotRun(f"{name}: not called, the run's budget is spent")
        op_name = args[0] if name == "vjp" else name
        if self._regions.get(op_name):
            features = region_features(call_case(name, args, kwargs))
            for region in self._regions[op_name]:
                if region.holds(features):
                    raise Quarantined(op_name, region.fault_id)
        started = time.perf_counter()
        try:
            if isinstance(self._backend, IsolatedBackend):
                result = self._backend.call(name, args, kwargs, self._timeout(op_name))
            else:
                result = getattr(self._backend, name)(*args, **kwargs)
        except BackendFault as fault:
            case = call_case(name, args, kwargs)
            fault_id = self._on_fault(case, fault)
            if fault_id is not None:
                self.quarantine(op_name, fault_id, region_features(case), fault.kind)
            raise
        self._slowest[op_name] = max(self._slowest.get(op_name, 0.0),
                                     time.perf_counter() - started)
        return result

    def _timeout(self, op_name: str) -> float:
        timeout = self._backend.timeout
        if op_name not in self._hung:
            return timeout
        return min(timeout, max(HANG_FLOOR, HANG_FACTOR * self._slowest.get(op_name, 0.0)))

    def close(self) -> None:
        close = getattr(self._backend, "close", None)
        if close is not None:
            close()
