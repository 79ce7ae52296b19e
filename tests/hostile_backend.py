"""A backend as hostile as a new one can be: each op misbehaves in a different way, the rest are
the NumPy backend (fast and conforming, so every finding in its report is one of these).

`pooling-conformance report --backend tests.hostile_backend:backend` must still write a complete
report within minutes (tests/test_hostile_backend.py, benchmarks/hostile_report.py).
"""

import ctypes
import os
import signal
import sys
import threading

import numpy as np

from conformance.backends.numpy_backend import NumpyBackend

_DEADLOCK = threading.Lock()


def _as_tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


class _UnheardOfError(Exception):
    """Defined here, so no caller can import or expect it."""


def _blocks_forever():
    # A lock taken twice: the thread waits inside C, in no Python bytecode a timer could stop.
    _DEADLOCK.acquire()
    _DEADLOCK.acquire()


def _loops_forever():
    while True:
        pass


def _allocates_everything(x):
    # 64 GiB, each page touched: a swapping machine unless the worker has a memory limit.
    np.ones(64 << 30, dtype=np.uint8)
    return x


def _raises_unheard_of():
    raise _UnheardOfError("no one expects me")


def _shouts(_call):
    text = "hostile backend says: " + "x" * 1000 + "\n"
    sys.stdout.write(text * 500)
    sys.stderr.write(text * 500)
    sys.stdout.flush()
    sys.stderr.flush()


# op -> (what it does, when: a predicate over (x, kwargs)). Each op misbehaves in its own way.
MISBEHAVIOURS = {
    "max_pool1d": ("abort()", lambda x, kw: os.abort()),
    "max_pool2d": ("SIGFPE for kernels with an axis of 2",
                   lambda x, kw: 2 in _as_tuple(kw.get("kernel_size"), 2)
                   and os.kill(os.getpid(), signal.SIGFPE)),
    "max_pool3d": ("SIGSEGV (reads address 0)", lambda x, kw: ctypes.string_at(0)),
    "avg_pool2d": ("an infinite Python loop when ceil_mode=True",
                   lambda x, kw: kw.get("ceil_mode") and _loops_forever()),
    "avg_pool3d": ("a deadlock in C (a lock taken twice)", lambda x, kw: _blocks_forever()),
    "avg_pool1d": ("os._exit(0)", lambda x, kw: os._exit(0)),
    "adaptive_avg_pool2d": ("allocates 64 GiB", lambda x, kw: _allocates_everything(x)),
    "min_pool1d": ("raises an exception class from nowhere", lambda x, kw: _raises_unheard_of()),
    "min_pool2d": ("prints 1 MB to stdout and stderr, then answers", lambda x, kw: _shouts(x)),
}
RESULT_JUNK = {
    "adaptive_max_pool1d": ("returns a list", lambda result: result.tolist()),
    "adaptive_max_pool2d": ("returns the wrong dtype (float16 for any input)",
                            lambda result: result.astype(np.float16)),
}


class HostileBackend:
    name = "hostile"
    version = "0"

    def __init__(self):
        self._numpy = NumpyBackend()

    def __getattr__(self, op_name):
        if op_name.startswith("_"):
            raise AttributeError(op_name)
        honest = getattr(self._numpy, op_name)
        if op_name in MISBEHAVIOURS:
            _, misbehave = MISBEHAVIOURS[op_name]

            def call(x, *args, **kwargs):
                kwargs.update(_named(op_name, args))
                misbehave(x, kwargs)
                return honest(x, **kwargs)
            return call
        if op_name in RESULT_JUNK:
            _, spoil = RESULT_JUNK[op_name]

            def call(x, *args, **kwargs):
                result = honest(x, *args, **kwargs)
                return result if isinstance(result, tuple) else spoil(result)
            return call
        return honest


def _named(op_name, args):
    """Positional arguments by name: only kernel_size is ever given positionally here."""
    return dict(zip(("output_size",) if op_name.startswith("adaptive") else ("kernel_size",), args))


backend = HostileBackend()
