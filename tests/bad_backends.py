"""Backends built to misbehave, for the suite's robustness tests (tests/test_isolation.py).

Each is torch, except that `max_pool1d` misbehaves in one way a backend under test can.
"""

import os
import signal
import time

import numpy as np

from conformance.backends.torch_backend import functional


class Misbehaving:
    def __init__(self, name, misbehaviour):
        self.name = f"bad:{name}"
        self.version = "0"
        self._torch = functional()
        self._misbehaviour = misbehaviour

    def __getattr__(self, op_name):
        if op_name.startswith("_"):
            raise AttributeError(op_name)
        return getattr(self._torch, op_name)

    def max_pool1d(self, x, *args, **kwargs):
        return self._misbehaviour(lambda: self._torch.max_pool1d(x, *args, **kwargs))


class _UnprintableError(BaseException):
    def __str__(self):
        raise RuntimeError("this exception cannot describe itself")


def _raise(error):
    raise error


def _non_contiguous(result):
    widened = np.repeat(result, 2, axis=-1)
    return widened[..., ::2]


def _read_only(result):
    result.setflags(write=False)
    return result


sigfpe = Misbehaving("sigfpe", lambda run: os.kill(os.getpid(), signal.SIGFPE))
aborts = Misbehaving("abort", lambda run: os.abort())
hangs = Misbehaving("hang", lambda run: time.sleep(3600))
returns_list = Misbehaving("list", lambda run: run().tolist() if not isinstance(run(), tuple) else run())
returns_float64 = Misbehaving("float64", lambda run: run().astype(np.float64)
                              if not isinstance(run(), tuple) else run())
returns_non_contiguous = Misbehaving("non-contiguous", lambda run: _non_contiguous(run())
                                     if not isinstance(run(), tuple) else run())
returns_read_only = Misbehaving("read-only", lambda run: _read_only(run())
                                if not isinstance(run(), tuple) else run())
returns_tuple = Misbehaving("tuple", lambda run: (run(),) if not isinstance(run(), tuple) else run())
raises_system_exit = Misbehaving("system-exit", lambda run: _raise(SystemExit(3)))
raises_unprintable = Misbehaving("unprintable", lambda run: _raise(_UnprintableError()))
