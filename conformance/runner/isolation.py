"""Running backend calls in a worker process, so a crash or a hang becomes a finding.

A backend under test may kill its process (a floating-point exception in a native kernel, an
abort, a segfault) or never return. `IsolatedBackend` forwards each call to a worker process and
turns those into exceptions the suite reports like any other rejection of a case:
`BackendCrashed` ("process killed by SIGFPE") and `BackendTimedOut` ("timed out after 10 s").
The worker is restarted after either. Exceptions the backend raises come back with their type
name and message; NotImplementedError stays NotImplementedError (unsupported).
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import signal

import numpy as np

from conformance.engine.checks import CallDidNotReturn, describe_error

# fork: a restarted worker inherits the already imported backend instead of importing it again
# (torch takes seconds), which matters when Hypothesis shrinks a crashing case.
_CONTEXT = multiprocessing.get_context(
    "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
)


class BackendCrashed(CallDidNotReturn):
    """The worker process died during the call."""


class BackendTimedOut(CallDidNotReturn):
    """The call did not return within the per-call timeout."""


def _serve(connection, backend) -> None:
    # pytest's faulthandler, inherited through fork, would print the suite's own stack to the
    # terminal whenever a backend kills the worker; the death is reported as a finding instead.
    faulthandler.disable()
    while True:
        request = connection.recv()
        if request is None:
            return
        name, args, kwargs = request
        try:
            result = getattr(backend, name)(*args, **kwargs)
            connection.send(("ok", (result, _layout(result))))
        except BaseException as error:  # everything goes back to the parent, described
            message = describe_error(error).split(": ", 1)[1]
            connection.send(("error", (type(error).__name__, message,
                                       isinstance(error, NotImplementedError))))


def _layout(result):
    """What pickling loses and the suite checks: whether each array is C-contiguous and writable."""
    parts = result if isinstance(result, tuple) else (result,)
    return [(part.flags.c_contiguous, part.flags.writeable) if isinstance(part, np.ndarray)
            else None for part in parts]


def _with_layout(result, layout):
    parts = list(result) if isinstance(result, tuple) else [result]
    for index, (part, flags) in enumerate(zip(parts, layout)):
        if flags is None:
            continue
        contiguous, writeable = flags
        if not contiguous and part.size > 1:
            part = np.repeat(part, 2, axis=-1)[..., ::2]  # the same values, strided
        if not writeable:
            part.setflags(write=False)
        parts[index] = part
    return tuple(parts) if isinstance(result, tuple) else parts[0]


def _how_it_ended(exit_code: int) -> str:
    if exit_code < 0:
        try:
            return f"process killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"process killed by signal {-exit_code}"
    return f"process exited with status {exit_code}"


class IsolatedBackend:
    """`backend`, with every op call run in a worker process under `timeout` seconds."""

    def __init__(self, backend, timeout: float = 10.0):
        self._backend = backend
        self._timeout = timeout
        self._process = None
        self._connection = None
        self.name = getattr(backend, "name", None)
        self.version = getattr(backend, "version", None)
        self.dialects = getattr(backend, "dialects", None)  # data, not a call to isolate

    def __getattr__(self, name: str):
        if name.startswith("_") or getattr(self._backend, name, None) is None:
            raise AttributeError(name)

        def call(*args, **kwargs):
            return self._call(name, args, kwargs)

        call.__name__ = name
        return call

    def _start(self) -> None:
        parent, child = _CONTEXT.Pipe()
        self._process = _CONTEXT.Process(target=_serve, args=(child, self._backend), daemon=True)
        self._process.start()
        child.close()
        self._connection = parent

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._process = self._connection = None

    def _call(self, name, args, kwargs):
        if self._process is None or not self._process.is_alive():
            self._start()
        self._connection.send((name, args, kwargs))
        if not self._connection.poll(self._timeout):
            self._stop()
            raise BackendTimedOut(f"{name} timed out after {self._timeout:g} s")
        try:
            status, payload = self._connection.recv()
        except (EOFError, ConnectionResetError):
            self._process.join()
            exit_code = self._process.exitcode
            self._process = self._connection = None
            raise BackendCrashed(f"{name}: {_how_it_ended(exit_code)}") from None
        if status == "ok":
            return _with_layout(*payload)
        type_name, message, unsupported = payload
        if unsupported:
            raise NotImplementedError(message)
        raise type(type_name, (Exception,), {"__module__": "backend"})(message)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        self._stop()
