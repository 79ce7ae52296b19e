"""What changed between two runs' results: findings that are new, fixed, or changed.

A finding is matched by its key (deviation id, `new:<property>`, or a fault's id). "changed"
means the same key with another status, concern or smallest case. A CI job fails on "new" only
(`pooling-conformance diff OLD.json NEW.json` exits 1 then).
"""

from __future__ import annotations

from reports.findings import findings_of

# What makes a finding the same finding between runs, beyond its key.
_COMPARED = ("status", "concern", "op", "call", "input_literal", "dtype")


def diff(old: dict, new: dict) -> dict[str, list[tuple[dict | None, dict | None]]]:
    """{"new": [(None, finding)], "fixed": [(finding, None)], "changed": [(old, new)]}."""
    before = {f["key"]: f for f in findings_of(old)}
    after = {f["key"]: f for f in findings_of(new)}
    return {
        "new": [(None, after[key]) for key in sorted(after.keys() - before.keys())],
        "fixed": [(before[key], None) for key in sorted(before.keys() - after.keys())],
        "changed": [(before[key], after[key]) for key in sorted(before.keys() & after.keys())
                    if any(before[key].get(f) != after[key].get(f) for f in _COMPARED)],
    }


def describe_change(old: dict, new: dict) -> str:
    parts = [f"{field} {old.get(field)!r} -> {new.get(field)!r}" for field in _COMPARED
             if old.get(field) != new.get(field) and field != "input_literal"]
    if old.get("input_literal") != new.get("input_literal"):
        parts.append("another smallest input")
    return "; ".join(parts)


def render_text(changes: dict) -> str:
    lines = []
    for kind, pairs in changes.items():
        lines.append(f"{kind}: {len(pairs)}")
        for old, new in pairs:
            finding = new or old
            detail = (describe_change(old, new) if old and new
                      else f"{finding['status']}, {finding['concern']}, {finding['op']}")
            lines.append(f"  {finding['key']}  ({detail})")
    return "\n".join(lines)
