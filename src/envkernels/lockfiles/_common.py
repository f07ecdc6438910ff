"""Helpers every lockfile reader shares: TOML loading with a clear error, hashes, artifact kinds."""

from __future__ import annotations

import re
import sys
from typing import Any

from envkernels.errors import BadInputError
from envkernels.lockfiles.model import LockedArtifact

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_toml(text: str, path: str, what: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes BadInputError naming the file and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_LINE.search(msg)
        where = f"{path}:{m.group(1)}" if m else path
        reason = _TOML_LINE.sub("", msg).strip()
        raise BadInputError(
            f"`{where}` is not valid TOML ({reason})",
            hint=f"fix the file or regenerate the {what} with the tool that wrote it",
        ) from exc


def split_hash(value: str) -> tuple[str, str] | None:
    """``"sha256:abc"`` → ``("sha256", "abc")``; None for a value without an algorithm."""
    algo, sep, digest = value.partition(":")
    if not sep or not algo or not digest:
        return None
    return algo.strip().lower(), digest.strip().lower()


def artifact_kind(filename: str | None) -> str:
    """``wheel`` for ``*.whl``, ``sdist`` for source archives, else ``archive``."""
    if not filename:
        return "archive"
    if filename.endswith(".whl"):
        return "wheel"
    if filename.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar")):
        return "sdist"
    return "archive"


def artifact_from_file(filename: str | None, url: str | None, hashes: list[str]) -> LockedArtifact:
    """A LockedArtifact from a file name/URL and ``algo:digest`` strings."""
    name = filename or (url.rsplit("/", 1)[-1].split("#", 1)[0] if url else None)
    pairs = tuple(h for h in (split_hash(v) for v in hashes) if h)
    return LockedArtifact(kind=artifact_kind(name), url=url, filename=name, hashes=pairs)


def require_table(data: Any, path: str, what: str) -> dict[str, Any]:
    """``data`` if it is a table, else BadInputError."""
    if not isinstance(data, dict):
        raise BadInputError(f"`{path}` is not a {what}", hint=f"regenerate the {what}")
    return data


def unsupported_version(path: str, fmt: str, version: object, supported: str) -> BadInputError:
    """The error for a lock whose format version this reader does not know."""
    return BadInputError(
        f"`{path}` is a {fmt} of version {version}, which envkernels cannot read (it reads {supported})",
        hint=f"regenerate it with a {fmt.split()[0]} release that writes {supported}, or upgrade envkernels",
    )
