"""No adapter leans on the oracle: a verdict judges the backend alone only if the values, the
validation and the windows came from the framework (and the adapter's own documented
arithmetic), never from `reference`.

Each adapter module is imported in a child interpreter whose meta-path finder refuses
`reference` and records who asked; where the framework is installed, the backend is then built
and each op family called once, so an import inside a function is caught as well. Exempt:
`reference_backend` (the oracle as a backend). The loader, which checks backends against the
oracle's op names, is `conformance.runner.loading`, and an adapter that reaches it is caught.
"""

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import conformance.backends
from conformance.runner.loading import BUILTIN_BACKENDS

BACKENDS_DIRECTORY = Path(conformance.backends.__file__).parent
REPOSITORY = BACKENDS_DIRECTORY.parent.parent
EXEMPT = {"__init__", "reference_backend"}
ADAPTER_MODULES = sorted(path.stem for path in BACKENDS_DIRECTORY.glob("*.py")
                         if path.stem not in EXEMPT)

# Runs in the child: argv[1] a module name, argv[2] a JSON list of attributes building backends.
CHILD = textwrap.dedent("""
    import importlib, importlib.abc, json, sys, traceback
    import numpy as np

    asked = []

    class RefuseTheOracle(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "reference" or name.startswith("reference."):
                caller = sys._getframe(1)
                while caller and caller.f_code.co_filename.startswith("<frozen"):
                    caller = caller.f_back
                asked.append(f"{name} from {caller.f_code.co_filename if caller else '?'}")
                raise ImportError(f"the oracle is off limits to adapters: {name}", name=name)
            return None

    sys.meta_path.insert(0, RefuseTheOracle())

    def report(**fields):
        print("RESULT " + json.dumps({"asked": asked, **fields}))
        sys.exit(0)

    try:
        module = importlib.import_module(sys.argv[1])
    except ImportError as error:
        if error.name and error.name.split(".")[0] != "reference" and not asked:
            report(missing=error.name)
        report(error=traceback.format_exc(limit=3))
    calls = {"max_pool1d": (2,), "min_pool1d": (2,), "avg_pool1d": (2,),
             "adaptive_avg_pool1d": (2,), "adaptive_max_pool1d": (2,), "global_avg_pool1d": ()}
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 6)
    for attribute in json.loads(sys.argv[2]):
        try:
            backend = getattr(module, attribute)
            if callable(backend) and not hasattr(backend, "max_pool1d"):
                backend = backend()
        except Exception as error:  # e.g. a framework present but unusable (no compiler)
            report(unusable=f"{attribute}: {error}")
        for op_name, args in calls.items():
            try:
                getattr(backend, op_name)(x, *args)
                if hasattr(backend, "vjp"):
                    backend.vjp(op_name, x, getattr(backend, op_name)(x, *args), *args)
            except Exception:
                pass  # what the framework does with the call is not this test's concern
    report()
""")


def oracle_imports(module: str, attributes: list[str], extra_path: Path | None = None) -> dict:
    """What importing `module` (then building and calling its backends) asked of `reference`."""
    path = str(REPOSITORY) if extra_path is None else f"{extra_path}{os.pathsep}{REPOSITORY}"
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, module, json.dumps(attributes)],
        capture_output=True, text=True, timeout=600, cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the child died (rc {completed.returncode}): {completed.stderr[-2000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def backend_attributes(module: str) -> list[str]:
    return sorted({target.partition(":")[2] for target in BUILTIN_BACKENDS.values()
                   if target.partition(":")[0] == f"conformance.backends.{module}"})


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement of `path` names, at any depth (function bodies too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def statically_reached_oracle(source: Path) -> list[str]:
    """The import statements reaching `reference` from `source`, following the suite's own
    modules (`conformance.*`): the check where the framework is absent."""
    found, seen, pending = [], set(), [source]
    while pending:
        path = pending.pop()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        for imported in imported_modules(path):
            if imported.split(".")[0] == "reference":
                found.append(f"{imported} from {path}")
            elif imported.split(".")[0] == "conformance":
                pending.append(REPOSITORY / (imported.replace(".", "/") + ".py"))
    return sorted(found)


@pytest.mark.parametrize("module", ADAPTER_MODULES)
def test_adapter_never_imports_the_oracle(module):
    reached = statically_reached_oracle(BACKENDS_DIRECTORY / f"{module}.py")
    assert not reached, f"{module} imports the oracle: {reached}"
    outcome = oracle_imports(f"conformance.backends.{module}", backend_attributes(module))
    assert not outcome["asked"], (
        f"{module} reaches the oracle: " + "; ".join(outcome["asked"]))
    if "missing" in outcome:
        pytest.skip(f"{module}'s import statements reach no oracle; it needs "
                    f"{outcome['missing']}, which is not installed, to check it running")
    assert "error" not in outcome, outcome["error"]


def test_the_check_sees_an_op_that_imports_the_oracle(tmp_path):
    (tmp_path / "leaning_adapter.py").write_text(
        "class Leaning:\n"
        "    def max_pool1d(self, x, kernel_size):\n"
        "        from reference import windows\n"
        "        return windows\n"
        "backend = Leaning()\n")
    outcome = oracle_imports("leaning_adapter", ["backend"], extra_path=tmp_path)
    assert outcome["asked"] == [f"reference from {tmp_path / 'leaning_adapter.py'}"], outcome


def test_the_static_check_follows_the_suites_own_modules(tmp_path):
    # conformance.engine.arrays moves arrays to and from the oracle: an adapter importing it
    # reaches `reference` through it.
    adapter = tmp_path / "leaning_adapter.py"
    adapter.write_text("def dtype_of(x):\n    from conformance.engine.arrays import dtype_name\n"
                       "    return dtype_name(x.dtype)\n")
    reached = statically_reached_oracle(adapter)
    assert reached and all("conformance/engine/arrays.py" in entry for entry in reached), reached
