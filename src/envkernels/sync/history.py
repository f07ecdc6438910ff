"""An environment's sync history: snapshots of what was installed, and one JSON line per applied sync.

Where: ``<prefix>/.envkernels/`` when the environment's prefix is writable (the record travels
and disappears with the environment), else ``<cache>/envs/<hash8-of-prefix>/`` (a system Python).
Inside: ``snapshots/pylock.snapshot-<UTC time>.toml``, ``history.jsonl``, and ``pending.json``
while a sync runs (left behind when one is killed, so the next run says how to restore).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envkernels.cachedir import cache_dir, read_json_lines
from envkernels.core.atomic import atomic_write_text
from envkernels.core.layout import prefix_hash
from envkernels.core.records import utc_stamp, who
from envkernels.model import Environment
from envkernels.shared import shared_root_of

if TYPE_CHECKING:
    from envkernels.core.distributions import InstalledDistribution

HISTORY_FILE = "history.jsonl"
PENDING_FILE = "pending.json"


def history_dir(env: Environment, *, create: bool = True) -> Path:
    """The environment's history directory (see the module docstring for where).

    A shared environment's is always the cache side: nothing is written under a shared root.
    """
    inside = Path(env.prefix) / ".envkernels"
    if not (env.shared or shared_root_of(env.prefix) is not None):
        if inside.is_dir() and os.access(inside, os.W_OK):
            return inside
        if os.access(env.prefix, os.W_OK) and not inside.exists():
            if create:
                inside.mkdir(exist_ok=True)
            return inside
    return outside_dir(env.prefix, create=create)


def outside_dir(prefix: str, *, create: bool = True) -> Path:
    """``<cache>/envs/<hash8-of-prefix>/``: the history kept outside the environment."""
    outside = cache_dir() / "envs" / prefix_hash(prefix)
    if create:
        outside.mkdir(parents=True, exist_ok=True)
    return outside


def snapshot_path(env: Environment) -> Path:
    """A fresh snapshot file name (a valid PEP 751 name, so uv reads it as a pylock)."""
    d = history_dir(env) / "snapshots"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"pylock.snapshot-{utc_stamp()}.toml"


def write_snapshot(env: Environment, distributions: Sequence[InstalledDistribution] | None = None) -> str:
    """Write a pylock of what ``env`` has installed now (versions pinned, no index asked); its path.

    Versions are enough to restore exactly: ``envkernels sync <snapshot> --target <env> --yes``
    pins every distribution to the version it had (local and VCS installs by their source).
    ``distributions``: ``installed_distributions(env.prefix)`` when the caller has just read it.
    """
    from envkernels.lockfiles.writer import lock_environment

    path = snapshot_path(env)
    lock_environment(
        env, output=str(path), hashes=False, check_project_lock=False, distributions=distributions
    )
    return str(path)


def append_history(env: Environment, record: dict[str, Any]) -> str:
    """Append one JSON line (``when`` and ``who`` added) to the environment's history; its path.

    One ``write`` of a line shorter than the pipe buffer under O_APPEND: concurrent appends interleave
    whole lines, never torn ones.
    """
    path = history_dir(env) / HISTORY_FILE
    line = json.dumps(
        {"when": _dt.datetime.now(_dt.timezone.utc).isoformat(), "who": who(), **record}, ensure_ascii=False
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return str(path)


def read_history(env: Environment) -> list[dict[str, Any]]:
    """Every history record of the environment, oldest first (unreadable lines skipped)."""
    return read_json_lines(history_dir(env, create=False) / HISTORY_FILE)


def mark_pending(env: Environment, data: dict[str, Any]) -> None:
    """Record that a sync is running (removed when it ends; a killed one leaves it)."""
    atomic_write_text(history_dir(env) / PENDING_FILE, json.dumps(data, indent=1), backup=False)


def clear_pending(env: Environment) -> None:
    """Forget the running-sync record."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(history_dir(env) / PENDING_FILE)


def pending(env: Environment) -> dict[str, Any] | None:
    """The record a killed sync left behind, or None."""
    try:
        text = (history_dir(env, create=False) / PENDING_FILE).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError):
        return None
