"""The known-deviation registry: where a backend departs from the oracle, and why.

A deviation is keyed by a *signature*, a predicate over the case's features
(conformance.engine.regions.case_features), never by a test id: Hypothesis may or may not draw a failing
case on a run, so per-test xfails are flaky, while a signature decides each drawn case
deterministically. The registry is strict both ways:

- a case outside every signature that deviates is a *new* deviation (a failure);
- a case inside a signature must still deviate on that concern; where it agrees, the deviation
  is *stale*: fixed upstream, or its signature is wider than the bug (also a failure).

A few bugs cannot be pinned by a signature over the case alone (whether torch's index for an
empty window happens to name an element depends on where the window lies). Such an entry says
`strict = false`: a case inside it may agree, and the run flags it (without failing) when it
matched cases and none deviated (`Results.stale_after_run`).

A registry is a TOML file describing one backend's behaviour (see conformance/deviations/):

    versions = ">=2.0"            # optional: the backend versions every entry applies to
    include = ["torch.toml"]      # optional: start from another registry (same folder)
    exclude = ["some-id"]         # optional: included entries that do not hold for this backend

    [[deviation]]
    id = "short-kebab-name"
    concern = "indices"           # shape | dtype | values | indices | gradient | raises |
                                  # accepts | type | crashes
    kind = "convention"           # bug | convention
    what = "what differs"
    why = "the reason, citing the source"
    links = ["https://..."]       # optional
    versions = ">=2.1"            # optional, overrides the file's
    strict = false                # optional: see below
    [deviation.match]             # every key must hold; a list means any of its values
    family = ["max_pool", "adaptive_max_pool"]   # op and family also take globs
    several_nan_in_window = true
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance.engine.regions import REGIONS

BUILTIN_DIRECTORY = Path(__file__).parents[1] / "deviations"
MATCHABLE_FEATURES = (
    "op", "family", "spatial_dims", "dtype", "ceil_mode", "count_include_pad",
    "divisor_override", "return_indices", "dialect", "opset", *REGIONS,
)
CONCERNS = ("shape", "dtype", "values", "indices", "gradient", "raises", "accepts", "type",
            "crashes", "inferred_shape")
KINDS = ("bug", "convention")
# What a property on each concern can observe: the values and indices properties cannot compare
# values when the shapes differ, so they report the shape mismatch instead.
OBSERVABLE = {
    "shape": ("shape", "raises", "accepts", "type", "crashes"),
    "dtype": ("dtype", "raises", "accepts", "type", "crashes"),
    "values": ("values", "shape", "raises", "accepts", "type", "crashes"),
    "indices": ("indices", "shape", "raises", "accepts", "type", "crashes"),
    "gradient": ("gradient", "raises", "type", "crashes"),
    # ONNX shape inference (conformance.engine.inference) against the oracle's output shape.
    # The runtime's own raising is not shape inference's: only its own concern applies.
    "inferred_shape": ("inferred_shape",),
    # Edge cases the oracle accepts are compared as values (checks._COMPARISONS["validity"]).
    "validity": ("values", "shape", "raises", "accepts", "type", "crashes"),
}


class RegistryError(Exception):
    """A registry file that cannot be used; the message names the file, entry and problem."""


@dataclass(frozen=True)
class Deviation:
    id: str
    concern: str
    kind: str
    what: str
    why: str
    match: dict
    links: tuple[str, ...] = ()
    versions: str = ""
    strict: bool = True

    def applies_to_version(self, version: str | None) -> bool:
        if not self.versions or not version:
            return True
        try:
            return SpecifierSet(self.versions).contains(Version(version), prereleases=True)
        except InvalidVersion:
            return True  # a backend without a PEP 440 version: the user chose this registry

    def matches(self, features: dict) -> bool:
        for key, wanted in self.match.items():
            allowed = wanted if isinstance(wanted, list) else [wanted]
            value = features.get(key)
            if key in ("op", "family"):
                if not any(fnmatch.fnmatchcase(str(value), str(pattern)) for pattern in allowed):
                    return False
            elif value not in allowed:
                return False
        return True


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "conforms", "known", "new", "stale", or "agrees" (inside a non-strict entry)
    deviations: tuple[Deviation, ...] = ()

    @property
    def failed(self) -> bool:
        return self.outcome in ("new", "stale")


@dataclass
class Registry:
    deviations: list[Deviation] = field(default_factory=list)
    source: str = "(none)"

    @classmethod
    def load(cls, path: str | Path, backend_version: str | None = None) -> "Registry":
        path = Path(path)
        if not path.is_absolute() and not path.exists():
            path = BUILTIN_DIRECTORY / path
        try:
            document = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise RegistryError(f"deviation registry {path} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise RegistryError(f"deviation registry {path} is not valid TOML: {error}") from None
        file_versions = document.get("versions", "")
        deviations = [
            deviation for included in document.get("include", [])
            for deviation in cls.load(path.parent / included).deviations
        ]
        excluded = set(document.get("exclude", []))
        unknown = sorted(excluded - {deviation.id for deviation in deviations})
        if unknown:
            raise RegistryError(f"{path}: exclude names no included deviation: {unknown}")
        deviations = [deviation for deviation in deviations if deviation.id not in excluded]
        deviations += [
            _parse_entry(path, number, entry, file_versions)
            for number, entry in enumerate(document.get("deviation", []), start=1)
        ]
        ids = [d.id for d in deviations]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise RegistryError(f"{path}: duplicate deviation ids {duplicates}")
        applicable = [d for d in deviations if d.applies_to_version(backend_version)]
        return cls(applicable, str(path))

    def judge(self, features: dict, concern: str, mismatch) -> Verdict:
        """Decide one case on one concern. `mismatch` is a checks.Mismatch or None."""
        observable = OBSERVABLE[concern]
        relevant = [d for d in self.deviations if d.concern in observable and d.matches(features)]
        if mismatch is None:
            own = tuple(d for d in relevant
                        if d.concern in (concern, "raises", "accepts", "type", "crashes"))
            strict = tuple(d for d in own if d.strict)
            if strict:
                return Verdict("stale", strict)
            return Verdict("agrees", own) if own else Verdict("conforms")
        known = tuple(d for d in relevant if d.concern == mismatch.concern)
        return Verdict("known", known) if known else Verdict("new")


def _parse_entry(path, number, entry, file_versions) -> Deviation:
    where = f"{path}, deviation #{number} ({entry.get('id', 'no id')})"
    missing = [key for key in ("id", "concern", "kind", "what", "why", "match") if key not in entry]
    if missing:
        raise RegistryError(f"{where}: missing {', '.join(missing)}")
    if entry["concern"] not in CONCERNS:
        raise RegistryError(f"{where}: concern must be one of {CONCERNS}")
    if entry["kind"] not in KINDS:
        raise RegistryError(f"{where}: kind must be one of {KINDS}")
    unknown = sorted(set(entry["match"]) - set(MATCHABLE_FEATURES))
    if unknown:
        raise RegistryError(
            f"{where}: unknown features {unknown} in match; known: {', '.join(MATCHABLE_FEATURES)}"
        )
    versions = entry.get("versions", file_versions)
    try:
        SpecifierSet(versions)
    except InvalidSpecifier:
        raise RegistryError(f"{where}: versions {versions!r} is not a version range") from None
    return Deviation(
        id=entry["id"], concern=entry["concern"], kind=entry["kind"], what=entry["what"],
        why=entry["why"], match=dict(entry["match"]), links=tuple(entry.get("links", ())),
        versions=versions, strict=bool(entry.get("strict", True)),
    )


# What an entry's description (`what`) says it covers, read mechanically: the ops and dtypes it
# names. "max_pool2d", "avg_pool1d/2d/3d", "adaptive_avg_pool{1,2,3}d" name ops
# (a family without dims, "max_pool", names its three ops); "float16", "integer", "16-bit float"
# name dtypes. A description naming none of a kind does not restrict it.
_OP_NAMED = re.compile(r"\b((?:adaptive_|global_)?(?:max|min|avg)_pool)((?:\{[\d, ]+\}|[123])d"
                       r"(?:/[123]d)*)?")
_DTYPE_WORDS = {
    "bfloat16": ("bfloat16",), "float16": ("float16",), "float32": ("float32",),
    "float64": ("float64",), "uint8": ("uint8",), "int8": ("int8",), "int16": ("int16",),
    "int32": ("int32",), "int64": ("int64",),
    "integer": ("int8", "uint8", "int16", "int32", "int64"),
    "16-bit float": ("float16", "bfloat16"), "half": ("float16",),
}


def described_scope(deviation: Deviation) -> dict[str, set[str] | None]:
    """{"op": ops named, "dtype": dtypes named} by the entry's `what`; None where it names none."""
    text = deviation.what
    ops = set()
    for family, dims in _OP_NAMED.findall(text):
        ops |= {f"{family}{d}d" for d in (re.findall(r"[123]", dims) or "123")}
    dtypes = set()
    for word, named in _DTYPE_WORDS.items():
        # "int8" inside "uint8" and "float16" inside "bfloat16" are not mentions.
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            dtypes |= set(named)
    return {"op": ops or None, "dtype": dtypes or None}


def registry_audit(registry: Registry, matched: dict) -> dict:
    """Entries to look at after a run. `matched` maps an entry id to the "op|dtype" keys of the
    cases inside its signature (Results.deviation_cases). `never_matched`: applicable entries
    no case fell inside; `outside_description`: id -> the matched "op|dtype" keys whose op or
    dtype its description does not name (described_scope)."""
    outside = {}
    for deviation in registry.deviations:
        scope = described_scope(deviation)
        keys = sorted(
            key for key in matched.get(deviation.id, ())
            if any(scope[kind] is not None and value not in scope[kind]
                   for kind, value in zip(("op", "dtype"), key.split("|"))))
        if keys:
            outside[deviation.id] = keys
    return {"never_matched": [d.id for d in registry.deviations if not matched.get(d.id)],
            "outside_description": outside}
