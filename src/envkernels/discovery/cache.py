"""The discovery cache: one in-process entry per question, invalidated by the disk, not by a timer.

A pass records the signature (mtime, inode, size) of every directory it listed and every file it
read — roots, registries (``environments.txt``, ``.condarc``, poetry's ``config.toml``), each
environment's prefix, site-packages and interpreter, each project directory. A later call with
the same question (roots, environment variables, cwd) re-``stat``s those paths only; one changed
signature means a new scan. Creating or removing an environment changes the mtime of the
directory that holds it, which is watched.

Timestamps are coarse (a few ms on Linux), so a pass that saw any mtime within
:data:`RACY_NS` of its own start is not cached (git's "racily clean" rule): a change landing in
the same clock tick as the scan can never be missed. Nothing is written to disk.

The first time an answer is served from the cache (its signatures checked by ``stat``), the
watched directories are also handed to inotify (:mod:`envkernels.discovery.watch`; each
environment's site-packages stands for its ipykernel launcher); from then on a call costs one
``read`` of the inotify descriptor plus a ``stat`` of the few watched files and missing paths
(registries, paths that do not exist yet). Without inotify every call ``stat``s.

Paths on a network file system (NFS, CIFS/SMB, FUSE, 9p, ...: :mod:`envkernels.discovery.mounts`)
are never handed to inotify, which cannot see changes made on other machines. They are kept
apart and their signatures re-checked by ``stat`` when :func:`~envkernels.discovery.mounts.poll_interval`
seconds (30 by default) have passed since their last check, so a listing is at most that old
for them; local paths keep the rules above.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from envkernels.discovery import mounts
from envkernels.discovery.context import Signature
from envkernels.model import Environment

RACY_NS = 50_000_000  # 50 ms: well above the kernel's coarse clock tick
_MAX_ENTRIES = 16


@dataclass
class Entry:
    """One cached answer and the signatures it depends on."""

    environments: tuple[Environment, ...]
    watched: tuple[tuple[str, Signature], ...]
    # With inotify armed: what is still checked by stat (files, missing paths), else None.
    stat_only: tuple[tuple[str, Signature], ...] | None = None
    arm_failed: bool = False
    # Paths on network file systems: checked by stat every poll interval, never by inotify.
    network: tuple[tuple[str, Signature], ...] = ()
    network_checked: float = 0.0

    def still_valid(self, items: tuple[tuple[str, Signature], ...] | None = None) -> bool:
        """True when every watched path (or each of ``items``) still has its signature of the scan."""
        stat = os.stat
        for path, sig in self.watched if items is None else items:
            try:
                st = stat(path)
            except (OSError, ValueError):
                if sig is not None:
                    return False
                continue
            if sig is None or st.st_mtime_ns != sig[0] or st.st_ino != sig[1] or st.st_size != sig[2]:
                return False
        return True


class DiscoveryCache:
    """A small LRU of :class:`Entry` keyed by the question asked (safe to share between threads)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Environment, ...] | None:
        """The cached environments for ``key`` if nothing watched has changed, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not self._network_current(entry):
            self._drop(key, entry)
            return None
        if entry.stat_only is not None:
            watcher = _open_watcher()
            if watcher is not None and not watcher.changed(key) and entry.still_valid(entry.stat_only):
                return entry.environments
            self._drop(key, entry)
            return None
        stat_only = None if entry.arm_failed else self._arm(key, entry)
        if not entry.still_valid():  # checked after arming: no change slips in between
            self._drop(key, entry)
            if stat_only is not None:
                self._forget(key)
            return None
        if stat_only is not None:
            entry.stat_only = stat_only
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return entry.environments

    @staticmethod
    def _network_current(entry: Entry) -> bool:
        """False when a network path's signature changed (checked once per poll interval)."""
        if not entry.network:
            return True
        now = monotonic()
        if now - entry.network_checked < mounts.poll_interval():
            return True
        if not entry.still_valid(entry.network):
            return False
        entry.network_checked = now
        return True

    def _arm(self, key: Hashable, entry: Entry) -> tuple[tuple[str, Signature], ...] | None:
        """Hand the entry's directories to inotify; returns what stays a stat check, None if not armed.

        The caller checks every signature once afterwards, so nothing changed before the watches.
        """
        watcher = _open_watcher()
        if watcher is None:
            entry.arm_failed = True
            return None
        stand_ins = {path: watch_path_for(path, sig) for path, sig in entry.watched}
        missed = watcher.watch(key, {p for p in stand_ins.values() if p is not None})
        if missed is None:
            watcher.forget(key)
            entry.arm_failed = True
            return None
        return tuple(
            (path, sig) for path, sig in entry.watched if stand_ins[path] is None or stand_ins[path] in missed
        )

    @staticmethod
    def _forget(key: Hashable) -> None:
        watcher = _open_watcher()
        if watcher is not None:
            watcher.forget(key)

    def _drop(self, key: Hashable, entry: Entry) -> None:
        with self._lock:
            if self._entries.get(key) is entry:
                del self._entries[key]
        if entry.stat_only is not None:
            self._forget(key)

    def put(
        self,
        key: Hashable,
        environments: Sequence[Environment],
        watched: dict[str, Signature],
        started_ns: int,
    ) -> bool:
        """Remember an answer unless a watched mtime is racy; returns whether it was stored."""
        limit = started_ns - RACY_NS
        for sig in watched.values():
            if sig is not None and sig[0] >= limit:
                return False
        local, network = split_network(watched)
        entry = Entry(tuple(environments), local, network=network, network_checked=monotonic())
        old = self._entries.get(key)
        if old is not None:
            self._drop(key, old)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > _MAX_ENTRIES:
                self._entries.popitem(last=False)
        return True

    def armed(self) -> int:
        """How many entries inotify watches (the rest are checked by ``stat``)."""
        return sum(1 for e in list(self._entries.values()) if e.stat_only is not None)

    def polled(self) -> int:
        """How many entries have paths on network file systems (re-checked every poll interval)."""
        return sum(1 for e in list(self._entries.values()) if e.network)

    def clear(self) -> None:
        """Forget everything (the next call scans)."""
        for key, entry in list(self._entries.items()):
            self._drop(key, entry)


def split_network(
    watched: dict[str, Signature],
) -> tuple[tuple[tuple[str, Signature], ...], tuple[tuple[str, Signature], ...]]:
    """``watched`` as (local paths, paths on network file systems), by one read of the mount table."""
    where = mounts.NetworkPaths()
    local: list[tuple[str, Signature]] = []
    network: list[tuple[str, Signature]] = []
    for path, sig in watched.items():
        (network if where.is_network(path) else local).append((path, sig))
    return tuple(local), tuple(network)


def monotonic() -> float:
    """The clock the network poll interval is measured on (a function: tests replace it)."""
    return time.monotonic()


def watch_path_for(path: str, sig: Signature) -> str | None:
    """The directory inotify watches for a watched ``path``, None when it stays a ``stat`` check.

    A path that existed is watched itself (files turn out not to be directories and stay stat
    checks); an ipykernel launcher is represented by its site-packages directory (an install or
    removal there is an event). Missing paths stay stat checks: watching their parent (often
    HOME) would report unrelated changes.
    """
    if path.endswith("/ipykernel_launcher.py"):
        return os.path.dirname(path)
    return path if sig is not None else None


def now_ns() -> int:
    """Wall-clock nanoseconds, the clock file mtimes are stamped with."""
    return time.time_ns()


def _open_watcher() -> Any:
    """The inotify watcher (imported on first use: it loads ctypes, which one-shot callers never need)."""
    from envkernels.discovery.watch import open_watcher

    return open_watcher()
