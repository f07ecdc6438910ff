"""``pdm.lock`` (lock_version 4.x): packages with groups, markers and ``files`` hashes."""

from __future__ import annotations

from typing import Any

from envkernels.discovery.layout import normalize_name
from envkernels.lockfiles._common import artifact_from_file, load_toml, require_table, unsupported_version
from envkernels.lockfiles.model import Lock, LockedPackage

SUPPORTED_MAJORS = ("3", "4")


def parse_pdm_lock(text: str, path: str) -> Lock:
    """Read pdm.lock text; a package listed once per extra is merged into one entry."""
    data = load_toml(text, path, "pdm.lock")
    meta = require_table(data.get("metadata", {}), path, "pdm.lock")
    version = meta.get("lock_version")
    if version is None or str(version).split(".")[0] not in SUPPORTED_MAJORS:
        raise unsupported_version(path, "pdm.lock", version, "lock_version 3.x and 4.x")
    merged: dict[tuple[str, str | None], LockedPackage] = {}
    for raw in data.get("package", []):
        p = require_table(raw, path, "pdm.lock")
        pkg = _package(p)
        key = (normalize_name(pkg.name), pkg.version)
        if key in merged:  # pdm repeats a package for `name[extra]`; keep the first, union the groups
            old = merged[key]
            groups = tuple(dict.fromkeys(old.groups + pkg.groups))
            merged[key] = LockedPackage(**{**old.__dict__, "groups": groups})
        else:
            merged[key] = pkg
    targets = [t.get("requires_python") for t in meta.get("targets", []) if isinstance(t, dict)]
    return Lock(
        path=path,
        format="pdm",
        packages=tuple(merged.values()),
        requires_python=next((t for t in targets if t), None),
        lock_version=str(version),
        created_by="pdm",
    )


def _package(p: dict[str, Any]) -> LockedPackage:
    artifacts = tuple(
        artifact_from_file(f.get("file"), f.get("url"), [f["hash"]] if f.get("hash") else [])
        for f in p.get("files", [])
    )
    vcs = directory = archive = None
    editable = bool(p.get("editable"))
    if p.get("git"):
        vcs = {
            "type": "git",
            "url": p["git"],
            "commit-id": p.get("revision", ""),
            "requested-revision": p.get("ref", ""),
        }
    elif p.get("path"):
        directory = {"path": p["path"], "editable": editable}
    elif p.get("url"):
        archive = {"url": p["url"]}
    return LockedPackage(
        name=p["name"],
        version=p.get("version"),
        marker=p.get("marker"),
        requires_python=p.get("requires_python") or None,
        artifacts=artifacts,
        vcs=vcs,
        directory=directory,
        editable=editable,
        groups=tuple(p.get("groups", ())),
        archive=archive,
    )
