"""``Pipfile.lock`` (pipfile-spec 6): the ``default`` and ``develop`` sections."""

from __future__ import annotations

from typing import Any

from envkernels.errors import BadInputError
from envkernels.lockfiles._common import Fields, artifact_from_file, load_json, unsupported_version
from envkernels.lockfiles.model import Lock, LockedPackage

SUPPORTED = (6,)
_HINT = "regenerate it with `pipenv lock`"


def parse_pipfile_lock(text: str, path: str) -> Lock:
    """Read Pipfile.lock text (JSON)."""
    data = load_json(text, path, "Pipfile.lock", _HINT)
    if not isinstance(data, dict) or "_meta" not in data:
        raise BadInputError(f"`{path}` is not a Pipfile.lock (no `_meta`)", hint=_HINT)
    f = Fields(path, "Pipfile.lock")
    meta = f.table(data["_meta"], "_meta")
    spec = meta.get("pipfile-spec")
    if spec not in SUPPORTED or isinstance(spec, bool):
        raise unsupported_version(path, "Pipfile.lock", spec, "pipfile-spec 6")
    packages: list[LockedPackage] = []
    for section in ("default", "develop"):
        for name, entry in f.table(data.get(section), section).items():
            packages.append(_package(name, f.table(entry, section, name), section, f))
    py = f.string(
        f.table(meta.get("requires"), "_meta.requires").get("python_version"), "_meta.requires.python_version"
    )
    return Lock(
        path=path,
        format="pipfile",
        packages=tuple(packages),
        requires_python=f"=={py}.*" if py else None,
        lock_version=str(spec),
        created_by="pipenv",
    )


def _package(name: str, e: dict[str, Any], section: str, f: Fields) -> LockedPackage:
    version = f.string(e.get("version"), "version", name)
    if version is not None and version.startswith("=="):
        version = version[2:].lstrip("=")
    hashes = f.strings(e.get("hashes"), "hashes", name)
    artifacts = (artifact_from_file(None, None, hashes),) if hashes else ()
    vcs: dict[str, str] | None = None
    directory: dict[str, object] | None = None
    archive: dict[str, object] | None = None
    editable = e.get("editable") is True
    git = f.string(e.get("git"), "git", name)
    local = f.string(e.get("path"), "path", name)
    file = f.string(e.get("file"), "file", name)
    if git:
        vcs = {"type": "git", "url": git, "commit-id": f.string(e.get("ref"), "ref", name) or ""}
    elif local:
        directory = {"path": local, "editable": editable}
    elif file:
        archive = {"url": file}
    return LockedPackage(
        name=name,
        version=version or None,
        marker=f.string(e.get("markers"), "markers", name) or None,
        artifacts=artifacts,
        vcs=vcs,
        directory=directory,
        editable=editable,
        groups=(section,),
        index=f.string(e.get("index"), "index", name),
        archive=archive,
    )
