"""Size limits on what envkernels reads for a user: lockfiles, notebooks, project files, request bodies.

A lockfile, a notebook or a REST request can come from anywhere (a cloned repository, a downloaded
example). Parsing a 100 MB TOML file takes minutes and gigabytes, so files are measured before
they are read and refused when they are larger than the limit:

==================  ===========  ====================================  =========================
what                default      environment variable                  server trait
==================  ===========  ====================================  =========================
lockfile, project   4 MiB        ``ENVKERNELS_MAX_LOCK_BYTES``         ``max_lock_bytes``
notebook (.ipynb)   32 MiB       ``ENVKERNELS_MAX_NOTEBOOK_BYTES``     ``max_notebook_bytes``
REST request body   1 MiB        (server only)                         ``max_request_bytes``
==================  ===========  ====================================  =========================

The largest real lockfiles we have seen are a few hundred KiB; a notebook carries its outputs
(images), hence its larger limit. Too large is :class:`TooLargeError`: exit 2 on the CLI, HTTP
413 over REST. The server sets its traits once at start-up through :func:`configure`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from envkernels.errors import BadInputError

MiB = 1 << 20


class TooLargeError(BadInputError):
    """A file or request is larger than its limit (exit 2; HTTP 413)."""


def _env_bytes(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class Limits:
    """Byte limits per kind of input (see the module docstring)."""

    lock: int = 4 * MiB
    notebook: int = 32 * MiB
    request: int = 1 * MiB


_CURRENT = Limits(
    lock=_env_bytes("ENVKERNELS_MAX_LOCK_BYTES", Limits.lock),
    notebook=_env_bytes("ENVKERNELS_MAX_NOTEBOOK_BYTES", Limits.notebook),
)


def current() -> Limits:
    """The limits in force."""
    return _CURRENT


def configure(*, lock: int | None = None, notebook: int | None = None, request: int | None = None) -> Limits:
    """Set the limits (the server does, from its traits); returns the limits now in force."""
    global _CURRENT
    changes = {k: v for k, v in (("lock", lock), ("notebook", notebook), ("request", request)) if v}
    _CURRENT = replace(_CURRENT, **changes)
    return _CURRENT


def _human(size: int) -> str:
    return f"{size / MiB:.1f} MiB" if size >= MiB else f"{size} bytes"


def limit_for(path: str | os.PathLike[str]) -> tuple[int, str]:
    """The limit that applies to ``path`` and the word for it (notebooks have their own)."""
    if os.fspath(path).endswith(".ipynb"):
        return _CURRENT.notebook, "notebook"
    return _CURRENT.lock, "file"


def too_large(what: str, size: int, limit: int, setting: str) -> TooLargeError:
    """The error for an input of ``size`` bytes over ``limit``."""
    return TooLargeError(
        f"{what} is {_human(size)}, over the limit of {_human(limit)}",
        hint=f"a larger limit is set with {setting}",
    )


def _setting(kind: str) -> str:
    env = "ENVKERNELS_MAX_NOTEBOOK_BYTES" if kind == "notebook" else "ENVKERNELS_MAX_LOCK_BYTES"
    trait = "max_notebook_bytes" if kind == "notebook" else "max_lock_bytes"
    return f"`{env}` (CLI) or `c.EnvKernelsApp.{trait}` (server)"


def check_size(path: str | os.PathLike[str]) -> None:
    """Raise :class:`TooLargeError` when the file at ``path`` is over its limit (missing: no error)."""
    try:
        size = os.stat(path).st_size
    except (OSError, ValueError):
        return  # the reader names the problem
    limit, kind = limit_for(path)
    if size > limit:
        raise too_large(f"`{os.fspath(path)}`", size, limit, _setting(kind))


def read_limited(path: str | os.PathLike[str]) -> bytes:
    """The bytes of ``path``, refused before reading when over its limit (and if it grows while read)."""
    limit, kind = limit_for(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise too_large(f"`{os.fspath(path)}`", size, limit, _setting(kind))
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise too_large(f"`{os.fspath(path)}`", len(raw), limit, _setting(kind))
    return raw
