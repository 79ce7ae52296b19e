"""The shape every native repro has, whatever the framework: a docstring naming the finding,
the input as a literal, the call, the definition's answer as a literal with the rule that gives
it, and one assertion that fails where the backend departs.

A writer (one per framework family) supplies only what differs: imports, how a literal becomes
a tensor, the forward and backward calls, and how arrays are compared.
"""

from __future__ import annotations

import textwrap

import numpy as np

from reports.repros.problem import Problem


class Writer:
    """The framework-specific part of a repro. Subclasses set `framework`, `imports` and
    implement `tensor`, `forward`, `backward` and `assert_close`."""

    framework = ""
    needs = ""  # what the script needs installed, in words
    imports: tuple[str, ...] = ()

    def prepare(self, problem: Problem) -> Problem:
        """The problem as this framework takes it (e.g. with a batch axis added)."""
        return problem

    def tensor(self, array: np.ndarray) -> str:
        """An expression building `array` (exact values and dtype) in the framework."""
        raise NotImplementedError

    def forward(self, problem: Problem) -> list[str]:
        """Lines that call the op on `x` and bind `actual` (and `indices` with return_indices)
        in the framework's own terms."""
        raise NotImplementedError

    def backward(self, problem: Problem) -> list[str]:
        """Lines that bind `actual` to the gradient of sum(op(x) * g) with respect to `x`."""
        raise NotImplementedError(f"no backward pass in the {self.framework} repro writer")

    def assert_close(self, problem: Problem) -> str:
        """The assertion of `actual` against `expected`, within the problem's tolerance."""
        raise NotImplementedError

    def shape_of(self, name: str) -> str:
        return f"tuple({name}.shape)"

    def to_list(self, name: str) -> str:
        return f"{name}.flatten().tolist()"


def numpy_assert_close(problem: Problem) -> str:
    return (f"np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), "
            f"expected.astype(np.float64), rtol={problem.rtol!r}, atol={problem.atol!r}, "
            f"equal_nan=True)")


def script(writer: Writer, problem: Problem, title: str, version: str) -> str:
    problem = writer.prepare(problem)
    case = problem.case
    call = writer.backward(problem) if problem.gradient else writer.forward(problem)
    lines = [f'"""{title}', "", *textwrap.wrap(
        f"Needs only {writer.needs or writer.framework}; "
        f"written by pooling-conformance against {version}. Exits with an AssertionError where "
        f"the backend departs from the definition.", 96), '"""', *writer.imports, "",
        f"x = {writer.tensor(case.input)}"]
    if problem.gradient:
        lines.append(f"g = {writer.tensor(case.grad_output)}  # the upstream gradient")
    lines.append("")
    lines += _checked_call(writer, problem, call)
    return "\n".join(lines) + "\n"


def _checked_call(writer: Writer, problem: Problem, call: list[str]) -> list[str]:
    concern = problem.concern
    if concern == "accepts" or problem.oracle_error:
        return [
            "try:", *_indented(call),
            "except Exception as error:",
            "    print('raises, as the definition requires:', repr(error))",
            "else:",
            f"    raise AssertionError(f'returned a result of shape {{{writer.shape_of('actual')}}}; "
            f"the definition requires an error here: {_quoted(problem.oracle_error)}')",
        ]
    lines = []
    if concern == "hang":
        lines += ["import signal", "signal.alarm(60)  # the call hangs: SIGALRM ends it after 60 s", ""]
    if concern == "raises":
        lines += ["try:", *_indented(call),
                  "except Exception as error:",
                  "    raise AssertionError(f'raised {error!r} on arguments the definition "
                  "accepts') from error"]
    else:
        if concern in ("crash", "out of memory"):
            lines.append(f"# This call ends the process ({concern}) on the backend under test.")
        lines += call
    lines += ["", f"# Expected, from the definition: {problem.rule}"]
    if concern == "shape":
        shape = tuple(problem.expected.shape)
        lines += [f"assert {writer.shape_of('actual')} == {shape}, "
                  f"f'output shape {{{writer.shape_of('actual')}}}, expected {shape}'"]
    elif concern == "indices":
        plane = problem.plane_size
        lines += [
            f"expected = {problem.expected_indices.flatten().tolist()!r}  # row-major; each index "
            f"flat within its (n, c) plane; -1: the window holds no input element, so any index "
            f"outside 0..{plane - 1} is right",
            f"assert all(i == e if e >= 0 else not 0 <= i < {plane} for i, e in "
            f"zip({writer.to_list('indices')}, expected, strict=True)), "
            f"f'indices {{{writer.to_list('indices')}}}, expected {{expected}}'",
        ]
    else:
        lines += [f"expected = {writer.tensor(problem.expected)}", writer.assert_close(problem)]
    return lines


def _indented(lines: list[str]) -> list[str]:
    return ["    " + line if line else line for line in lines]


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("{", "{{").replace("}", "}}")
