"""Keras fixes its backend at import: the keras-* adapters set KERAS_BACKEND before importing
keras, and a process that already imported it with another backend gets one clear line."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")
pytest.importorskip("torch")

CHILD = """
import sys
from conformance.runner.loading import BackendError, load_backend
print(load_backend("keras-torch").keras.backend.backend())
try:
    load_backend("keras-numpy")
except BackendError as error:
    print("refused:", error)
"""


def test_a_second_keras_backend_in_one_process_is_refused_in_one_line():
    # KERAS_BACKEND=jax in the environment: the adapter's own choice must win over it.
    completed = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                               timeout=300, env={**os.environ, "KERAS_BACKEND": "jax",
                                                 "OMP_NUM_THREADS": "1"})
    lines = completed.stdout.splitlines()
    assert lines[0] == "torch", completed.stderr[-2000:]
    assert lines[1].startswith("refused: "), lines
    assert "keras is already imported with its 'torch' backend" in lines[1], lines
    assert len(lines) == 2
