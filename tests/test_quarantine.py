"""Fault quarantine (conformance.runner.faults): a fault's region is not called again, the region
widens to what faulting cases share, a few faults take the whole op, a confirmed hang is
re-confirmed in about a second, and the worker's memory limit turns a runaway allocation into an
"out of memory" fault."""

import time
from pathlib import Path

import numpy as np
import pytest

from conformance.runner.faults import HANG_FLOOR, WHOLE_OP_AFTER, FaultGuard, NotRun, Quarantined
from conformance.runner.isolation import BackendFault, IsolatedBackend
from tests.hostile_backend import backend as hostile

X = np.arange(8, dtype=np.float32).reshape(1, 1, 8)
X2 = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)


@pytest.fixture
def isolated():
    worker = IsolatedBackend(hostile, timeout=2.0, memory_limit_mib=256)
    yield worker
    worker.close()


def test_a_crashing_region_is_not_called_again_but_others_are(isolated):
    guard = FaultGuard(isolated)
    with pytest.raises(BackendFault, match="killed by SIGFPE"):
        guard.max_pool2d(X2, kernel_size=2)
    with pytest.raises(Quarantined, match="crash:max_pool2d"):
        guard.max_pool2d(X2, kernel_size=2)  # the same features: not called
    # Outside the region (another dtype) the op is still called, and answers.
    assert guard.max_pool2d(X2.astype(np.float64), kernel_size=3).shape == (1, 1, 1, 1)


def test_regions_widen_and_enough_faults_take_the_whole_op(isolated):
    guard = FaultGuard(isolated)
    with pytest.raises(BackendFault, match="SIGABRT"):
        guard.max_pool1d(X, kernel_size=2)
    with pytest.raises(BackendFault, match="SIGABRT"):  # another dtype: outside the region
        guard.max_pool1d(X.astype(np.float64), kernel_size=2)
    # The region is now what the two share: the dtype no longer matters.
    with pytest.raises(Quarantined):
        guard.max_pool1d(X.astype(np.float16), kernel_size=2)
    assert guard.wholly_quarantined("max_pool1d") is None
    for _ in range(WHOLE_OP_AFTER["crash"] - 2):
        guard.quarantine("max_pool1d", "crash:max_pool1d", {"op": "max_pool1d", "nan": True},
                         "crash")
    assert guard.wholly_quarantined("max_pool1d") == "crash:max_pool1d"
    with pytest.raises(Quarantined):
        guard.max_pool1d(X, kernel_size=3, ceil_mode=True)


def test_a_confirmed_hang_costs_about_a_second_the_next_time(isolated):
    guard = FaultGuard(isolated)
    assert guard.avg_pool2d(X2, kernel_size=2).shape == (1, 1, 2, 2)
    started = time.monotonic()
    with pytest.raises(BackendFault, match="hang after 2 s"):
        guard.avg_pool2d(X2, kernel_size=3, ceil_mode=True)
    assert time.monotonic() - started >= 2
    started = time.monotonic()
    with pytest.raises(BackendFault, match=f"hang after {HANG_FLOOR:g} s"):
        guard.avg_pool2d(X2.astype(np.float64), kernel_size=3, ceil_mode=True, padding=1)
    assert time.monotonic() - started < 2


def test_a_runaway_allocation_is_out_of_memory_and_the_worker_recovers(isolated):
    with pytest.raises(BackendFault) as raised:
        isolated.adaptive_avg_pool2d(X2, output_size=1)
    assert raised.value.kind == "out of memory" and "256 MiB" in raised.value.detail
    assert isolated.adaptive_avg_pool1d(X, output_size=2).tolist() == [[[1.5, 5.5]]]


def test_os_exit_is_a_crash_and_output_is_kept_short(isolated):
    with pytest.raises(BackendFault, match="exited with status 0"):
        isolated.avg_pool1d(X, kernel_size=2)
    for _ in range(3):  # a megabyte each, to the worker's output file, which stays bounded
        assert isolated.min_pool2d(X2, kernel_size=2).shape == (1, 1, 2, 2)
    assert len(isolated._last_output()) <= 1 << 17


def test_past_the_deadline_nothing_is_called(isolated):
    guard = FaultGuard(isolated, deadline=time.monotonic() - 1)
    with pytest.raises(NotRun):
        guard.min_pool3d(np.ones((1, 1, 2, 2, 2), np.float32), kernel_size=2)


def test_a_worker_ends_when_the_process_that_started_it_is_killed(tmp_path):
    """A report process killed outright (SIGKILL, a test's timeout) leaves no worker behind."""
    import os
    import signal
    import subprocess
    import sys

    script = ("import numpy as np, sys, time\n"
              "from conformance.runner.isolation import IsolatedBackend\n"
              "from tests.hostile_backend import backend\n"
              "worker = IsolatedBackend(backend)\n"
              "worker.min_pool3d(np.ones((1, 1, 2, 2, 2), np.float32), kernel_size=2)\n"
              "print(worker._process.pid, flush=True)\n"
              "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    worker_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker_pid, signal.SIGKILL)
    raise AssertionError("the worker outlived its parent")
