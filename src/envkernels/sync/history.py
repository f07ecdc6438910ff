"""An environment's history: snapshots of what was installed, and the audit trail of its changes.

Where: ``<prefix>/.envkernels/`` when the environment's prefix is writable (the record travels
and disappears with the environment), else ``<cache>/envs/<hash8-of-prefix>/`` (a system Python,
a shared environment, an environment ``cleanup`` moved away). Inside:
``snapshots/pylock.snapshot-<UTC time>.toml``, ``history.jsonl``, and ``pending.json`` while a sync
runs (left behind when one is killed, so the next run says how to restore).

``history.jsonl`` is the audit trail: one JSON line per ``sync`` (applied or failed), ``fork``,
``cleanup`` (and its undo) and lock written into a project, each with ``when``, ``who``
(``user@host``), ``user`` (the Jupyter user over REST, the OS user otherwise), ``via`` (``cli``,
``rest``, ``kernel``), ``action``, ``environment`` (id, name, kind, prefix, shared), what was
planned and the ``result``. What concerns a shared environment (a fork or a lock of it) goes to
the server-wide log the administrator names (``$ENVKERNELS_HISTORY_LOG``,
``c.EnvKernelsApp.history_log``), else to the user's own cache-side history of it: never into the
shared root. One ``write`` under ``O_APPEND`` per line, so concurrent writers interleave whole
lines.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envkernels.cachedir import cache_dir, read_json_lines
from envkernels.core.atomic import atomic_write_text
from envkernels.core.layout import prefix_hash
from envkernels.core.records import utc_stamp, who
from envkernels.model import Environment
from envkernels.shared import HISTORY_LOG_VAR, shared_root_of
from envkernels.shared import history_log as shared_history_log

if TYPE_CHECKING:
    from envkernels.core.distributions import InstalledDistribution

HISTORY_FILE = "history.jsonl"
PENDING_FILE = "pending.json"

# Who asks for the change being recorded: (user, via); set by a front end around its engine call.
_ACTOR: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "envkernels_actor", default=None
)


def os_user() -> str:
    """The name of the OS user this process runs as (its uid when it has none)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError, OSError):
        return who().split("@", 1)[0]


@contextlib.contextmanager
def acting(user: str | None, via: str) -> Iterator[None]:
    """Record changes made inside this block as done by ``user`` (default: the OS user) via ``via``."""
    token = _ACTOR.set((user or os_user(), via))
    try:
        yield
    finally:
        _ACTOR.reset(token)


def actor() -> dict[str, str]:
    """``{"user", "via"}`` of the change being recorded (the OS user on the command line by default)."""
    current = _ACTOR.get()
    user, via = current if current is not None else (os_user(), "cli")
    return {"user": user, "via": via}


def summary(env: Environment) -> dict[str, Any]:
    """What a history line says about the environment it concerns."""
    return {"id": env.id, "name": env.name, "kind": env.kind, "prefix": env.prefix, "shared": env.shared}


def history_log() -> Path | None:
    """The server-wide log of changes involving shared environments (``$ENVKERNELS_HISTORY_LOG``), if any."""
    raw = shared_history_log()
    return Path(raw) if raw else None


def configure_history_log(path: str | None) -> None:
    """Export a configured server-wide log (a trait) to this process and the kernels it starts."""
    if path:
        os.environ[HISTORY_LOG_VAR] = path


def _line(record: dict[str, Any]) -> str:
    return json.dumps(
        {"when": _dt.datetime.now(_dt.timezone.utc).isoformat(), "who": who(), **actor(), **record},
        ensure_ascii=False,
    )


def _append(path: Path, line: str, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


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
    """Append one JSON line to the environment's history; its path (a sync's line by default).

    ``when``, ``who``, ``user``, ``via`` and ``environment`` are added; ``action`` is ``sync``
    unless the record says otherwise. One ``write`` of a line shorter than the pipe buffer under
    O_APPEND: concurrent appends interleave whole lines, never torn ones.
    """
    path = history_dir(env) / HISTORY_FILE
    _append(path, _line({"action": "sync", "environment": summary(env), **record}))
    return str(path)


def record_action(
    env: Environment, action: str, result: str, **details: Any
) -> tuple[str | None, str | None]:
    """Append the line of one ``action`` on ``env`` to its trail: ``(path written, warning)``.

    A personal environment's line goes to its own history; a shared one's to the server-wide log
    (``$ENVKERNELS_HISTORY_LOG``) when configured, else to the user's cache-side history of it.
    The change has already happened: a log that cannot be written is a warning, never an error.
    """
    line = _line({"action": action, "environment": summary(env), "result": result, **details})
    log = history_log() if env.shared else None
    try:
        path = log if log is not None else history_dir(env) / HISTORY_FILE
        _append(path, line, 0o666 if log is not None else 0o644)
    except OSError as exc:
        where = log or "the environment's history"
        return None, f"the {action} was not recorded in `{where}`: {exc.strerror or exc}"
    return str(path), None


def record_moved(prefix: str, action: str, result: str, **details: Any) -> str | None:
    """The line of an environment that leaves its place (``cleanup``), kept in the cache-side history."""
    env_info = {"id": None, "name": os.path.basename(prefix), "kind": None, "prefix": prefix, "shared": False}
    try:
        path = outside_dir(prefix) / HISTORY_FILE
        _append(path, _line({"action": action, "environment": env_info, "result": result, **details}))
    except OSError:
        return None
    return str(path)


def read_history(env: Environment) -> list[dict[str, Any]]:
    """Every history record of the environment, oldest first (unreadable lines skipped)."""
    return read_json_lines(history_dir(env, create=False) / HISTORY_FILE)


def _lines_of(path: Path, env: Environment | None = None) -> list[dict[str, Any]]:
    lines = read_json_lines(path)
    if env is not None:  # lines written before the trail named their environment
        for line in lines:
            line.setdefault("environment", summary(env))
            line.setdefault("action", "sync")
    return lines


def _concerns(line: dict[str, Any], prefix: str) -> bool:
    environment = line.get("environment")
    source = line.get("source")
    return any(isinstance(d, dict) and d.get("prefix") == prefix for d in (environment, source))


def trail(environments: Iterable[Environment], env: Environment | None = None) -> list[dict[str, Any]]:
    """The audit trail, oldest first: of ``env`` alone, or of every environment in ``environments``
    plus every cache-side history (environments moved away included) and the server-wide log."""
    files: dict[Path, Environment | None] = {}
    targets = [env] if env is not None else list(environments)
    for e in targets:
        files.setdefault(history_dir(e, create=False) / HISTORY_FILE, e)
        files.setdefault(outside_dir(e.prefix, create=False) / HISTORY_FILE, e)
    if env is None:
        for path in sorted((cache_dir() / "envs").glob(f"*/{HISTORY_FILE}")):
            files.setdefault(path, None)
    log = history_log()
    lines: list[dict[str, Any]] = []
    for path, owner in files.items():
        if log is not None and path == log:
            continue
        lines += _lines_of(path, owner)
    if log is not None:
        lines += [ln for ln in read_json_lines(log) if env is None or _concerns(ln, env.prefix)]
    if env is not None:
        lines = [ln for ln in lines if _concerns(ln, env.prefix)]
    unique = {json.dumps(ln, sort_keys=True): ln for ln in lines}  # a file reached twice counts once
    return sorted(unique.values(), key=lambda ln: str(ln.get("when", "")))


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
