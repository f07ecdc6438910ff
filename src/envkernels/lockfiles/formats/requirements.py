"""Pinned requirements files (``name==version``, ``--hash``, ``-e``), as pip-compile/uv export write them."""

from __future__ import annotations

import re
import sys
import urllib.parse
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from envkernels.errors import BadInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from envkernels.lockfiles._common import split_hash
from envkernels.lockfiles.model import Lock, LockedArtifact, LockedPackage

_HASH = re.compile(r"--hash[=\s]+(\S+)")
# Options that take a value and do not name a package; kept out of the requirement text.
_OPTION_LINE = re.compile(
    r"^(-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host|-c|--constraint|-r|--requirement|"
    r"--no-binary|--only-binary|--prefer-binary|--pre|--no-index)\b"
)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, joined text) per logical line: continuations joined, comments dropped."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw
        # A comment starts at "#" at the line start or after whitespace (pip's rule).
        line = re.sub(r"(^|\s)#.*$", "", line)
        if not buf:
            start = number
        if line.rstrip().endswith("\\"):
            buf.append(line.rstrip()[:-1])
            continue
        buf.append(line)
        joined = " ".join(part.strip() for part in buf).strip()
        buf = []
        if joined:
            out.append((start, joined))
    if buf:
        joined = " ".join(part.strip() for part in buf).strip()
        if joined:
            out.append((start, joined))
    return out


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
    """True when most logical lines parse as pinned requirements or pip options."""
    lines = logical_lines(text)
    if not lines:
        return False
    good = 0
    for _n, line in lines:
        body = _HASH.sub("", line).strip()
        if body.startswith("-") or re.match(
            r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*(===?|~=|>=|<=|!=|<|>|@|;|$)", body
        ):
            good += 1
    return good >= max(1, len(lines) * 0.8)


def parse_requirements(text: str, path: str) -> Lock:
    """Read a pinned requirements file; an unparseable line is BadInputError naming the line."""
    packages: list[LockedPackage] = []
    warnings: list[str] = []
    for number, line in logical_lines(text):
        hashes = [h for h in (split_hash(v) for v in _HASH.findall(line)) if h]
        body = _HASH.sub("", line).strip()
        if not body:
            continue
        if body.startswith(("-e ", "--editable ", "-e=", "--editable=")):
            target = body.split(None, 1)[1] if " " in body else body.split("=", 1)[1]
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
        if _OPTION_LINE.match(body):
            if body.startswith(("-r", "--requirement", "-c", "--constraint")):
                warnings.append(f"line {number}: `{body}` (an included file) is not followed")
            continue
        if body.startswith("-"):
            warnings.append(f"line {number}: option `{body}` is ignored")
            continue
        try:
            req = Requirement(body)
        except InvalidRequirement as exc:
            raise BadInputError(
                f"`{path}:{number}`: `{body}` is not a requirement ({str(exc).splitlines()[0]})",
                hint="a pinned requirements file has one `name==version` per line (`uv pip compile`)",
            ) from exc
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
            warnings.append(f"line {number}: `{body}` is not pinned with `==`")
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
