"""``uv.lock`` (version 1, any revision): packages with their sources, artifacts and marker-carrying edges.

uv.lock keeps markers on dependency edges, not on packages; the edges are kept in
``LockedPackage.dependencies`` so :func:`envkernels.lockfiles.select.applicable_packages` can walk
them from the project's roots. A package locked at several versions (a fork) carries the OR of its
``resolution-markers`` as its marker.
"""

from __future__ import annotations

from typing import Any

from envkernels.lockfiles._common import artifact_from_file, load_toml, require_table, unsupported_version
from envkernels.lockfiles.model import Lock, LockedPackage

SUPPORTED = (1,)


def parse_uv_lock(text: str, path: str) -> Lock:
    """Read uv.lock text."""
    data = load_toml(text, path, "uv.lock")
    version = data.get("version")
    if version not in SUPPORTED:
        raise unsupported_version(path, "uv.lock", version, "version 1")
    packages = tuple(_package(require_table(p, path, "uv.lock"), path) for p in data.get("package", []))
    return Lock(
        path=path,
        format="uv",
        packages=packages,
        requires_python=data.get("requires-python"),
        lock_version=f"{version}.{data.get('revision', 0)}",
        created_by="uv",
    )


def _or(markers: list[str]) -> str | None:
    if not markers:
        return None
    if len(markers) == 1:
        return markers[0]
    return " or ".join(f"({m})" for m in markers)


def _package(p: dict[str, Any], path: str) -> LockedPackage:
    source = p.get("source") or {}
    artifacts = []
    sdist = p.get("sdist")
    if isinstance(sdist, dict):
        art = artifact_from_file(
            sdist.get("filename"),
            sdist.get("url") or sdist.get("path"),
            [sdist["hash"]] if sdist.get("hash") else [],
        )
        artifacts.append(art)
    for w in p.get("wheels", []):
        artifacts.append(
            artifact_from_file(
                w.get("filename"), w.get("url") or w.get("path"), [w["hash"]] if w.get("hash") else []
            )
        )
    deps: list[tuple[str, str | None, str | None]] = []
    for d in p.get("dependencies", []):
        deps.append((d["name"], d.get("marker"), d.get("version")))
    # uv installs the `dev` group by default, so its edges count for what a sync installs.
    for d in (p.get("dev-dependencies") or {}).get("dev", []):
        deps.append((d["name"], d.get("marker"), d.get("version")))
    vcs = directory = None
    editable = False
    if "git" in source:
        url, _, commit = source["git"].partition("#")
        vcs = {"type": "git", "url": url.split("?", 1)[0], "commit-id": commit}
    elif "editable" in source:
        directory, editable = {"path": source["editable"], "editable": True}, True
    elif "directory" in source or "virtual" in source or ("path" in source and not artifacts):
        key = next(k for k in ("directory", "virtual", "path") if k in source)
        directory = {"path": source[key], "editable": False, "virtual": key == "virtual"}
    index = source.get("registry") if isinstance(source.get("registry"), str) else None
    return LockedPackage(
        name=p["name"],
        version=p.get("version"),
        marker=_or(list(p.get("resolution-markers", []))),
        artifacts=tuple(artifacts),
        vcs=vcs,
        directory=directory,
        editable=editable,
        dependencies=tuple(deps),
        index=index,
    )
