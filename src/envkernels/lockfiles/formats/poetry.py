"""``poetry.lock``: every lock-version (pre-1.0 without one, 1.0/1.1 with ``[metadata.files]``, 2.x).

Hashes live in three places across versions: per-package ``files`` (2.x), ``[metadata.files]``
(1.x, keyed by name) and ``[metadata.hashes]`` (pre-1.0, bare hashes without file names).
"""

from __future__ import annotations

from typing import Any

from envkernels.core.layout import normalize_name
from envkernels.errors import BadInputError
from envkernels.lockfiles._common import Fields, artifact_from_file, load_toml, unsupported_version
from envkernels.lockfiles.model import Lock, LockedArtifact, LockedPackage

SUPPORTED_MAJORS = ("1", "2")


def parse_poetry_lock(text: str, path: str) -> Lock:
    """Read poetry.lock text."""
    data = load_toml(text, path, "poetry.lock")
    f = Fields(path, "poetry.lock")
    if "metadata" not in data:
        raise BadInputError(
            f"`{path}` is not a poetry.lock (it has no `[metadata]` table)",
            hint="regenerate it with `poetry lock`",
        )
    meta = f.table(data.get("metadata"), "metadata")
    version = meta.get("lock-version")
    known = isinstance(version, str) and version.split(".")[0] in SUPPORTED_MAJORS
    if version is not None and not known:
        raise unsupported_version(path, "poetry.lock", version, "lock-version 1.x and 2.x, and pre-1.0 files")
    files_by_name = {
        normalize_name(k): f.tables(v, "metadata.files", k)
        for k, v in f.table(meta.get("files"), "metadata.files").items()
    }
    hashes_by_name = {
        normalize_name(k): f.strings(v, "metadata.hashes", k)
        for k, v in f.table(meta.get("hashes"), "metadata.hashes").items()
    }
    packages = []
    for p in f.tables(data.get("package"), "package"):
        name = f.required(p, "name")
        key = normalize_name(name)
        files = f.tables(p.get("files"), "files", name) or files_by_name.get(key) or []
        artifacts: list[LockedArtifact] = []
        for entry in files:
            digest = f.string(entry.get("hash"), "files.hash", name)
            artifacts.append(
                artifact_from_file(
                    f.string(entry.get("file"), "files.file", name),
                    f.string(entry.get("url"), "files.url", name),
                    [digest] if digest else [],
                )
            )
        if not artifacts and hashes_by_name.get(key):
            bare = [h if ":" in h else f"sha256:{h}" for h in hashes_by_name[key]]
            artifacts = [artifact_from_file(None, None, bare)]
        packages.append(_package(p, name, tuple(artifacts), f))
    return Lock(
        path=path,
        format="poetry",
        packages=tuple(packages),
        lock_version=version if version is not None else "pre-1.0",
        created_by="poetry",
    )


def _marker(p: dict[str, Any], name: str, f: Fields) -> str | None:
    # pre-1.0: `marker`; 2.1: `markers` (a string, or a table keyed by group).
    m = p.get("markers", p.get("marker"))
    if isinstance(m, dict):
        values = [f.string(v, "markers", name) for v in m.values()]
        present = [v for v in values if v]
        return " or ".join(f"({v})" for v in present) if present else None
    return f.string(m, "markers", name) or None


def _package(p: dict[str, Any], name: str, artifacts: tuple[LockedArtifact, ...], f: Fields) -> LockedPackage:
    source = f.table(p.get("source"), "source", name)
    stype = source.get("type")
    url = f.string(source.get("url"), "source.url", name)
    vcs: dict[str, str] | None = None
    directory: dict[str, object] | None = None
    archive: dict[str, object] | None = None
    editable = False
    index = None
    if stype == "git":
        vcs = {
            "type": "git",
            "url": url or "",
            "commit-id": f.string(source.get("resolved_reference"), "source.resolved_reference", name) or "",
            "requested-revision": f.string(source.get("reference"), "source.reference", name) or "",
        }
    elif stype == "directory":
        editable = p.get("develop") is True
        directory = {"path": url or "", "editable": editable}
    elif stype in ("file", "url"):
        archive = {"url": url}
    elif stype == "legacy":
        index = url
    category = f.string(p.get("category"), "category", name)
    groups = f.strings(p.get("groups"), "groups", name) or ([category] if category else [])
    deps = []
    for dep, spec in f.table(p.get("dependencies"), "dependencies", name).items():
        specs = spec if isinstance(spec, list) else [spec]
        for s in specs:
            marker = f.string(s.get("markers"), "dependencies.markers", name) if isinstance(s, dict) else None
            deps.append((dep, marker, None))
    return LockedPackage(
        name=name,
        version=f.string(p.get("version"), "version", name),
        marker=_marker(p, name, f),
        artifacts=artifacts,
        vcs=vcs,
        directory=directory,
        editable=editable,
        groups=tuple(groups),
        dependencies=tuple(deps),
        index=index,
        archive=archive,
    )
