"""Paths named by a request, held inside the server root.

A request names files (a lock to write, a lock to sync from, a notebook) relative to the server
root. They are joined onto the root with symlinks resolved, and anything that lands outside it
(``../../etc``, an absolute path, a symlink that leads out) is refused with
:class:`OutsideRootError` (HTTP 403) before any file is touched.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from envkernels.errors import EnvKernelsError, UsageError

# POSIX limits (Linux values): a longer name or path cannot exist, so it is a bad request.
_NAME_MAX = 255
_PATH_MAX = 4096


class OutsideRootError(EnvKernelsError):
    """A request named a path outside the server root (HTTP 403)."""


def _is_absolute(text: str) -> bool:
    return (
        PurePosixPath(text).is_absolute()
        or PureWindowsPath(text).is_absolute()
        or bool(PureWindowsPath(text).drive)
        or text.startswith("~")
    )


def inside_root(root: str | os.PathLike[str], relative: object, *, what: str = "path") -> Path:
    """The resolved absolute path ``relative`` names under ``root``; raise if it leaves the root.

    ``relative`` is what the request sent: it must be a non-empty string, relative, and resolve
    (symlinks followed, ``..`` collapsed) to ``root`` itself or something below it.
    """
    if not isinstance(relative, str) or not relative.strip():
        raise UsageError(
            f"`{what}` must be a non-empty path relative to the server root",
            hint=f'send e.g. {{"{what}": "project/pylock.toml"}}',
        )
    if "\x00" in relative:
        raise UsageError(f"`{what}` contains a NUL character", hint="send a plain relative path")
    try:
        encoded = os.fsencode(relative)
    except UnicodeEncodeError:
        raise UsageError(
            f"`{what}` is not a valid file name (it holds a lone surrogate)",
            hint="send the path as UTF-8 text",
        ) from None
    if len(encoded) > _PATH_MAX or any(len(part) > _NAME_MAX for part in encoded.split(b"/")):
        raise UsageError(
            f"`{what}` is too long for a path (at most {_NAME_MAX} bytes a name, {_PATH_MAX} in all)",
            hint="name a file with a shorter path",
        )
    root_real = os.path.realpath(root)
    if _is_absolute(relative):
        raise OutsideRootError(
            f"`{what}` must be relative to the server root, not the absolute path `{relative}`",
            hint="name files relative to the directory Jupyter was started in",
        )
    candidate = os.path.realpath(os.path.join(root_real, relative))
    if os.path.commonpath([root_real, candidate]) != root_real:
        raise OutsideRootError(
            f"`{what}` `{relative}` leads outside the server root",
            hint="name a file inside the directory Jupyter was started in",
        )
    return Path(candidate)


def relative_to_root(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> str | None:
    """``path`` relative to the server root (POSIX separators), or None when it lies outside."""
    root_real = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([root_real, real]) != root_real:
        return None
    rel = os.path.relpath(real, root_real)
    return PurePosixPath(*Path(rel).parts).as_posix()
