"""Registry bookkeeping: `exclude` drops included entries; the audit lists entries no case fell
inside and entries that matched cases whose op or dtype their description does not name."""

import pytest

from conformance.engine.deviations import (
    Registry, RegistryError, described_scope, registry_audit,
)

ENTRY = '''
[[deviation]]
id = "{id}"
concern = "values"
kind = "bug"
what = """{what}"""
why = "a test"
[deviation.match]
family = "avg_pool"
'''


def _registry(tmp_path, *entries, name="r.toml", header=""):
    path = tmp_path / name
    path.write_text(header + "".join(ENTRY.format(id=i, what=w) for i, w in entries))
    return path


def test_exclude_drops_an_included_entry_and_rejects_an_unknown_id(tmp_path):
    _registry(tmp_path, ("kept", "x"), ("dropped", "y"), name="base.toml")
    child = tmp_path / "child.toml"
    child.write_text('include = ["base.toml"]\nexclude = ["dropped"]\n')
    assert [d.id for d in Registry.load(child).deviations] == ["kept"]
    child.write_text('include = ["base.toml"]\nexclude = ["no-such-entry"]\n')
    with pytest.raises(RegistryError, match="no-such-entry"):
        Registry.load(child)


@pytest.mark.parametrize("what, ops, dtypes", [
    ("avg_pool3d on bfloat16 rounds", {"avg_pool3d"}, {"bfloat16"}),
    ("adaptive_avg_pool{1,2,3}d accept", {f"adaptive_avg_pool{d}d" for d in "123"}, None),
    ("avg_pool1d/2d wrap integer sums", {"avg_pool1d", "avg_pool2d"},
     {"int8", "uint8", "int16", "int32", "int64"}),
    ("max_pool returns a 16-bit float", {"max_pool1d", "max_pool2d", "max_pool3d"},
     {"float16", "bfloat16"}),
    ("uint8 only", None, {"uint8"}),  # "int8" inside "uint8" is no mention of int8
    ("the mean overflows", None, None),
])
def test_described_scope_reads_the_ops_and_dtypes_a_description_names(tmp_path, what, ops, dtypes):
    (deviation,) = Registry.load(_registry(tmp_path, ("e", what))).deviations
    assert described_scope(deviation) == {"op": ops, "dtype": dtypes}


def test_the_audit_lists_unmatched_entries_and_matches_outside_the_description(tmp_path):
    registry = Registry.load(_registry(
        tmp_path, ("narrow", "avg_pool2d on float16 rounds"), ("unnamed", "averages round"),
        ("unseen", "avg_pool1d never drawn")))
    matched = {"narrow": ["avg_pool2d|float16", "avg_pool2d|float32", "avg_pool3d|float16"],
               "unnamed": ["avg_pool1d|int8"]}
    assert registry_audit(registry, matched) == {
        "never_matched": ["unseen"],
        "outside_description": {"narrow": ["avg_pool2d|float32", "avg_pool3d|float16"]},
    }
