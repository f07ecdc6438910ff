"""Where the audit keeps what it can rebuild: the local database's index and the OSV API's answers."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$ENVKERNELS_CACHE_DIR``, else ``$XDG_CACHE_HOME/envkernels``, else ``~/.cache/envkernels``."""
    explicit = os.environ.get("ENVKERNELS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "envkernels"


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
