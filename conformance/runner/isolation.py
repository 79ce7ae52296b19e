"""Running backend calls in a worker process, so a crash, a hang or a runaway allocation becomes a
finding.

A backend under test may kill its process (a floating-point exception in a native kernel, an
abort, a segfault, `os._exit`), never return, or allocate without bound. `IsolatedBackend`
forwards each call to a worker process and turns those into `BackendFault`s of three kinds:
"crash" ("killed by SIGFPE", "exited with status 0"), "hang" ("hang after 10 s") and
"out of memory" (the worker's address space is capped, so the allocation fails in the worker
instead of swapping the machine). The worker is restarted after any of them. Exceptions the
backend raises come back with their type name and message; NotImplementedError stays
NotImplementedError (unsupported).

What the backend prints goes to a file, kept to its last `_OUTPUT_KEPT` bytes: a backend that
writes megabytes neither floods the terminal nor fills the disk, and the last lines it wrote
before dying (an assertion message, "Fatal Python error") are part of the fault's detail.
"""

from __future__ import annotations

import ctypes
import faulthandler
import functools
import multiprocessing
import os
import signal
import sys
import tempfile

import numpy as np

from conformance.engine.checks import CallDidNotReturn, describe_error

# fork: a restarted worker inherits the already imported backend instead of importing it again
# (torch takes seconds), which matters when a backend crashes on many cases.
_CONTEXT = multiprocessing.get_context(
    "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
)
# Address space a worker may add to what it had when it started: far beyond any case the suite
# draws (kilobytes), far below what would make a shared machine swap.
DEFAULT_MEMORY_LIMIT_MIB = 8192
_OUTPUT_KEPT = 1 << 16
_FAULT_KINDS = ("crash", "hang", "out of memory")
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class BackendFault(CallDidNotReturn):
    """The call killed the worker, outran its timeout, or ran out of memory."""

    def __init__(self, op_name: str, kind: str, detail: str, output: str = ""):
        assert kind in _FAULT_KINDS, kind
        self.op_name, self.kind, self.detail, self.output = op_name, kind, detail, output
        tail = f"; its last output: {output[-300:]!r}" if output.strip() else ""
        super().__init__(f"{op_name}: {kind}: {detail}{tail}")


def _limit_memory(extra_mib: int | None) -> None:
    if not extra_mib:
        return
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = current + (extra_mib << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no RLIMIT_AS (not Linux): the worker runs unlimited


def _die_with_the_parent(parent_pid: int) -> None:
    """A worker inside a backend's endless loop never reads its pipe again, so a parent killed
    outright (SIGKILL past a report's grace) would leave it spinning for good: on Linux the
    kernel kills it with its parent. Elsewhere the pipe's end is the only way. (Linux sends the
    signal when the starting *thread* ends; workers are started from the main thread.)"""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the request
        os._exit(1)


def prepare_forked_worker(parent_pid: int) -> None:
    """What a process forked to call the backend does first (this module's workers, and the
    report's shrinking and claims): die with the parent; no faulthandler (pytest's, inherited
    through fork, would print the suite's own stack whenever a backend kills the process: the
    death is reported instead); and Ctrl-C, which goes to the whole process group, left to the
    parent, which decides what an interrupt means."""
    _die_with_the_parent(parent_pid)
    faulthandler.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _serve(connection, parent_end, parent_pid: int, backend, output_fd: int,
           memory_limit_mib: int | None) -> None:
    prepare_forked_worker(parent_pid)
    # Forked, the worker holds the parent's end of the pipe too: closed, the parent's death
    # (even by SIGKILL) ends the worker's recv, instead of leaving it waiting forever.
    parent_end.close()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    _limit_memory(memory_limit_mib)
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        name, args, kwargs = request
        try:
            result = getattr(backend, name)(*args, **kwargs)
            reply = ("ok", (result, _layout(result)))
        except MemoryError:
            reply = ("out of memory", "MemoryError")
        except BaseException as error:  # everything goes back to the parent, described
            message = describe_error(error).split(": ", 1)[1]
            reply = ("error", (type(error).__name__, message,
                               isinstance(error, NotImplementedError)))
        _bound_output(output_fd)
        try:
            connection.send(reply)
        except MemoryError:  # a result too large to pickle under the limit
            connection.send(("out of memory", "MemoryError while returning the result"))


def _bound_output(output_fd: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if os.fstat(output_fd).st_size > _OUTPUT_KEPT:
        os.ftruncate(output_fd, 0)  # the file is opened for appending: writing resumes at 0


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


@functools.cache
def _exception_class(type_name: str) -> type:
    """A stand-in for the backend's exception class, the same one for every call: Hypothesis
    tells failures apart by their type, and a new class per call would look flaky to it."""
    return type(type_name, (Exception,), {"__module__": "backend"})


def how_it_ended(exit_code: int) -> str:
    """A process's end, from its exit code: \"killed by SIGFPE\", \"exited with status 1\"."""
    if exit_code < 0:
        try:
            return f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    return f"exited with status {exit_code}"


class IsolatedBackend:
    """`backend`, with every op call run in a worker process under `timeout` seconds and
    `memory_limit_mib` more address space than the worker started with (None: unlimited)."""

    def __init__(self, backend, timeout: float = 10.0,
                 memory_limit_mib: int | None = DEFAULT_MEMORY_LIMIT_MIB):
        self._backend = backend
        self.timeout = timeout
        self._memory_limit_mib = memory_limit_mib
        self._process = None
        self._connection = None
        self._output = None
        self.name = getattr(backend, "name", None)
        self.version = getattr(backend, "version", None)
        self.dialects = getattr(backend, "dialects", None)  # data, not a call to isolate

    def __getattr__(self, name: str):
        if name.startswith("_") or getattr(self._backend, name, None) is None:
            raise AttributeError(name)
        attribute = getattr(self._backend, name)
        if not callable(attribute):
            return attribute

        def forward(*args, **kwargs):
            return self.call(name, args, kwargs)

        forward.__name__ = name
        return forward

    def _start(self) -> None:
        if self._output is None:
            self._output = tempfile.TemporaryFile()
        os.ftruncate(self._output.fileno(), 0)
        output_fd = os.open(f"/proc/self/fd/{self._output.fileno()}", os.O_WRONLY | os.O_APPEND) \
            if os.path.exists("/proc/self/fd") else os.dup(self._output.fileno())
        parent, child = _CONTEXT.Pipe()
        self._process = _CONTEXT.Process(
            target=_serve,
            args=(child, parent, os.getpid(), self._backend, output_fd, self._memory_limit_mib),
            daemon=True)
        self._process.start()
        os.close(output_fd)
        child.close()
        self._connection = parent

    def _last_output(self) -> str:
        self._output.seek(0)
        return self._output.read()[-_OUTPUT_KEPT:].decode("utf-8", "replace")

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._process = self._connection = None

    def call(self, name: str, args: tuple, kwargs: dict, timeout: float | None = None):
        """`backend.name(*args, **kwargs)` in the worker, under `timeout` (default the
        backend's own)."""
        timeout = self.timeout if timeout is None else timeout
        op_name = args[0] if name == "vjp" and args else name
        if self._process is None or not self._process.is_alive():
            self._start()
        try:
            self._connection.send((name, args, kwargs))
            answered = self._connection.poll(timeout)
        except BaseException:
            # Interrupted mid-call (Ctrl-C, SIGTERM): the worker's answer would be read as the
            # next call's, so the worker goes.
            self._stop()
            raise
        if not answered:
            self._stop()
            raise BackendFault(op_name, "hang", f"hang after {timeout:g} s", self._last_output())
        try:
            status, payload = self._connection.recv()
        except (EOFError, ConnectionResetError):
            self._process.join()
            exit_code = self._process.exitcode
            self._process = self._connection = None
            raise BackendFault(op_name, "crash", how_it_ended(exit_code),
                               self._last_output()) from None
        if status == "ok":
            return _with_layout(*payload)
        if status == "out of memory":
            self._stop()  # whatever it holds, the next call starts from a fresh worker
            raise BackendFault(op_name, "out of memory",
                               f"out of memory ({payload} beyond the worker's "
                               f"{self._memory_limit_mib} MiB)", self._last_output())
        type_name, message, unsupported = payload
        if unsupported:
            raise NotImplementedError(message)
        raise _exception_class(type_name)(message)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        self._stop()
        if self._output is not None:
            self._output.close()
            self._output = None
