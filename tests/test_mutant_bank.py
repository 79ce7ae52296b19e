"""The mutant bank: each mutant is buggy on its witness, and only there where torch is right.

A witness where the oracle disagrees with torch would show a torch quirk, not the mutant's bug,
so each witness is checked against both. Witnesses avoid windows with several NaN, where torch
(last NaN) and the oracle (first NaN) choose different indices, except a convention bug's, which
must differ from both there. A witness with an upstream
gradient shows a backward bug: it compares gradients (`vjp`) instead of results.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference
from conformance.selfcheck import mutants
from conformance.runner.loading import load_backend
from conformance.backends.reference_backend import ReferenceBackend
from conformance.backends.torch_backend import functional
from conformance.selfcheck.mutants import MUTANTS

TORCH = functional()
ORACLE = ReferenceBackend()


def as_tuple(result) -> tuple:
    return result if isinstance(result, tuple) else (result,)


def outcome(backend, witness):
    """The witness's result as a tuple of arrays, or the exception it raised."""
    try:
        return as_tuple(witness.run(backend))
    except Exception as error:  # noqa: BLE001 - raising is an outcome to compare
        return error


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if np.issubdtype(a.dtype, np.integer):
        return np.array_equal(a, b)
    # Loose enough for the oracle's correctly rounded averages, tight enough for every bug.
    return np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-3, atol=0,
                       equal_nan=True)


def same_outcome(a, b) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return isinstance(a, Exception) and isinstance(b, Exception)
    return len(a) == len(b) and all(map(same_array, a, b))


def identifier(name: str) -> str:
    return name.replace("-", "_")


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_witness_shows_the_bug(name):
    mutant = MUTANTS[name]
    witness = mutant.witness
    changed = mutant.changed_ops if witness.grad_output is None else mutant.changed_gradients
    assert witness.op in changed
    expected, oracle = outcome(TORCH, witness), outcome(ORACLE, witness)
    got = outcome(mutant(), witness)
    if witness.between_conventions:
        assert not same_outcome(oracle, expected), "no conventions differ on the witness"
        assert not same_outcome(got, oracle), f"{name} follows the oracle's convention"
    else:
        assert same_outcome(oracle, expected), "oracle and torch disagree"
    assert not same_outcome(got, expected), f"{name} matches torch on its witness"


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_loads_as_a_backend_spec(name):
    backend = load_backend(f"conformance.selfcheck.mutants:{identifier(name)}")
    assert backend.name == f"mutant:{name}"
    assert "mutant" in backend.version
    assert backend.mutant is MUTANTS[name]


def small_call(op_name: str):
    """A valid input and arguments for any op: (1, 2, 4, ..., 4) with values 0..."""
    dims = int(op_name[-2])
    array = np.arange(2 * 4**dims, dtype=np.float32).reshape(1, 2, *(4,) * dims)
    array = np.where(array % 3 == 0, -array, array).astype(np.float32)
    family = op_name[:-2]
    kwargs = {
        "max_pool": {"kernel_size": 2, "return_indices": True},
        "avg_pool": {"kernel_size": 2},
        "adaptive_avg_pool": {"output_size": 3},
        "adaptive_max_pool": {"output_size": 3, "return_indices": True},
        "global_avg_pool": {},
    }[family]
    return array, kwargs


def forward(backend, op_name, array, kwargs) -> tuple:
    return as_tuple(getattr(backend, op_name)(array, **kwargs))


def gradient(backend, op_name, array, kwargs) -> tuple:
    """The vjp for an upstream gradient of distinct values, so a misrouted one shows."""
    values = as_tuple(getattr(TORCH, op_name)(array, **kwargs))[0]
    upstream = np.arange(1, values.size + 1, dtype=values.dtype).reshape(values.shape)
    return as_tuple(backend.vjp(op_name, array, upstream, **kwargs))


@pytest.mark.parametrize("run, changed", [(forward, "changed_ops"),
                                          (gradient, "changed_gradients")])
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_unchanged_ops_are_torchs(name, run, changed):
    backend = MUTANTS[name]()
    for op_name in reference.OP_NAMES:
        if op_name in getattr(MUTANTS[name], changed):
            continue
        if not hasattr(TORCH, op_name):
            assert not hasattr(backend, op_name)
            continue
        array, kwargs = small_call(op_name)
        expected = run(TORCH, op_name, array, kwargs)
        assert same_outcome(run(backend, op_name, array, kwargs), expected), op_name


def test_bank_size_and_names():
    assert len(MUTANTS) >= 30
    names = [mutant.name for mutant in vars(mutants).values() if isinstance(mutant, mutants.Mutant)]
    assert len(names) == len(set(names)) == len(MUTANTS)
    for name, mutant in MUTANTS.items():
        assert getattr(mutants, identifier(name)) is mutant
        assert name == name.lower() and " " not in name and "_" not in name
        assert mutant.bug and "\n" not in mutant.bug
