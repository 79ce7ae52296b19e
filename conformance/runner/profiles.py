"""Hypothesis settings profiles, chosen with `--hypothesis-profile NAME` or
POOLING_CONFORMANCE_PROFILE=NAME: `ci` (derandomised, the gate), `dev`, `thorough`,
`compile` (a few derandomised examples, for backends that compile per case)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "POOLING_CONFORMANCE_PROFILE"
EXAMPLES = {"ci": 60, "dev": 50, "thorough": 1000, "compile": 8}

# The oracle is deliberately slow and arrays are drawn whole, so timing health checks say nothing
# about the backend; deadlines would make results depend on machine load. Relations reject the
# cases a backend cannot run (a dtype it lacks), which for some backends is most of them.
_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile(
    "ci", max_examples=EXAMPLES["ci"], derandomize=True, database=None, print_blob=True, **_COMMON
)
settings.register_profile("dev", max_examples=EXAMPLES["dev"], print_blob=True, **_COMMON)
settings.register_profile(
    "thorough", max_examples=EXAMPLES["thorough"], print_blob=True, **_COMMON
)
# For backends that compile per case (torch.compile: 1-2 s of Inductor and gcc for each new op,
# parameters, dtype and shape, which is nearly every example, so `ci`'s budget would take most of
# an hour): few examples keep the run to minutes, and fixed draws with no database keep its
# verdicts repeatable from run to run and machine to machine.
settings.register_profile(
    "compile", max_examples=EXAMPLES["compile"], derandomize=True, database=None,
    print_blob=True, **_COMMON
)


# Examples a report spends, per known deviation, searching for its minimal case
# (conformance.runner.shrinking), and on the claims judged through the backend (conformance.claims.notebook).
# A compiling backend pays a compile for nearly every one, so it gets the profile's own budget.
SEARCH_EXAMPLES = {"ci": 1000, "dev": 1000, "thorough": 1000, "compile": EXAMPLES["compile"] * 2}
CLAIM_EXAMPLES = {"ci": 200, "dev": 200, "thorough": 200, "compile": EXAMPLES["compile"] * 2}


def default_profile() -> str:
    return os.environ.get(PROFILE_VARIABLE) or ("ci" if os.environ.get("CI") else "dev")
