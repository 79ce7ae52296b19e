"""What a report says about its own run: versions, platform, profile, suite commit, wall time."""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import settings

from conformance.engine.dialects import dialects_of


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _portable_path(path: str | None) -> str | None:
    """A registry inside the suite's own tree as a relative path, so that reports from two
    checkouts of one commit are identical; any other path as given."""
    if not path:
        return path
    root = Path(__file__).resolve().parents[2]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


@functools.cache  # asked at every checkpoint; the code a run imported does not change
def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_metadata(config, suite) -> dict:
    current = settings()
    return {
        "suite_version": _distribution_version("pooling-conformance"),
        "suite_commit": _git_commit() or "unknown",
        "numpy": _distribution_version("numpy"),
        "hypothesis": _distribution_version("hypothesis"),
        "processor": platform.processor() or platform.machine(),
        "backend": suite.backend_name,
        "backend_spec": suite.spec,
        "backend_version": getattr(suite.backend, "version", "unknown"),
        "dialects": ", ".join(dialects_of(suite.backend)),
        "deviations_file": _portable_path(suite.registry.source),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hypothesis_profile": current._current_profile if hasattr(current, "_current_profile")
        else settings._current_profile,
        "max_examples": current.max_examples,
        "derandomize": current.derandomize,
        "seed": config.getoption("hypothesis_seed", None),
        "wall_seconds": round(time.time() - config.pooling_started, 1),
    }
