"""PEP 751 ``pylock.toml``: validated with :mod:`packaging.pylock`, then mapped onto the Lock model."""

from __future__ import annotations

from typing import Any

from packaging.pylock import (
    Package,
    Pylock,
    PylockUnsupportedVersionError,
    PylockValidationError,
)

from envkernels.errors import BadInputError
from envkernels.lockfiles._common import Fields, artifact_kind, load_toml
from envkernels.lockfiles.model import Lock, LockedArtifact, LockedPackage


def parse_pylock(text: str, path: str, *, origin: str = "file") -> Lock:
    """Read pylock.toml text (``path`` names it in errors)."""
    data = load_toml(text, path, "pylock.toml")
    pylock = validate_pylock(data, path)
    packages = tuple(_package(p) for p in pylock.packages)
    warnings: tuple[str, ...] = ()
    # envkernels writes what it could not hash under [tool.envkernels] missing; they are still pinned.
    f = Fields(path, "pylock.toml")
    tool = f.table(pylock.tool, "tool")
    missing = f.tables(
        f.table(tool.get("envkernels"), "tool.envkernels").get("missing"), "tool.envkernels.missing"
    )
    if missing:
        packages += tuple(
            LockedPackage(name=f.required(m, "name"), version=f.required(m, "version", m.get("name")))
            for m in missing
        )
        warnings = (f"{len(missing)} packages carry no hash (listed under [tool.envkernels] missing)",)
    return Lock(
        path=path,
        format="pylock",
        packages=packages,
        requires_python=str(pylock.requires_python) if pylock.requires_python else None,
        lock_version=str(pylock.lock_version),
        created_by=pylock.created_by,
        environments=tuple(str(m) for m in pylock.environments or ()),
        origin=origin,
        text=text,
        warnings=warnings,
    )


def validate_pylock(data: dict[str, Any], path: str) -> Pylock:
    """``packaging.pylock.Pylock.from_dict`` with its errors turned into BadInputError."""
    try:
        return Pylock.from_dict(data)
    except PylockUnsupportedVersionError as exc:
        raise BadInputError(
            f"`{path}`: {exc}",
            hint="this pylock.toml was written for a newer PEP 751 version; upgrade envkernels and packaging",
        ) from exc
    except PylockValidationError as exc:
        raise BadInputError(
            f"`{path}` is not a valid PEP 751 lock: {exc}",
            hint="regenerate it (`envkernels lock`, `uv export --format pylock.toml` or `pip lock`)",
        ) from exc


def _hashes(h: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k).lower(), str(v).lower()) for k, v in (h or {}).items()))


def _package(p: Package) -> LockedPackage:
    artifacts: list[LockedArtifact] = []
    for w in p.wheels or ():
        artifacts.append(
            LockedArtifact(
                kind="wheel", url=w.url, path=w.path, filename=w.filename, hashes=_hashes(w.hashes)
            )
        )
    if p.sdist is not None:
        s = p.sdist
        artifacts.append(
            LockedArtifact(
                kind="sdist", url=s.url, path=s.path, filename=s.filename, hashes=_hashes(s.hashes)
            )
        )
    archive: dict[str, object] | None = None
    if p.archive is not None:
        a = p.archive
        name = (a.url or a.path or "").rsplit("/", 1)[-1] or None
        artifacts.append(
            LockedArtifact(kind="archive", url=a.url, path=a.path, filename=name, hashes=_hashes(a.hashes))
        )
        archive = {"url": a.url, "path": a.path, "subdirectory": a.subdirectory}
        if name and artifact_kind(name) != "archive":
            archive["kind"] = artifact_kind(name)
    vcs = None
    if p.vcs is not None:
        v = p.vcs
        vcs = {
            k: val
            for k, val in (
                ("type", v.type),
                ("url", v.url),
                ("path", v.path),
                ("requested-revision", v.requested_revision),
                ("commit-id", v.commit_id),
                ("subdirectory", v.subdirectory),
            )
            if val
        }
    directory = None
    editable = False
    if p.directory is not None:
        directory = {"path": p.directory.path, "editable": bool(p.directory.editable)}
        if p.directory.subdirectory:
            directory["subdirectory"] = p.directory.subdirectory
        editable = bool(p.directory.editable)
    return LockedPackage(
        name=str(p.name),
        version=str(p.version) if p.version is not None else None,
        marker=str(p.marker) if p.marker is not None else None,
        requires_python=str(p.requires_python) if p.requires_python is not None else None,
        artifacts=tuple(artifacts),
        vcs=vcs,
        directory=directory,
        editable=editable,
        index=p.index,
        archive=archive,
    )
