"""``poetry.lock``: every lock-version (pre-1.0 without one, 1.0/1.1 with ``[metadata.files]``, 2.x).

Hashes live in three places across versions: per-package ``files`` (2.x), ``[metadata.files]``
(1.x, keyed by name) and ``[metadata.hashes]`` (pre-1.0, bare hashes without file names).
"""

from __future__ import annotations

from typing import Any

from envkernels.discovery.layout import normalize_name
from envkernels.lockfiles._common import artifact_from_file, load_toml, require_table, unsupported_version
from envkernels.lockfiles.model import Lock, LockedArtifact, LockedPackage

SUPPORTED_MAJORS = ("1", "2")


def parse_poetry_lock(text: str, path: str) -> Lock:
    """Read poetry.lock text."""
    data = load_toml(text, path, "poetry.lock")
    meta = require_table(data.get("metadata", {}), path, "poetry.lock")
    version = meta.get("lock-version")
    if version is not None and str(version).split(".")[0] not in SUPPORTED_MAJORS:
        raise unsupported_version(path, "poetry.lock", version, "lock-version 1.x and 2.x, and pre-1.0 files")
    files_by_name = {normalize_name(k): v for k, v in (meta.get("files") or {}).items()}
    hashes_by_name = {normalize_name(k): v for k, v in (meta.get("hashes") or {}).items()}
    packages = []
    for raw in data.get("package", []):
        p = require_table(raw, path, "poetry.lock")
        key = normalize_name(p["name"])
        files = p.get("files") or files_by_name.get(key) or []
        artifacts: list[LockedArtifact] = [
            artifact_from_file(f.get("file"), f.get("url"), [f["hash"]] if f.get("hash") else [])
            for f in files
        ]
        if not artifacts and hashes_by_name.get(key):
            bare = [h if ":" in h else f"sha256:{h}" for h in hashes_by_name[key]]
            artifacts = [artifact_from_file(None, None, bare)]
        packages.append(_package(p, tuple(artifacts)))
    return Lock(
        path=path,
        format="poetry",
        packages=tuple(packages),
        lock_version=str(version) if version is not None else "pre-1.0",
        created_by="poetry",
    )


def _marker(p: dict[str, Any]) -> str | None:
    # pre-1.0: `marker`; 2.1: `markers` (a string, or a table keyed by group).
    m = p.get("markers", p.get("marker"))
    if isinstance(m, dict):
        values = [str(v) for v in m.values() if v]
        return " or ".join(f"({v})" for v in values) if values else None
    return str(m) if m else None


def _package(p: dict[str, Any], artifacts: tuple[LockedArtifact, ...]) -> LockedPackage:
    source = p.get("source") or {}
    stype = source.get("type")
    vcs = directory = archive = None
    editable = False
    index = None
    if stype == "git":
        vcs = {
            "type": "git",
            "url": source.get("url", ""),
            "commit-id": source.get("resolved_reference", ""),
            "requested-revision": source.get("reference", ""),
        }
    elif stype == "directory":
        editable = bool(p.get("develop"))
        directory = {"path": source.get("url", ""), "editable": editable}
    elif stype in ("file", "url"):
        archive = {"url": source.get("url")}
    elif stype == "legacy":
        index = source.get("url")
    groups = p.get("groups") or ([p["category"]] if p.get("category") else [])
    deps = []
    for name, spec in (p.get("dependencies") or {}).items():
        specs = spec if isinstance(spec, list) else [spec]
        for s in specs:
            marker = s.get("markers") if isinstance(s, dict) else None
            deps.append((name, marker, None))
    return LockedPackage(
        name=p["name"],
        version=p.get("version"),
        marker=_marker(p),
        artifacts=artifacts,
        vcs=vcs,
        directory=directory,
        editable=editable,
        groups=tuple(groups),
        dependencies=tuple(deps),
        index=index,
        archive=archive,
    )
