"""The cross-dialect relations (conformance/properties/test_cross_dialect.py) on the oracle
alone: one computation written in two dialects or two spellings gives one oracle result. Each
property is run with a backend that speaks no dialect, so only its oracle side is checked."""

import inspect
from types import SimpleNamespace

import pytest
from hypothesis import settings

from conformance.engine.deviations import Registry
from conformance.properties import test_cross_dialect as relations


class SpeaksNothing:
    dialects = ()


CONFORMANCE = SimpleNamespace(backend=SpeaksNothing(), backend_name="oracle only",
                              registry=Registry())


def _relation_runs():
    for name, function in inspect.getmembers(relations, inspect.isfunction):
        if not name.startswith("test_"):
            continue
        for mark in getattr(function, "pytestmark", []):
            if mark.name == "parametrize":
                names, values = mark.args
                for value in values:
                    yield pytest.param(function, names, value, id=f"{name}[{value}]")


@pytest.mark.parametrize("function, names, value", list(_relation_runs()))
def test_relation_holds_on_the_oracle(function, names, value, monkeypatch):
    monkeypatch.setattr(relations, "require_any", lambda *args: None)
    monkeypatch.setattr(relations, "given", _small(relations.given))
    arguments = dict(zip([n.strip() for n in names.split(",")],
                         value if isinstance(value, tuple) else (value,)))
    function(CONFORMANCE, **arguments)


def _small(given):
    def small_given(*args, **kwargs):
        def decorate(test):
            return settings(max_examples=15, deadline=None, database=None)(
                given(*args, **kwargs)(test))
        return decorate
    return small_given
