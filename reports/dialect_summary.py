"""The report's opening lines per dialect: "backend X matches dialect Y except: ..." naming each
deviation the run showed in that dialect's ops, and the ops each dialect contributes to the
report's per-op tables (torch's first, then each other dialect's that the run drew)."""

from __future__ import annotations

from collections import defaultdict

import reference
from reference import dialects


def report_ops(results: dict) -> list[str]:
    """torch's ops, then every other dialect's op that the results mention."""
    mentioned = {key.split("|", 1)[0] for key in results["outcomes"]} | set(results["unsupported"])
    others = [op for dialect in dialects.DIALECTS if dialect != "torch"
              for op in dialects.op_names(dialect) if op in mentioned]
    return list(reference.OP_NAMES) + others


def _dialect_of_op(op: str) -> str | None:
    return next((d for d in dialects.DIALECTS if op in dialects.op_names(d)), None)


def dialect_summary(results: dict) -> str:
    metadata = results["metadata"]
    spoken = [d.strip() for d in metadata.get("dialects", "torch").split(",") if d.strip()]
    deviations = defaultdict(dict)  # dialect -> deviation key -> (status, ops)
    for finding in results["findings"]:
        dialect = finding.get("dialect") or _dialect_of_op(finding["op"]) or "torch"
        status, ops = deviations[dialect].get(finding["key"], (finding["status"], set()))
        ops.add(finding["op"])
        deviations[dialect][finding["key"]] = (status, ops)
    drawn = {key.split("|", 1)[0] for key, counter in results["outcomes"].items()
             if any(n for outcome, n in counter.items() if outcome != "unsupported")}
    lines = []
    for dialect in spoken:
        ops = [op for op in dialects.op_names(dialect) if op in drawn]
        if not ops:
            lines.append(f"- **{metadata['backend']}** speaks the {dialect} dialect, but no case "
                         f"of it ran (every op unsupported or not selected).")
            continue
        found = deviations.get(dialect, {})
        if not found:
            lines.append(f"- **{metadata['backend']}** matches the {dialect} dialect on every "
                         f"drawn case ({len(ops)} ops).")
            continue
        named = ", ".join(f"`{key}` ({status}; {', '.join(sorted(op_set))})"
                          for key, (status, op_set) in sorted(found.items()))
        lines.append(f"- **{metadata['backend']}** matches the {dialect} dialect except: {named}.")
    return "\n".join(lines)
