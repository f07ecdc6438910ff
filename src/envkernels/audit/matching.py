"""Does an advisory affect an installed version? The OSV schema's own algorithm, under PEP 440.

For one ``affected`` entry a version is affected when it is in the entry's ``versions`` list
(compared in PEP 440 canonical form) or inside one of its ``ECOSYSTEM`` ranges. A range is read
as the schema says: its ``limit`` events aside, the events are sorted by version (``introduced:
"0"`` first) and walked in order; ``introduced`` at or below the version turns "affected" on,
``fixed`` at or below it and ``last_affected`` below it turn it off; a version at or past every
``limit`` is outside the range. Withdrawn advisories affect nothing.

``fixed_in`` is, for every range that affects the version, the smallest ``fixed`` above it (the
release that closes the interval the version sits in); when only the ``versions`` list matched,
the smallest ``fixed`` above the version of each range. Matches of one package are merged into
one :class:`Vulnerability` per vulnerability: advisories whose ids or aliases meet (PYSEC, GHSA,
CVE naming the same flaw) become one, under the preferred id.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from packaging.version import InvalidVersion, Version

from envkernels.audit.records import Advisory, Affected, VersionRange, canonical_version
from envkernels.model import Vulnerability

# Preferred primary ids, best first: the PyPI database's own, then GitHub's, then anything.
_ID_PREFERENCE = ("PYSEC-", "GHSA-", "CVE-")
# At one version, a `fixed` closes before an `introduced` reopens ([0, 1.0) then [1.0, ...)).
_KIND_ORDER = {"fixed": 0, "introduced": 1, "last_affected": 2}
_ZERO = Version("0")


@functools.lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """``Version(text)``, or None for a string PEP 440 cannot read (cached: ranges repeat a lot)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


@functools.lru_cache(maxsize=16384)
def _sorted_events(rng: VersionRange) -> tuple[list[tuple[str, Version | None]], list[Version]]:
    events: list[tuple[str, Version | None]] = []
    limits: list[Version] = []
    for kind, raw in rng.events:
        if kind == "limit":
            if raw != "*" and (lim := parse_version(raw)) is not None:
                limits.append(lim)
            continue
        if kind == "introduced" and raw == "0":
            events.append((kind, None))  # None sorts first: below every version
            continue
        parsed = parse_version(raw)
        if parsed is not None:
            events.append((kind, parsed))
    events.sort(key=lambda e: (e[1] is not None, e[1] or _ZERO, _KIND_ORDER.get(e[0], 3)))
    return events, limits


def range_affects(rng: VersionRange, version: Version) -> bool:
    """True when ``version`` lies inside ``rng`` (the OSV schema's ``includes``)."""
    events, limits = _sorted_events(rng)  # cached per range: ranges are frozen
    if limits and not any(version < lim for lim in limits):
        return False
    affected = False
    for kind, at in events:
        if kind == "introduced":
            if at is None or version >= at:
                affected = True
        elif kind == "fixed":
            if at is not None and version >= at:
                affected = False
        elif kind == "last_affected" and at is not None and version > at:
            affected = False
    return affected


def _smallest_fixed_above(rng: VersionRange, version: Version) -> Version | None:
    above = [v for kind, raw in rng.events if kind == "fixed" and (v := parse_version(raw)) and v > version]
    return min(above) if above else None


def affected_entry_match(entry: Affected, version: str) -> tuple[bool, list[Version]]:
    """``(affected, fixed_in)`` of one ``affected`` entry for the installed ``version``."""
    parsed = parse_version(version)
    listed = canonical_version(version) in entry.versions
    hits: list[VersionRange] = []
    if parsed is not None:
        hits = [r for r in entry.ranges if range_affects(r, parsed)]
    if not hits and not listed:
        return False, []
    if parsed is None:
        return True, []
    fixes = (_smallest_fixed_above(r, parsed) for r in (hits or entry.ranges))
    return True, [f for f in fixes if f is not None]


def advisory_match(adv: Advisory, package: str, version: str) -> tuple[bool, list[Version]]:
    """``(affected, fixed_in)`` of an advisory for ``package`` (normalized) at ``version``."""
    if adv.withdrawn:
        return False, []
    hit = False
    fixes: list[Version] = []
    for entry in adv.affected:
        if entry.package != package:
            continue
        affected, entry_fixes = affected_entry_match(entry, version)
        if affected:
            hit = True
            fixes.extend(entry_fixes)
    return hit, fixes


def _primary_id(ids: Iterable[str]) -> str:
    def rank(i: str) -> tuple[int, str]:
        for n, prefix in enumerate(_ID_PREFERENCE):
            if i.startswith(prefix):
                return n, i
        return len(_ID_PREFERENCE), i

    return min(ids, key=rank)


def merge_matches(
    package: str,
    version: str,
    matches: Sequence[tuple[Advisory, Sequence[Version]]],
    source: str,
) -> list[Vulnerability]:
    """One :class:`Vulnerability` per group of matched advisories whose ids and aliases meet."""
    groups: list[tuple[set[str], list[tuple[Advisory, Sequence[Version]]]]] = []
    for adv, fixes in matches:
        names = {adv.id, *adv.aliases}
        joined = [g for g in groups if g[0] & names]
        merged_names, merged = set(names), [(adv, fixes)]
        for g in joined:
            merged_names |= g[0]
            merged.extend(g[1])
            groups.remove(g)
        groups.append((merged_names, merged))
    result: list[Vulnerability] = []
    for names, members in groups:
        primary = _primary_id(a.id for a, _ in members)
        lead = next(a for a, _ in members if a.id == primary)
        summary = next((a.summary for a, _ in members if a.complete and a.summary), lead.summary)
        fixed = sorted({f for _, fixes in members for f in fixes})
        result.append(
            Vulnerability(
                package=package,
                version=version,
                id=primary,
                aliases=tuple(sorted(names - {primary})),
                summary=summary,
                fixed_in=tuple(str(f) for f in fixed),
                source=source,
                severity=next((a.severity for a, _ in members if a.severity), None),
                url=lead.url,
            )
        )
    return sorted(result, key=lambda v: v.id)


def match_package(
    advisories: Iterable[Advisory],
    package: str,
    name: str,
    version: str,
    source: str,
    reported: frozenset[str] = frozenset(),
) -> list[Vulnerability]:
    """The vulnerabilities of ``name`` (``package`` is its normalized form) at ``version``.

    ``reported`` are ids a service (the OSV API) says affect this version: they are kept even
    where the record's ranges do not say so (never drop what the source reported), with
    ``fixed_in`` read from the record as far as it goes.
    """
    matches: list[tuple[Advisory, Sequence[Version]]] = []
    seen: set[str] = set()
    for adv in advisories:
        if adv.id in seen:
            continue
        seen.add(adv.id)
        hit, fixes = advisory_match(adv, package, version)
        if not hit and adv.id in reported and not adv.withdrawn:
            hit = True
            parsed = parse_version(version)
            if parsed is not None:
                for entry in adv.affected:
                    if entry.package == package:
                        fixes.extend(f for r in entry.ranges if (f := _smallest_fixed_above(r, parsed)))
        if hit:
            matches.append((adv, fixes))
    return merge_matches(name, version, matches, source)
