"""The cleanup trash: environments are moved here, not deleted, so every cleanup can be undone.

Layout, under ``<cache>/trash/`` (:func:`envkernels.cachedir.cache_dir`):

- ``<ID>/manifest.json``: what this cleanup moves (``original`` path, ``stored`` name, size, reason),
  written atomically *before* the first move;
- ``<ID>/items/<n>``: the environments themselves, each moved by one ``rename`` (atomic: an
  environment is wholly in place or wholly in the trash, even if the process is killed between two);
- ``history.jsonl``: one JSON line per apply, undo and emptying (when, who, what).

Moves stay on one filesystem: an environment on another filesystem than the trash is refused
(a copy could be interrupted half-way), with a hint to point ``ENVKERNELS_CACHE_DIR`` at that
filesystem. :func:`undo` renames back; it checks every item first and changes nothing when one
original path is taken again.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envkernels.cachedir import cache_dir, write_atomic
from envkernels.core.records import utc_stamp, who
from envkernels.errors import ConflictError, NotFoundError, UsageError

MANIFEST = "manifest.json"
HISTORY = "history.jsonl"
# Seconds to wait after each move: lets a test kill an apply between two moves.
PAUSE_VARIABLE = "ENVKERNELS_TEST_CLEANUP_PAUSE"


@dataclass(frozen=True)
class TrashEntry:
    """One cleanup's record: its id, when, its state (``moving``, ``done``), and its items."""

    id: str
    path: str
    created: str
    state: str
    items: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form of ``cleanup --trash --json``; each item says where it is now (``in_trash``)."""
        items = [
            {**item, "in_trash": os.path.lexists(os.path.join(self.path, "items", item["stored"]))}
            for item in self.items
        ]
        return {
            "id": self.id,
            "created": self.created,
            "state": self.state,
            "path": self.path,
            "items": items,
        }

    @property
    def size(self) -> int:
        """Bytes the entry holds (as measured when the items were moved)."""
        return sum(int(item.get("size") or 0) for item in self.items)


def trash_dir() -> Path:
    """``<cache>/trash``."""
    return cache_dir() / "trash"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def _write_manifest(entry_dir: Path, data: dict[str, Any]) -> None:
    write_atomic(entry_dir / MANIFEST, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def _log(record: dict[str, Any]) -> None:
    path = trash_dir() / HISTORY
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"when": _now(), "who": who(), **record}, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def same_filesystem_problem(path: str) -> str | None:
    """Why ``path`` cannot be moved into the trash by a rename (another filesystem), or None."""
    trash = trash_dir()
    trash.mkdir(parents=True, exist_ok=True)
    if os.stat(os.path.dirname(os.path.abspath(path))).st_dev != os.stat(trash).st_dev:
        return f"`{path}` is on another filesystem than the trash `{trash}`"
    return None


def move_to_trash(
    items: Sequence[tuple[str, dict[str, Any]]],
    before_each: Callable[[str], str | None] | None = None,
) -> tuple[TrashEntry, list[tuple[str, str]]]:
    """Move each ``(path, facts)`` into a new trash entry; return it and the ``(path, why)`` not moved.

    ``before_each(path)`` is asked right before each move and returns why not to move it (e.g. a
    kernel started meanwhile), or None. The manifest names every item before the first move, so an
    interrupted run leaves an entry that :func:`undo` reverses.
    """
    for path, _facts in items:
        problem = same_filesystem_problem(path)
        if problem:
            raise UsageError(
                f"{problem}: it cannot be moved there in one step, so it was not touched",
                hint=f"set `ENVKERNELS_CACHE_DIR` to a directory on the filesystem of `{path}` and run again",
            )
    entry_id = f"{utc_stamp()[:15]}Z-{secrets.token_hex(3)}"
    entry_dir = trash_dir() / entry_id
    (entry_dir / "items").mkdir(parents=True)
    records = [{"original": path, "stored": str(n), **facts} for n, (path, facts) in enumerate(items)]
    manifest = {"id": entry_id, "created": _now(), "who": who(), "state": "moving", "items": records}
    _write_manifest(entry_dir, manifest)
    pause = float(os.environ.get(PAUSE_VARIABLE) or 0)
    skipped: list[tuple[str, str]] = []
    moved = []
    for record in records:
        why = before_each(record["original"]) if before_each else None
        if why:
            skipped.append((record["original"], why))
            continue
        os.rename(record["original"], entry_dir / "items" / record["stored"])
        moved.append(record)
        if pause:
            time.sleep(pause)
    manifest["items"] = moved
    manifest["state"] = "done"
    if not moved:  # every item was refused at the last moment: no entry to undo
        _remove_tree(str(entry_dir))
        return _entry(entry_dir, manifest), skipped
    _write_manifest(entry_dir, manifest)
    _log({"action": "apply", "id": entry_id, "moved": [r["original"] for r in moved]})
    return _entry(entry_dir, manifest), skipped


def _entry(entry_dir: Path, data: dict[str, Any]) -> TrashEntry:
    return TrashEntry(
        id=str(data.get("id") or entry_dir.name),
        path=str(entry_dir),
        created=str(data.get("created") or ""),
        state=str(data.get("state") or "moving"),
        items=tuple(i for i in data.get("items") or () if isinstance(i, dict) and "original" in i),
    )


def entries() -> list[TrashEntry]:
    """Every trash entry, oldest first by creation time (an entry without a readable manifest is skipped)."""
    out = []
    try:
        names = sorted(os.listdir(trash_dir()))
    except OSError:
        return []
    for name in names:
        entry_dir = trash_dir() / name
        try:
            data = json.loads((entry_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.append(_entry(entry_dir, data))
    return sorted(out, key=lambda e: (e.created, e.id))  # two cleanups in one second: by the microsecond


def undo(entry_id: str | None = None) -> TrashEntry:
    """Put the environments of entry ``entry_id`` (default: the newest) back where they were.

    Every item is checked before the first rename: if an original path exists again, nothing is
    moved (ConflictError naming it). The entry is removed once all its items are back.
    """
    found = entries()
    if not found:
        raise NotFoundError("the cleanup trash is empty", hint="nothing to undo")
    if entry_id is None:
        entry = found[-1]
    else:
        matches = [e for e in found if e.id == entry_id]
        if not matches:
            raise UsageError(
                f"no cleanup `{entry_id}` in the trash",
                hint="`envkernels cleanup --trash` lists what can be undone",
            )
        entry = matches[0]
    pending = []
    for item in entry.items:
        stored = os.path.join(entry.path, "items", item["stored"])
        if not os.path.lexists(stored):
            continue  # never moved (an interrupted apply), or already put back
        if os.path.lexists(item["original"]):
            raise ConflictError(
                f"`{item['original']}` exists again, so cleanup `{entry.id}` was not undone",
                hint=f"move `{item['original']}` away, then run `envkernels cleanup --undo {entry.id}` again",
            )
        if not os.path.isdir(os.path.dirname(item["original"])):
            raise ConflictError(
                f"the directory of `{item['original']}` is gone, so cleanup `{entry.id}` was not undone",
                hint=f"create `{os.path.dirname(item['original'])}`, then run the undo again",
            )
        pending.append((stored, item["original"]))
    for stored, original in pending:
        os.rename(stored, original)
    _log({"action": "undo", "id": entry.id, "restored": [o for _s, o in pending]})
    _remove_tree(entry.path)
    return entry


def _remove_tree(path: str) -> None:
    """``rmtree`` that also removes read-only files and directories (as the user could)."""

    def retry(func: Callable[..., Any], target: str, _exc: Any) -> None:
        parent = os.path.dirname(target)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(target) and not os.path.islink(target):
            os.chmod(target, os.stat(target).st_mode | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR)
        func(target)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:  # pragma: no cover - Python 3.10, 3.11
        shutil.rmtree(path, onerror=retry)


def empty(older_than_days: float | None = None) -> list[TrashEntry]:
    """Delete for good the trash entries older than ``older_than_days`` (all when None); those deleted."""
    cutoff = None
    if older_than_days is not None:
        cutoff = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=older_than_days)
    removed = []
    for entry in entries():
        if cutoff is not None:
            try:
                created = _dt.datetime.fromisoformat(entry.created)
            except ValueError:
                continue  # unknown age: kept
            if created > cutoff:
                continue
        _remove_tree(entry.path)
        removed.append(entry)
    if removed:
        _log({"action": "empty", "ids": [e.id for e in removed], "size": sum(e.size for e in removed)})
    return removed
