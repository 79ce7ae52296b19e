"""The default (`ci`) profile kills every mutant in the bank: a property fails on it on a case
where the correct torch backend passes. benchmarks/kill_table.py prints the same with timings."""

import pytest
from hypothesis import settings

from conformance.engine.deviations import Registry
from conformance.selfcheck.mutants import MUTANTS
from conformance.selfcheck.mutation import kill
from conformance.runner.profiles import default_profile


@pytest.fixture(scope="module")
def torch_registry():
    return Registry.load("torch.toml", "2.13.0")


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_ci_profile_kills_the_mutant(name, torch_registry):
    profile = default_profile()
    try:
        result = kill(MUTANTS[name], torch_registry, "ci", shrink=False)
    finally:
        settings.load_profile(profile)
    assert result.killed, (
        f"mutant {name} ({MUTANTS[name].bug}) survived {result.examples} checked cases: the "
        f"suite cannot see this bug"
    )
