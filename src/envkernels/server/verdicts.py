"""The server's last verdict on each environment, kept across restarts, and its background re-check.

A badge must not say ``ok`` before anything was checked, nor forget what a check found when the
server restarts. After each check (and audit) the REST API asks for, the verdict is stored in
``<cache dir>/server-verdicts.json`` (one small JSON file, replaced atomically) with the time and
the stamps of the environment's ``site-packages`` directories (their mtimes change when a
distribution is installed or removed). The environments listing carries it as ``verdict``
(``unchecked``, ``ok``, ``warning``, ``error``, ``not-checked``) and ``verdict_at``.

When the stamps no longer match (something was installed or removed since), the environment is
queued for a background re-check: one daemon thread at a lowered scheduling priority, a short
queue (extra requests are dropped, the next listing asks again), so it never competes with
requests. Until it has run, the listing says ``verdict_stale: true``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envkernels.cachedir import cache_dir, write_atomic
from envkernels.core.layout import site_packages_dirs
from envkernels.core.stamps import stamps, still_valid

FILE_NAME = "server-verdicts.json"
SCHEMA = 1
VERDICTS = ("unchecked", "ok", "warning", "error", "not-checked")
# worst first: what a combined verdict says when a check and an audit disagree
_RANK = {"error": 0, "warning": 1, "not-checked": 2, "ok": 3}

log = logging.getLogger(__name__)


def check_verdict(report: dict[str, Any]) -> str:
    """A check report's verdict: ``error``/``warning`` from its worst finding, else ``ok``."""
    severities = {f.get("severity") for f in report.get("findings", [])}
    if "error" in severities:
        return "error"
    if "warning" in severities:
        return "warning"
    return "ok"


def audit_verdict(report: dict[str, Any]) -> str:
    """An audit report's verdict: ``error`` for a known vulnerability; ``not-checked`` when the
    advisories could not be looked at (never ``ok`` then); else ``ok``."""
    if report.get("vulnerabilities"):
        return "error"
    if report.get("checked") is False:
        return "not-checked"
    return "ok"


def combined(entry: dict[str, Any]) -> str:
    """The worst of an entry's check and audit verdicts; ``unchecked`` when no check ran and the
    audit (if any) found nothing: a clean audit alone is no all-clear."""
    found = [entry[k]["verdict"] for k in ("check", "audit") if isinstance(entry.get(k), dict)]
    worst = min(found, key=lambda v: _RANK.get(v, 0)) if found else "unchecked"
    if worst == "ok" and not isinstance(entry.get("check"), dict):
        return "unchecked"
    return worst


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class VerdictStore:
    """Verdicts by environment id, in a JSON file under the cache dir; thread-safe."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else cache_dir() / FILE_NAME
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or unreadable: everything is unchecked again, never wrongly green
        if (
            not isinstance(data, dict)
            or data.get("schema") != SCHEMA
            or not isinstance(data.get("environments"), dict)
        ):
            return {}
        return {k: v for k, v in data["environments"].items() if isinstance(v, dict)}

    def _write(self) -> None:
        body = json.dumps({"schema": SCHEMA, "environments": self._entries}, indent=1, sort_keys=True)
        try:
            write_atomic(self.path, body.encode())
        except OSError as exc:  # a read-only cache dir costs persistence, never the request
            log.warning("envkernels: cannot write %s: %s", self.path, exc)

    def record(self, env_id: str, prefix: str, what: str, report: dict[str, Any]) -> None:
        """Keep the verdict of a ``check`` or ``audit`` report of the environment at ``prefix``."""
        verdict = check_verdict(report) if what == "check" else audit_verdict(report)
        with self._lock:
            entry = self._entries.setdefault(env_id, {})
            entry[what] = {"verdict": verdict, "at": _now()}
            entry["stamps"] = stamps(str(p) for p in site_packages_dirs(prefix))
            self._write()

    def entry(self, env_id: str) -> dict[str, Any] | None:
        """The stored entry of an environment (a copy), or None."""
        with self._lock:
            found = self._entries.get(env_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def annotate(self, record: dict[str, Any]) -> dict[str, Any]:
        """Add ``verdict``, ``verdict_at`` and ``verdict_stale`` to an environment record (in place)."""
        entry = self.entry(str(record.get("id")))
        if not entry:
            record.update(verdict="unchecked", verdict_at=None, verdict_stale=False)
            return record
        times = [entry[k]["at"] for k in ("check", "audit") if isinstance(entry.get(k), dict)]
        record["verdict"] = combined(entry)
        record["verdict_at"] = max(times) if times else None
        record["verdict_stale"] = not still_valid(entry.get("stamps", []))
        return record


class BackgroundRechecker:
    """Re-checks changed environments on one low-priority daemon thread with a short queue."""

    def __init__(self, check: Callable[[str], None], capacity: int = 8) -> None:
        self._check = check
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=capacity)
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="envkernels-recheck", daemon=True)
        self._thread.start()

    def request(self, env_id: str) -> bool:
        """Queue a re-check of ``env_id`` unless one is pending; False when the queue is full."""
        with self._lock:
            if env_id in self._pending:
                return True
            try:
                self._queue.put_nowait(env_id)
            except queue.Full:
                return False
            self._pending.add(env_id)
            return True

    def pending(self) -> set[str]:
        """The ids queued or being checked now."""
        with self._lock:
            return set(self._pending)

    def _run(self) -> None:
        if hasattr(os, "setpriority"):
            # Linux: a thread is a task; lower only this one, the server's threads keep theirs
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while True:
            env_id = self._queue.get()
            if env_id is None:
                return
            try:
                self._check(env_id)
            except Exception as exc:  # an environment gone or unreadable: its next listing says so
                log.info("envkernels: background re-check of %s failed: %s", env_id, exc)
            finally:
                with self._lock:
                    self._pending.discard(env_id)

    def stop(self) -> None:
        """Let the thread end after the current check (it is a daemon: the server never waits)."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
