"""Helpers every lockfile reader shares: reading a lockfile's text, TOML loading with a clear error,
hashes, artifact kinds."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from envkernels._toml import tomllib
from envkernels.errors import BadInputError, NotFoundError
from envkernels.lockfiles.model import LockedArtifact

LOCK_HINT = (
    "a LOCK is a pylock.toml, uv.lock, poetry.lock, pdm.lock, Pipfile.lock, "
    "a pinned requirements file or a notebook"
)
_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_toml(text: str, path: str, what: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes BadInputError naming the file and line."""
    try:
        return tomllib.loads(text)
    except RecursionError as exc:
        raise too_deep(path, what) from exc
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


def load_json(text: str, path: str, what: str, hint: str, label: str = "JSON") -> Any:
    """Parse JSON text; invalid or too deeply nested JSON becomes BadInputError naming the file."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise too_deep(path, what) from exc
    except ValueError as exc:
        raise BadInputError(f"`{path}` is not valid {label} ({exc})", hint=hint) from exc


def too_deep(path: str, what: str) -> BadInputError:
    """The error for a file nested deeper than any real one (Python's parsers recurse)."""
    return BadInputError(
        f"`{path}` is nested too deeply to be a {what}",
        hint=f"regenerate the {what} with the tool that wrote it",
    )


class Fields:
    """Typed reads from one lockfile's parsed data: a value of the wrong type is a BadInputError
    naming the file, the package (when known) and the field, never an AttributeError later.
    """

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.what = what

    @property
    def hint(self) -> str:
        """What fixes a damaged file."""
        return f"the {self.what} is damaged or was edited by hand; regenerate it with the tool that wrote it"

    def wrong(self, field: str, value: object, expected: str, package: object = None) -> BadInputError:
        where = f"package {str(package)[:80]!r} " if package is not None else ""
        return BadInputError(
            f"`{self.path}`: {where}field `{field}` must be {expected}, not {type(value).__name__}",
            hint=self.hint,
        )

    def table(self, value: object, field: str, package: object = None) -> dict[str, Any]:
        """A table (None or absent: an empty one)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.wrong(field, value, "a table", package)
        return value

    def tables(self, value: object, field: str, package: object = None) -> list[dict[str, Any]]:
        """An array of tables (None or absent: an empty one)."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.wrong(field, value, "an array of tables", package)
        for item in value:
            if not isinstance(item, dict):
                raise self.wrong(field, item, "an array of tables", package)
        return value

    def strings(self, value: object, field: str, package: object = None) -> list[str]:
        """An array of strings (None or absent: an empty one)."""
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.wrong(field, value, "an array of strings", package)
        return value

    def string(self, value: object, field: str, package: object = None) -> str | None:
        """A string, or None when absent (numbers are not strings: a version must be quoted)."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.wrong(field, value, "a string", package)
        return value

    def required(self, data: dict[str, Any], field: str, package: object = None) -> str:
        """A string that must be there (a package's name)."""
        value = self.string(data.get(field), field, package)
        if not value:
            raise BadInputError(
                f"`{self.path}`: {'a package' if package is None else repr(package)} has no `{field}`",
                hint=self.hint,
            )
        return value


def unsupported_version(path: str, fmt: str, version: object, supported: str) -> BadInputError:
    """The error for a lock whose format version this reader does not know."""
    return BadInputError(
        f"`{path}` is a {fmt} of version {version}, which envkernels cannot read (it reads {supported})",
        hint=f"regenerate it with a {fmt.split()[0]} release that writes {supported}, or upgrade envkernels",
    )


def read_text(path: str | os.PathLike[str]) -> str:
    """The file's text (UTF-8, BOM dropped); NotFoundError/BadInputError naming the file."""
    from envkernels.limits import read_limited

    p = Path(path)
    try:
        raw = read_limited(p)
    except FileNotFoundError as exc:
        raise NotFoundError(f"`{p}` does not exist", hint=LOCK_HINT) from exc
    except IsADirectoryError as exc:
        raise BadInputError(f"`{p}` is a directory, not a lockfile", hint=LOCK_HINT) from exc
    except OSError as exc:
        raise BadInputError(f"`{p}` cannot be read ({exc.strerror})", hint="check its permissions") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"`{p}` is not UTF-8 text (byte {exc.start})", hint=LOCK_HINT) from exc
