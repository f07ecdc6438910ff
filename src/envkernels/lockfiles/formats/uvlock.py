"""``uv.lock`` (version 1, any revision): packages with their sources, artifacts and marker-carrying edges.

uv.lock keeps markers on dependency edges, not on packages; the edges are kept in
``LockedPackage.dependencies`` so :func:`envkernels.lockfiles.select.applicable_packages` can walk
them from the project's roots. A package locked at several versions (a fork) carries the OR of its
``resolution-markers`` as its marker.
"""

from __future__ import annotations

from typing import Any

from envkernels.lockfiles._common import Fields, artifact_from_file, load_toml, unsupported_version
from envkernels.lockfiles.model import Lock, LockedPackage

SUPPORTED = (1,)


def parse_uv_lock(text: str, path: str) -> Lock:
    """Read uv.lock text."""
    data = load_toml(text, path, "uv.lock")
    version = data.get("version")
    if version not in SUPPORTED or isinstance(version, bool):
        raise unsupported_version(path, "uv.lock", version, "version 1")
    f = Fields(path, "uv.lock")
    packages = tuple(_package(p, f) for p in f.tables(data.get("package"), "package"))
    revision = data.get("revision", 0)
    return Lock(
        path=path,
        format="uv",
        packages=packages,
        requires_python=f.string(data.get("requires-python"), "requires-python"),
        lock_version=f"{version}.{revision if isinstance(revision, int) else 0}",
        created_by="uv",
    )


def _or(markers: list[str]) -> str | None:
    if not markers:
        return None
    if len(markers) == 1:
        return markers[0]
    return " or ".join(f"({m})" for m in markers)


def _file(f: Fields, entry: dict[str, Any], field: str, name: str) -> Any:
    url = f.string(entry.get("url"), f"{field}.url", name)
    url = url or f.string(entry.get("path"), f"{field}.path", name)
    digest = f.string(entry.get("hash"), f"{field}.hash", name)
    return artifact_from_file(
        f.string(entry.get("filename"), f"{field}.filename", name), url, [digest] if digest else []
    )


def _edges(f: Fields, value: object, field: str, name: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (
            f.required(d, "name", name),
            f.string(d.get("marker"), f"{field}.marker", name),
            f.string(d.get("version"), f"{field}.version", name),
        )
        for d in f.tables(value, field, name)
    ]


def _package(p: dict[str, Any], f: Fields) -> LockedPackage:
    name = f.required(p, "name")
    source = f.table(p.get("source"), "source", name)
    artifacts = []
    if p.get("sdist") is not None:
        artifacts.append(_file(f, f.table(p.get("sdist"), "sdist", name), "sdist", name))
    for w in f.tables(p.get("wheels"), "wheels", name):
        artifacts.append(_file(f, w, "wheels", name))
    deps = _edges(f, p.get("dependencies"), "dependencies", name)
    # uv installs the `dev` group by default, so its edges count for what a sync installs.
    dev = f.table(p.get("dev-dependencies"), "dev-dependencies", name)
    deps += _edges(f, dev.get("dev"), "dev-dependencies.dev", name)
    vcs: dict[str, str] | None = None
    directory: dict[str, object] | None = None
    editable = False
    if "git" in source:
        git = f.string(source["git"], "source.git", name) or ""
        url, _, commit = git.partition("#")
        vcs = {"type": "git", "url": url.split("?", 1)[0], "commit-id": commit}
    elif "editable" in source:
        path = f.string(source["editable"], "source.editable", name)
        directory, editable = {"path": path, "editable": True}, True
    elif "directory" in source or "virtual" in source or ("path" in source and not artifacts):
        key = next(k for k in ("directory", "virtual", "path") if k in source)
        path = f.string(source[key], f"source.{key}", name)
        directory = {"path": path, "editable": False, "virtual": key == "virtual"}
    index = source.get("registry") if isinstance(source.get("registry"), str) else None
    return LockedPackage(
        name=name,
        version=f.string(p.get("version"), "version", name),
        marker=_or(f.strings(p.get("resolution-markers"), "resolution-markers", name)),
        artifacts=tuple(artifacts),
        vcs=vcs,
        directory=directory,
        editable=editable,
        dependencies=tuple(deps),
        index=index,
    )
