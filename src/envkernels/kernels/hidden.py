"""Kernels the user removed: discovered environments that are no longer offered as kernels.

An environment's kernel is not a directory anyone wrote (its resource directory is envkernels'
own logo directory), so "removing" it (``jupyter_client``'s ``remove_kernel_spec``, ``envkernels
kernels hide``) records its name here instead of deleting anything. The record lives in
envkernels' *config* directory (not the cache: deleting the cache must not bring kernels back):
``$ENVKERNELS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/envkernels``, else ``~/.config/envkernels``,
file ``hidden-kernels.json``::

    {"hidden": {"envk-uv-myproject-3f2a9c1e": {"prefix": "...", "kind": "uv", "env_name": "myproject",
                                                "hidden_at": "2026-12-02T07:00:00+00:00"}}}

Written atomically; read on every listing (a stat while unchanged). ``envkernels kernels hidden``
lists it, ``envkernels kernels unhide NAME`` undoes one entry.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envkernels.cachedir import write_atomic
from envkernels.errors import BadInputError
from envkernels.model import Environment

FILE_NAME = "hidden-kernels.json"
_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], dict[str, dict[str, Any]]]] = {}


def config_dir() -> Path:
    """``$ENVKERNELS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/envkernels``, else ``~/.config/envkernels``."""
    explicit = os.environ.get("ENVKERNELS_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "envkernels"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "envkernels"


def hidden_file() -> Path:
    """Where the hidden kernel names are kept."""
    return config_dir() / FILE_NAME


def hidden_kernels() -> dict[str, dict[str, Any]]:
    """``{kernel name: record}`` of every hidden kernel (empty when none was ever hidden).

    A file that is not the JSON this module writes raises :class:`BadInputError` naming it:
    silently offering every kernel again would undo the user's choices.
    """
    path = hidden_file()
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    key = (st.st_mtime_ns, st.st_size)
    cached = _cache.get(str(path))
    if cached is not None and cached[0] == key:
        return dict(cached[1])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        hidden = data["hidden"]
        if not isinstance(hidden, dict) or not all(isinstance(v, dict) for v in hidden.values()):
            raise TypeError("`hidden` is not an object of objects")
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInputError(
            f"`{path}` is not a list of hidden kernels ({exc})",
            "fix or delete the file (deleting it offers every hidden kernel again)",
        ) from exc
    _cache[str(path)] = (key, hidden)
    return dict(hidden)


def _write(hidden: dict[str, dict[str, Any]]) -> None:
    data = json.dumps({"hidden": dict(sorted(hidden.items()))}, indent=1) + "\n"
    write_atomic(hidden_file(), data.encode("utf-8"))


def hide(env: Environment) -> Path:
    """Hide ``env``'s kernel (idempotent); returns the file that records it."""
    with _lock:
        hidden = hidden_kernels()
        if env.kernel_name not in hidden:
            hidden[env.kernel_name] = {
                "prefix": env.prefix,
                "kind": env.kind,
                "env_name": env.name,
                "hidden_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            _write(hidden)
    return hidden_file()


def unhide(kernel_name: str) -> dict[str, Any] | None:
    """Offer ``kernel_name`` again (matched case-insensitively); its record, or None if it was not hidden."""
    with _lock:
        hidden = hidden_kernels()
        record = hidden.pop(kernel_name.lower(), None)
        if record is not None:
            _write(hidden)
    return record
