"""A plain, independent reading of OSV records, to check envkernels' matcher against.

Written from the OSV schema's prose, deliberately not like the product's event sweep: a range is
read as intervals. Each ``introduced`` opens an interval that the nearest ``fixed`` or
``last_affected`` at or above it closes (``fixed`` excluded, ``last_affected`` included); a
version at or above a ``limit`` is outside the range. A version is affected when it falls in an
interval or equals (PEP 440) an entry of ``versions``. Withdrawn records affect nothing.
``fixed_in``: for each range that affects the version (or every range, when only ``versions``
matched), the smallest ``fixed`` above the version.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache  # the benchmark's server asks the same versions again and again
def ver(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def load_records(db: Path, package: str) -> list[dict]:
    """Every record under ``db`` whose folder or affected package is ``package``."""
    out = []
    for path in sorted(db.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if any(norm(a["package"]["name"]) == norm(package) for a in data.get("affected", [])):
            out.append(data)
    return out


def _in_range(events: list[dict], v: Version) -> bool:
    opens, closes, limits = [], [], []
    for event in events:
        ((kind, raw),) = event.items()
        if kind == "introduced":
            opens.append(Version("0") if raw == "0" else ver(raw))
        elif kind in ("fixed", "last_affected"):
            closes.append((ver(raw), kind))
        elif kind == "limit" and raw != "*":
            limits.append(ver(raw))
    if limits and all(v >= lim for lim in limits if lim is not None):
        return False
    for start in opens:
        if start is None or v < start:
            continue
        ends = sorted((c for c in closes if c[0] is not None and c[0] >= start), key=lambda c: c[0])
        # At one version a `fixed` and a new `introduced` can meet: that fixed closes nothing here.
        ends = [c for c in ends if not (c[1] == "fixed" and c[0] == start)]
        if not ends:
            return True
        end, kind = ends[0]
        if (kind == "fixed" and v < end) or (kind == "last_affected" and v <= end):
            return True
    return False


def plain_verdict(record: dict, package: str, version: str) -> tuple[bool, list[Version]]:
    """``(affected, fixed_in)`` of one record for ``package`` at ``version``."""
    if record.get("withdrawn"):
        return False, []
    v = ver(version)
    affected = False
    fixes: list[Version] = []
    for entry in record.get("affected", []):
        if norm(entry["package"]["name"]) != norm(package) or entry["package"].get("ecosystem") != "PyPI":
            continue
        ranges = [r for r in entry.get("ranges", []) if r.get("type") == "ECOSYSTEM"]
        listed = any(
            str(x) == version or (v is not None and ver(str(x)) is not None and ver(str(x)) == v)
            for x in entry.get("versions", [])
        )
        hits = [r for r in ranges if v is not None and _in_range(r["events"], v)]
        if not hits and not listed:
            continue
        affected = True
        if v is None:
            continue
        for rng in hits or ranges:
            above = [f for e in rng["events"] if "fixed" in e and (f := ver(str(e["fixed"]))) and f > v]
            if above:
                fixes.append(min(above))
    return affected, fixes


def plain_audit(records: list[dict], package: str, version: str) -> dict[str, list[str]]:
    """Affected record id -> its fixed_in (sorted strings), for ``package`` at ``version``."""
    result = {}
    for record in records:
        hit, fixes = plain_verdict(record, package, version)
        if hit:
            result[record["id"]] = [str(f) for f in sorted(set(fixes))]
    return result
