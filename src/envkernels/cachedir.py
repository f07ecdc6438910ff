"""envkernels' cache directory, and the atomic write every cache uses.

Everything under it can be rebuilt (the check's and the audit's caches, ipykernel overlays,
advisory indexes, write locks) except ``trash/``: the environments ``envkernels cleanup --apply``
moved there until ``cleanup --empty-trash`` (deleting ``trash/`` loses what ``cleanup --undo``
would put back).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing's own constant costs importing typing: this module is on the CLI's fast path
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


def cache_root() -> str:
    """``$ENVKERNELS_CACHE_DIR``, else ``$XDG_CACHE_HOME/envkernels``, else ``~/.cache/envkernels``.

    A string, without importing pathlib: the CLI's cached verdicts (``cli/verdicts.py``) read it first.
    """
    explicit = os.environ.get("ENVKERNELS_CACHE_DIR")
    if explicit:
        return explicit
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "envkernels", "cache")
    xdg = os.environ.get("XDG_CACHE_HOME")
    return os.path.join(xdg or os.path.join(home, ".cache"), "envkernels")


def not_private(path: str) -> str | None:
    """Why ``path`` (a directory whose files this user's processes load or trust) is not this user's
    alone, or None: owned by another user, or writable by group or others (without the sticky bit).

    On a JupyterHub every user's server must keep its caches apart (``$ENVKERNELS_CACHE_DIR``
    pointed at one directory for everyone would let one user plant code in another's kernels).
    A path that does not exist yet is fine: it is created with this user's umask.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid is not None and st.st_uid != euid:
        return f"`{path}` belongs to uid {st.st_uid}, not to this user (uid {euid})"
    if st.st_mode & 0o022 and not st.st_mode & 0o1000:
        return f"`{path}` is writable by other users (mode {st.st_mode & 0o7777:o})"
    return None


def cache_dir() -> Path:
    """:func:`cache_root` as a Path."""
    from pathlib import Path

    return Path(cache_root())


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file and ``os.replace``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSON-lines log, oldest first; a missing file is empty, and a
    line that is not a JSON object (a write cut short) is skipped."""
    import json

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out
