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


# Mutants the `ci` profile does not kill yet: each is a measured weakness of the suite, kept in
# the bank so that the day a strategy reaches it, the strict xfail says so.
SURVIVORS = {
    "padding-bound-on-dilated-span": "only the validation-boundary property reaches "
    "kernel_size // 2 < padding <= dilated span // 2 with dilation > 1, and too rarely under ci",
}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=SURVIVORS[name]))
    if name in SURVIVORS else name
    for name in sorted(MUTANTS)])
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
