"""``pdm.lock`` (lock_version 4.x): packages with groups, markers and ``files`` hashes."""

from __future__ import annotations

from typing import Any

from envkernels.core.layout import normalize_name
from envkernels.lockfiles._common import Fields, artifact_from_file, load_toml, unsupported_version
from envkernels.lockfiles.model import Lock, LockedPackage

SUPPORTED_MAJORS = ("3", "4")


def parse_pdm_lock(text: str, path: str) -> Lock:
    """Read pdm.lock text; a package listed once per extra is merged into one entry."""
    data = load_toml(text, path, "pdm.lock")
    f = Fields(path, "pdm.lock")
    meta = f.table(data.get("metadata"), "metadata")
    version = meta.get("lock_version")
    if not isinstance(version, str) or version.split(".")[0] not in SUPPORTED_MAJORS:
        raise unsupported_version(path, "pdm.lock", version, "lock_version 3.x and 4.x")
    merged: dict[tuple[str, str | None], LockedPackage] = {}
    for p in f.tables(data.get("package"), "package"):
        pkg = _package(p, f)
        key = (normalize_name(pkg.name), pkg.version)
        if key in merged:  # pdm repeats a package for `name[extra]`; keep the first, union the groups
            old = merged[key]
            groups = tuple(dict.fromkeys(old.groups + pkg.groups))
            merged[key] = LockedPackage(**{**old.__dict__, "groups": groups})
        else:
            merged[key] = pkg
    targets = [
        f.string(t.get("requires_python"), "metadata.targets.requires_python")
        for t in f.tables(meta.get("targets"), "metadata.targets")
    ]
    return Lock(
        path=path,
        format="pdm",
        packages=tuple(merged.values()),
        requires_python=next((t for t in targets if t), None),
        lock_version=version,
        created_by="pdm",
    )


def _package(p: dict[str, Any], f: Fields) -> LockedPackage:
    name = f.required(p, "name")
    artifacts = []
    for entry in f.tables(p.get("files"), "files", name):
        digest = f.string(entry.get("hash"), "files.hash", name)
        artifacts.append(
            artifact_from_file(
                f.string(entry.get("file"), "files.file", name),
                f.string(entry.get("url"), "files.url", name),
                [digest] if digest else [],
            )
        )
    vcs: dict[str, str] | None = None
    directory: dict[str, object] | None = None
    archive: dict[str, object] | None = None
    editable = p.get("editable") is True
    git = f.string(p.get("git"), "git", name)
    local = f.string(p.get("path"), "path", name)
    url = f.string(p.get("url"), "url", name)
    if git:
        vcs = {
            "type": "git",
            "url": git,
            "commit-id": f.string(p.get("revision"), "revision", name) or "",
            "requested-revision": f.string(p.get("ref"), "ref", name) or "",
        }
    elif local:
        directory = {"path": local, "editable": editable}
    elif url:
        archive = {"url": url}
    return LockedPackage(
        name=name,
        version=f.string(p.get("version"), "version", name),
        marker=f.string(p.get("marker"), "marker", name),
        requires_python=f.string(p.get("requires_python"), "requires_python", name) or None,
        artifacts=tuple(artifacts),
        vcs=vcs,
        directory=directory,
        editable=editable,
        groups=tuple(f.strings(p.get("groups"), "groups", name)),
        archive=archive,
    )
