"""OSV advisories as envkernels holds them: parsed, validated and cut down to the PyPI part.

``parse_record`` turns one OSV record (a dict from YAML or JSON, OSV schema 1.x) into an
:class:`Advisory`, or raises :class:`InvalidRecord` naming what is missing. Only the ``PyPI``
entries of ``affected`` are kept, and of their ranges only ``ECOSYSTEM`` ones (``GIT`` ranges
name commits, which say nothing about an installed release). Versions in the ``versions`` list
are kept in their PEP 440 canonical form so that ``0.12.01`` and ``0.12.1`` are one version.

``to_compact``/``from_compact`` are the shape the local index stores (no re-validation on load).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

from envkernels.core.layout import normalize_name

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
OSV_URL = "https://osv.dev/vulnerability/{id}"


class InvalidRecord(ValueError):
    """An advisory that cannot be used: not a mapping, no ``id``, or a malformed ``affected``."""


@dataclass(frozen=True)
class VersionRange:
    """One ``ECOSYSTEM`` range: its events as ``(kind, version)`` pairs, in the record's order."""

    events: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Affected:
    """One ``affected`` entry for a PyPI package (``package`` is PEP 503 normalized)."""

    package: str
    ranges: tuple[VersionRange, ...] = ()
    versions: frozenset[str] = frozenset()  # canonical PEP 440 forms (legacy strings kept verbatim)


@dataclass(frozen=True)
class Advisory:
    """One OSV vulnerability record, reduced to what auditing needs."""

    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    affected: tuple[Affected, ...] = ()
    withdrawn: str | None = None
    severity: str | None = None
    modified: str | None = None
    origin: str = ""  # where it came from: a file in the database, or the API
    complete: bool = True  # False for a stub standing in for a record the API could not send
    notes: tuple[str, ...] = field(default=(), compare=False)  # problems met while parsing

    @property
    def url(self) -> str:
        """The advisory's page on osv.dev."""
        return OSV_URL.format(id=self.id)

    def packages(self) -> set[str]:
        """The normalized names of the PyPI packages this advisory is about."""
        return {a.package for a in self.affected}


@functools.lru_cache(maxsize=65536)
def canonical_version(version: str) -> str:
    """PEP 440 canonical form used for equality (``1.0.0`` -> ``1``); a legacy string is kept verbatim."""
    return canonicalize_version(version.strip(), strip_trailing_zero=True)


def _summary(data: dict[str, Any]) -> str:
    summary = data.get("summary")
    if isinstance(summary, str) and summary.strip():
        return " ".join(summary.split())
    details = data.get("details")
    if not isinstance(details, str) or not details.strip():
        return ""
    text = " ".join(details.split())
    # The first sentence is the summary most PYSEC records lack; long ones are cut at a word.
    end = text.find(". ")
    if 0 < end < 200:
        text = text[: end + 1]
    if len(text) > 200:
        text = text[:197].rsplit(" ", 1)[0] + "..."
    return text


def _severity(data: dict[str, Any]) -> str | None:
    for item in data.get("severity") or ():
        if isinstance(item, dict) and isinstance(item.get("score"), str):
            score = item["score"]
            return score if score.startswith("CVSS") else f"{item.get('type', 'severity')}:{score}"
    specific = data.get("database_specific")
    if isinstance(specific, dict) and isinstance(specific.get("severity"), str):
        return str(specific["severity"])
    return None


def _parse_range(rid: str, raw: Any, notes: list[str]) -> VersionRange | None:
    if not isinstance(raw, dict) or raw.get("type") != "ECOSYSTEM":
        return None
    events: list[tuple[str, str]] = []
    for event in raw.get("events") or ():
        if not isinstance(event, dict) or len(event) != 1:
            notes.append(f"{rid}: a range event is not a single `kind: version` pair; ignored")
            continue
        ((kind, version),) = event.items()
        version = str(version)
        if kind not in EVENT_KINDS:
            notes.append(f"{rid}: unknown range event `{kind}`; ignored")
            continue
        if not (kind == "introduced" and version == "0") and not (kind == "limit" and version == "*"):
            try:
                Version(version)
            except InvalidVersion:
                notes.append(f"{rid}: `{kind}: {version}` is not a PEP 440 version; that event is ignored")
                continue
        events.append((kind, version))
    return VersionRange(tuple(events)) if events else None


def parse_record(data: Any, origin: str = "") -> Advisory:
    """An :class:`Advisory` from one OSV record; raises :class:`InvalidRecord` when it cannot be used."""
    if not isinstance(data, dict):
        raise InvalidRecord("not an OSV record (expected a mapping at the top level)")
    rid = data.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise InvalidRecord("the record has no `id`")
    affected_raw = data.get("affected")
    if not isinstance(affected_raw, list):
        raise InvalidRecord(f"{rid}: the record has no `affected` list")
    notes: list[str] = []
    affected: list[Affected] = []
    for entry in affected_raw:
        package = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            raise InvalidRecord(f"{rid}: an `affected` entry has no `package.name`")
        if not str(package.get("ecosystem", "")).startswith("PyPI"):
            continue
        ranges = [r for r in (_parse_range(rid, raw, notes) for raw in entry.get("ranges") or ()) if r]
        versions = frozenset(canonical_version(str(v)) for v in entry.get("versions") or ())
        affected.append(Affected(normalize_name(package["name"]), tuple(ranges), versions))
    aliases = data.get("aliases") or ()
    withdrawn = data.get("withdrawn")
    modified = data.get("modified")
    return Advisory(
        id=rid.strip(),
        aliases=tuple(str(a) for a in aliases if isinstance(a, str | int)),
        summary=_summary(data),
        affected=tuple(affected),
        withdrawn=str(withdrawn) if withdrawn else None,
        severity=_severity(data),
        modified=str(modified) if modified else None,
        origin=origin,
        notes=tuple(notes),
    )


def stub_advisory(vuln_id: str, origin: str, reason: str) -> Advisory:
    """A stand-in for an advisory a source reported but whose record could not be read."""
    return Advisory(
        id=vuln_id,
        summary=f"(the advisory's record could not be read: {reason})",
        origin=origin,
        complete=False,
    )


def to_compact(adv: Advisory) -> dict[str, Any]:
    """The JSON shape the local index stores (short keys, sorted versions)."""
    return {
        "i": adv.id,
        "a": list(adv.aliases),
        "s": adv.summary,
        "w": adv.withdrawn,
        "v": adv.severity,
        "m": adv.modified,
        "o": adv.origin,
        "f": [
            [a.package, [[list(e) for e in r.events] for r in a.ranges], sorted(a.versions)]
            for a in adv.affected
        ],
    }


def from_compact(data: dict[str, Any]) -> Advisory:
    """Rebuild an :class:`Advisory` from :func:`to_compact`'s shape."""
    return Advisory(
        id=data["i"],
        aliases=tuple(data["a"]),
        summary=data["s"],
        withdrawn=data["w"],
        severity=data["v"],
        modified=data["m"],
        origin=data["o"],
        affected=tuple(
            Affected(
                pkg, tuple(VersionRange(tuple((k, v) for k, v in r)) for r in ranges), frozenset(versions)
            )
            for pkg, ranges, versions in data["f"]
        ),
    )
