"""``Pipfile.lock`` (pipfile-spec 6): the ``default`` and ``develop`` sections."""

from __future__ import annotations

import json
from typing import Any

from envkernels.errors import BadInputError
from envkernels.lockfiles._common import artifact_from_file, unsupported_version
from envkernels.lockfiles.model import Lock, LockedPackage

SUPPORTED = (6,)


def parse_pipfile_lock(text: str, path: str) -> Lock:
    """Read Pipfile.lock text (JSON)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadInputError(
            f"`{path}` is not valid JSON ({exc})", hint="regenerate it with `pipenv lock`"
        ) from exc
    if not isinstance(data, dict) or "_meta" not in data:
        raise BadInputError(
            f"`{path}` is not a Pipfile.lock (no `_meta`)", hint="regenerate it with `pipenv lock`"
        )
    spec = data["_meta"].get("pipfile-spec")
    if spec not in SUPPORTED:
        raise unsupported_version(path, "Pipfile.lock", spec, "pipfile-spec 6")
    packages: list[LockedPackage] = []
    for section in ("default", "develop"):
        for name, entry in (data.get(section) or {}).items():
            packages.append(_package(name, entry, section))
    py = (data["_meta"].get("requires") or {}).get("python_version")
    return Lock(
        path=path,
        format="pipfile",
        packages=tuple(packages),
        requires_python=f"=={py}.*" if py else None,
        lock_version=str(spec),
        created_by="pipenv",
    )


def _package(name: str, e: dict[str, Any], section: str) -> LockedPackage:
    version = e.get("version")
    if isinstance(version, str) and version.startswith("=="):
        version = version[2:].lstrip("=")
    hashes = list(e.get("hashes") or [])
    artifacts = (artifact_from_file(None, None, hashes),) if hashes else ()
    vcs = directory = archive = None
    editable = bool(e.get("editable"))
    if e.get("git"):
        vcs = {"type": "git", "url": e["git"], "commit-id": e.get("ref", "")}
    elif e.get("path"):
        directory = {"path": e["path"], "editable": editable}
    elif e.get("file"):
        archive = {"url": e["file"]}
    return LockedPackage(
        name=name,
        version=version or None,
        marker=e.get("markers") or None,
        artifacts=artifacts,
        vcs=vcs,
        directory=directory,
        editable=editable,
        groups=(section,),
        index=e.get("index"),
        archive=archive,
    )
