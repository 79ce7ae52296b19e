"""Native repros: for a finding, a standalone script in the backend's own framework.

`repro_snippet(finding, spec)` is the one entry point (the report, `pooling-conformance repro ID`
and `bug-report ID` call it). The script holds the finding's input as a literal, the call as the
backend makes it, the definition's answer as a literal with the rule that gives it, and one
assertion that fails on the buggy backend; it imports only that framework (and numpy where the
framework needs it), never this suite. One writer per framework family, sharing the literal
formatter (`literals`) and the script's shape (`script`).
"""

from __future__ import annotations

from reports.repros.problem import case_of, concern_of, problem_of
from reports.repros.script import script
from reports.repros.jax_writer import WRITERS as JAX_WRITERS
from reports.repros.numpy_writer import WRITERS as NUMPY_WRITERS
from reports.repros.tensorflow_writer import WRITERS as TENSORFLOW_WRITERS
from reports.repros.torch_writer import WRITERS as TORCH_WRITERS

WRITERS = dict(TORCH_WRITERS)
# The ONNX writer builds the graph with the adapter's builder, so it needs onnx here; the others
# only write text.
try:
    from reports.repros.onnx_writer import WRITERS as ONNX_WRITERS
    WRITERS.update(ONNX_WRITERS)
except ImportError:
    pass
WRITERS.update(NUMPY_WRITERS)
WRITERS.update(JAX_WRITERS)
WRITERS.update(TENSORFLOW_WRITERS)


class NoNativeRepro(LookupError):
    """No writer knows the backend's framework (a backend given as module:attribute)."""


def repro_snippet(finding: dict, spec: str, version: str = "") -> str:
    """The standalone script reproducing `finding` (a report JSON's finding or fault) on the
    backend `spec` names."""
    writer = WRITERS.get(spec)
    if finding.get("dialect", "torch") != "torch":
        raise NoNativeRepro(f"the repro writers state torch-dialect cases only, not "
                            f"{finding['dialect']!r} ones")
    if writer is None:
        raise NoNativeRepro(f"no native repro writer for the backend {spec!r}; known: "
                            f"{', '.join(sorted(WRITERS))}")
    problem = problem_of(case_of(finding), concern_of(finding), finding.get("regions", ()))
    key = finding.get("key") or finding.get("id")
    title = f"{spec}: {key} ({concern_of(finding)}) in {finding['call']}"
    try:
        return script(writer, problem, title, version or spec)
    except NotImplementedError as error:  # a case the writer cannot state natively
        raise NoNativeRepro(f"{spec}: {error}") from error
    except ValueError as error:  # an accepted invalid call: the definition has no windows for it
        raise NoNativeRepro(f"{spec}: the definition rejects the case ({error})") from error
