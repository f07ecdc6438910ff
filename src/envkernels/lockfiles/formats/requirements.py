"""Pinned requirements files (``name==version``, ``--hash``, ``-e``), as pip-compile/uv export write them.

The syntax (continuations, comments, options) is ``envkernels.core.requirements_file``'s, shared with
the check's reading of a project's requirements files.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from envkernels._toml import tomllib
from envkernels.core import requirements_file
from envkernels.errors import BadInputError
from envkernels.lockfiles._common import split_hash
from envkernels.lockfiles.model import Lock, LockedArtifact, LockedPackage

# Options that only steer where pip finds packages: nothing to warn about in a lock.
_QUIET_OPTIONS = {
    "--index-url",
    "--extra-index-url",
    "--find-links",
    "--trusted-host",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--pre",
    "--no-index",
}


def _editable_name(target: str, path: str) -> str:
    """The project name of an ``-e`` line: ``#egg=NAME``, else the directory's pyproject ``[project] name``.

    Falls back to the directory's own name (validation then says when that is no distribution name).
    """
    if "#egg=" in target:
        return target.rsplit("#egg=", 1)[1].split("&", 1)[0]
    directory = target.split("#", 1)[0]
    if directory.startswith("file:"):
        directory = urllib.parse.unquote(urllib.parse.urlsplit(directory).path)
    base = Path(path).resolve().parent / directory
    try:
        project = tomllib.loads((base / "pyproject.toml").read_text(encoding="utf-8")).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        project = None
    if isinstance(project, dict) and isinstance(project.get("name"), str):
        return str(project["name"])
    return base.resolve().name


def looks_like_requirements(text: str) -> bool:
    """True when most logical lines parse as requirements or pip options."""
    lines = requirements_file.parse(text)
    if not lines:
        return False
    return sum(1 for line in lines if _plausible(line)) >= max(1, len(lines) * 0.8)


def _plausible(line: requirements_file.Line) -> bool:
    """A requirement packaging parses, or an option line (known or not: still pip's syntax)."""
    if line.kind == "requirement":
        return line.requirement is not None
    return line.kind != "invalid" or not line.value


def parse_requirements(text: str, path: str) -> Lock:
    """Read a pinned requirements file; an unparseable line is BadInputError naming the line."""
    packages: list[LockedPackage] = []
    warnings: list[str] = []
    for line in requirements_file.parse(text):
        number, body = line.number, line.text
        if line.kind == "editable":
            target = line.value
            name = _editable_name(target, path)
            packages.append(
                LockedPackage(
                    name=name, version=None, editable=True, directory={"path": target, "editable": True}
                )
            )
            warnings.append(
                f"line {number}: `{body}` is an editable install; it is not reproducible from a lock"
            )
            continue
        if line.kind in ("include", "constraint"):
            warnings.append(f"line {number}: `{body}` (an included file) is not followed")
            continue
        if line.kind == "option" or (line.kind == "invalid" and not line.value):
            if line.option not in _QUIET_OPTIONS:
                warnings.append(f"line {number}: option `{body}` is ignored")
            continue
        if line.requirement is None:
            why = (line.error or "?").splitlines()[0]
            raise BadInputError(
                f"`{path}:{number}`: `{line.value}` is not a requirement ({why})",
                hint="a pinned requirements file has one `name==version` per line (`uv pip compile`)",
            )
        req = line.requirement
        hashes = [h for h in (split_hash(v) for v in line.hashes) if h]
        marker = str(req.marker) if req.marker else None
        if req.url:
            packages.append(
                LockedPackage(
                    name=req.name,
                    version=None,
                    marker=marker,
                    artifacts=(LockedArtifact(kind="archive", url=req.url, hashes=tuple(hashes)),),
                    archive={"url": req.url},
                )
            )
            continue
        pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        version = pins[0].version if pins else None
        if version is None:
            warnings.append(f"line {number}: `{line.value}` is not pinned with `==`")
        artifacts = (LockedArtifact(kind="archive", hashes=tuple(hashes)),) if hashes else ()
        packages.append(
            LockedPackage(
                name=req.name,
                version=version,
                marker=marker,
                artifacts=artifacts,
                groups=tuple(sorted(req.extras)),
            )
        )
    return Lock(path=path, format="requirements", packages=tuple(packages), warnings=tuple(warnings))
