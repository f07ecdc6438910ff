"""Every verdict agrees with the database: a few hundred (package, version) pairs drawn from the real
PyPI advisory snapshot, audited through the local source and compared with ``osv_plain``'s reading.

The records are every advisory of 124 packages copied into tests/data/osv-sample (CC-BY 4.0, see its
README); ``$ENVKERNELS_OSV_SNAPSHOT`` names a full copy of the database (2,600+ records) to run the
same comparison on all of it. The comparison also runs on the advisories in tests/data/osv.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import yaml
from osv_plain import norm, plain_audit, ver

from envkernels.audit.matching import match_package
from envkernels.audit.sources.interface import Dependency
from envkernels.audit.sources.osv_local import OsvLocalSource

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "osv-sample"
SNAPSHOT = Path(os.environ.get("ENVKERNELS_OSV_SNAPSHOT") or SAMPLE)


def _records_by_package(db: Path, packages: set[str] | None = None) -> dict[str, list[dict]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    found: dict[str, list[dict]] = {}
    for folder in sorted((db / "vulns").iterdir()):
        if packages is not None and norm(folder.name) not in packages:
            continue
        for path in sorted(folder.glob("*.yaml")):
            record = yaml.load(path.read_bytes(), Loader=loader)
            for entry in record.get("affected", []):
                found.setdefault(norm(entry["package"]["name"]), []).append(record)
    return found


def _draw_pairs(
    by_package: dict[str, list[dict]], rng: random.Random, per_package: int, all_boundaries: bool = False
) -> list[tuple[str, str]]:
    """Versions around the records' own boundaries (events and their neighbours) and listed versions.

    ``all_boundaries`` takes every boundary (then fills up to ``per_package`` with listed ones);
    otherwise ``per_package`` are drawn from both together.
    """
    pairs = []
    for pkg in sorted(by_package):
        boundaries: set[str] = {"9999.0"}
        listed: set[str] = set()
        for record in by_package[pkg]:
            for entry in record.get("affected", []):
                if norm(entry["package"]["name"]) != pkg:
                    continue
                listed.update(str(v) for v in entry.get("versions", [])[:50])
                for rng_ in entry.get("ranges", []):
                    if rng_.get("type") != "ECOSYSTEM":
                        continue
                    for event in rng_["events"]:
                        ((_, raw),) = event.items()
                        if ver(str(raw)) is not None and raw != "0":
                            boundaries.update({str(raw), f"{raw}.post1", f"{raw}rc1"})
        if all_boundaries:
            rest = sorted(listed - boundaries)
            picked = sorted(boundaries) + rng.sample(
                rest, max(0, min(per_package - len(boundaries), len(rest)))
            )
        else:
            pool = sorted(boundaries | listed)
            picked = rng.sample(pool, min(per_package, len(pool)))
        pairs.extend((pkg, v) for v in picked)
    return pairs


def _compare(
    source: OsvLocalSource, by_package: dict[str, list[dict]], pairs: list[tuple[str, str]]
) -> tuple[int, int]:
    affected_pairs = clean_pairs = 0
    answer = source.query([Dependency(p, v) for p, v in pairs])
    for pkg, version in pairs:
        plain = plain_audit(by_package[pkg], pkg, version)
        ours = match_package(answer.advisories.get(pkg, ()), pkg, pkg, version, source.label)
        named = {i for v in ours for i in (v.id, *v.aliases)}
        assert set(plain) <= named, (pkg, version, sorted(plain), ours)
        assert {v.id for v in ours} <= set(plain), (pkg, version, sorted(plain), ours)
        for vuln in ours:
            members = set(plain) & {vuln.id, *vuln.aliases}
            expected = sorted({ver(f) for m in members for f in plain[m]})
            assert list(vuln.fixed_in) == [str(f) for f in expected], (pkg, version, vuln, plain)
        if plain:
            affected_pairs += 1
        else:
            clean_pairs += 1
    return affected_pairs, clean_pairs


def test_copied_advisories_agree_with_the_plain_reading(osv_db: Path, tmp_path: Path):
    by_package = _records_by_package(osv_db)
    pairs = _draw_pairs(by_package, random.Random(7), per_package=40, all_boundaries=True)
    affected, clean = _compare(OsvLocalSource(osv_db, cache_root=tmp_path), by_package, pairs)
    assert affected >= 20 and clean >= 10


def test_few_hundred_snapshot_pairs_agree_with_the_plain_reading(tmp_path: Path):
    rng = random.Random(20241010)
    folders = sorted(p.name for p in (SNAPSHOT / "vulns").iterdir() if p.is_dir())
    if SNAPSHOT == SAMPLE:  # the sample is already the drawn packages
        chosen = {norm(f) for f in folders}
    else:
        chosen = {norm(f) for f in rng.sample(folders, 120)}
        chosen |= {"requests", "urllib3", "django", "py", "paramiko"}
    by_package = _records_by_package(SNAPSHOT, chosen)
    pairs = _draw_pairs(by_package, rng, per_package=3)
    assert len(pairs) >= 300
    affected, clean = _compare(OsvLocalSource(SNAPSHOT, cache_root=tmp_path), by_package, pairs)
    assert affected >= 100 and clean >= 30
