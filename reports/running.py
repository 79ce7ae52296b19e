"""Running the property suite in a child process under a budget, and stopping it so that it still
writes what it measured: Ctrl-C reaches it with the whole process group, SIGTERM is passed on,
and past its budget it is asked to stop (SIGINT), then killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import conformance
from conformance.runner.isolation import DEFAULT_MEMORY_LIMIT_MIB

PROPERTIES = Path(conformance.__file__).parent / "properties"

# Past its budget the property run stops calling the backend; this long after, it is stopped.
GRACE_SECONDS = 60
DEFAULT_BUDGET = 3600.0  # seconds; the slowest built-in backend's report takes about 10 minutes


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the report is written from what was measured, marked incomplete."""


def interrupt(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def run_properties(spec: str, deviations: str | None, profile: str, json_path: str,
                   select: str | None = None, isolate: bool = True, call_timeout: float = 10.0,
                   budget: float | None = None,
                   memory_limit: int = DEFAULT_MEMORY_LIMIT_MIB) -> int:
    """Run the property suite in a child process, so the report survives whatever it does.
    Interrupted, the child is asked to stop (SIGINT: pytest then writes the results it has)."""
    command = [sys.executable, "-m", "pytest", str(PROPERTIES), "-p", "no:cacheprovider", "-q",
               f"--hypothesis-profile={profile}", "--backend", spec,
               "--conformance-json", json_path]
    if isolate:
        command += ["--isolate", "--call-timeout", str(call_timeout),
                    "--memory-limit", str(memory_limit)]
    if budget is not None:
        command += ["--budget", str(budget)]
    if deviations:
        command += ["--deviations", deviations]
    if select:
        command += ["-k", select]
    child = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        return child.wait(None if budget is None else budget + call_timeout + GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _stop(child, signal.SIGINT)
        return child.returncode
    except Interrupted as interrupt:
        # Ctrl-C reached the child too (one process group); SIGTERM was for this process.
        _stop(child, signal.SIGTERM if str(interrupt) == "SIGTERM" else None)
        raise


def _stop(child: subprocess.Popen, signum) -> None:
    """Let the child write its results: signal it (`signum` None: it has been, as Ctrl-C
    reaches the whole process group), wait, and only then kill it."""
    steps = [(None, 5), (signal.SIGINT, 30)] if signum is None else [(signum, 30)]
    for step_signal, seconds in steps:
        if step_signal is not None:
            child.send_signal(step_signal)
        try:
            child.wait(seconds)
            return
        except subprocess.TimeoutExpired:
            continue
    child.kill()
    child.wait()
