"""The order of a backend run, so that `pytest -x` meets a wrong backend's first failure early:
the canonical cases of every op first (every concern, a few fixed cases each), then the cheap
broad properties (values, which checks shapes too; indices; validation boundaries and invalid
arguments; dtypes and shapes, which the canonical cases already check for every op), then
relations and gradients, the slow and narrow last. Within a
property, 1-D before 2-D before 3-D (cheaper oracle calls, same bugs mostly). And a run against a
named backend leaves out the suite's own tests (tests/), which do not judge the backend, unless
the command line names them."""

from __future__ import annotations

import os
import re

from conformance.runner.loading import ENVIRONMENT_VARIABLE

# Earlier first; a property not named here runs after these, in collection order.
PROPERTY_ORDER = (
    "test_canonical_cases_conform",
    "test_canonical_gradients_conform",
    "test_values",
    "test_indices",
    "test_arguments_at_each_validation_boundary",
    "test_invalid_arguments_raise",
    "test_output_dtype",
    "test_output_shape",
    "test_gradient",
)
_MODULE_ORDER = ("test_pooling", "test_validity", "test_conventions", "test_metamorphic",
                 "test_formulas", "test_notebook", "test_gradients")


def _rank(item) -> tuple:
    name = item.originalname if hasattr(item, "originalname") else item.name
    module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
    if name in PROPERTY_ORDER:
        group = (0, PROPERTY_ORDER.index(name))
    elif module in _MODULE_ORDER:
        group = (1, _MODULE_ORDER.index(module))
    else:
        group = (2, 0)
    dims = re.search(r"(\d)d\b|\bn?(\d)\]", item.name)
    return group + (int(next(d for d in dims.groups() if d)) if dims else 0,)


def quickest_failure_first(items: list) -> None:
    """Reorder `items` in place (a stable sort: ties keep collection order)."""
    items.sort(key=_rank)


def self_tests(config, items: list) -> list:
    """The suite's own tests among `items` when a backend is named (option or environment) and
    the paths came from `testpaths`, not the command line; else none."""
    backend_named = config.getoption("--backend") or os.environ.get(ENVIRONMENT_VARIABLE)
    paths_named = getattr(getattr(config, "args_source", None), "name", "") != "TESTPATHS"
    if not backend_named or paths_named:
        return []
    return [item for item in items if "properties" not in item.path.parts]
