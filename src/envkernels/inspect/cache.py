"""The check's small on-disk cache (``$ENVKERNELS_CACHE_DIR/check/``, default ``~/.cache/envkernels``).

An entry is one JSON file named by the hash of its key. It carries the *stamps* of every file and
directory its result was computed from (``(path, mtime_ns, size, inode)``, or ``(path, None, None,
None)`` for a path that did not exist); it is used only when every stamp still matches. For an
environment these are each ``*.dist-info``/``*.egg-info`` directory and the files in it that were
read (METADATA or PKG-INFO, RECORD or requires.txt, direct_url.json), every ``.pth`` and
``.egg-link`` file, and the site-packages directories themselves: replacing a METADATA file,
reinstalling the same version, rewriting an egg-info in place or adding a distribution each change
one of them. Writes are atomic (temp file + ``os.replace``); a corrupt or unreadable entry is a
miss, never an error.
"""

from __future__ import annotations

import contextlib
import os

from envkernels.core.stamps import Stamp, still_valid

TYPE_CHECKING = False  # not typing's: the CLI's cached verdicts (cli/verdicts.py) import this module
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

SCHEMA = 4  # bump when the cached shapes (or how metadata is read) change


def cache_dir() -> str:
    """Where the check keeps its cache: ``check/`` in envkernels' cache directory."""
    from envkernels.cachedir import cache_root

    return os.path.join(cache_root(), "check")


def key_hash(*parts: Any) -> str:
    """A stable hash of ``parts`` (JSON-encoded), with the cache schema folded in."""
    import hashlib  # OpenSSL's: loaded only when a key is made, not on the CLI's cached path
    import json

    blob = json.dumps([SCHEMA, *parts], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def load(kind: str, key: str, *, validate: bool = True) -> dict[str, Any] | None:
    """The entry ``kind/key`` if present, readable and (unless ``validate`` is False) still valid."""
    import json  # here, not at the top: the CLI's cached verdicts use this module without json

    path = os.path.join(cache_dir(), f"{kind}-{key}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    if validate and not still_valid(data.get("stamps", [])):
        return None
    return data


def store(kind: str, key: str, stamps_: list[Stamp], payload: dict[str, Any]) -> None:
    """Write an entry atomically; a cache that cannot be written is silently skipped."""
    import json

    directory = cache_dir()
    try:
        os.makedirs(directory, exist_ok=True)
        import tempfile  # only when writing: keeps the warm path's imports small

        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                # json.dumps (one shot) uses the C encoder; json.dump into a file would not.
                fh.write(json.dumps({"schema": SCHEMA, "stamps": stamps_, **payload}, separators=(",", ":")))
            os.replace(tmp, os.path.join(directory, f"{kind}-{key}.json"))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        return


# -- in-process answers watched by inotify ------------------------------------------------------


def arm(key: Any, recorded: Iterable[Iterable[Any]]) -> list[Any] | None:
    """Hand the directories of ``recorded`` stamps to inotify; returns the stamps left to ``stat``.

    A file's stamp is covered by a watch on its directory (inotify reports a change to any file
    in a watched directory: written in place, replaced, removed), a directory's by a watch on
    itself, and a missing path's by a watch on its parent (its creation). What cannot be watched
    stays a ``stat`` check. None when inotify is not available (everything stays a ``stat``).
    The caller checks every stamp once *after* arming, so nothing changes unseen in between.
    """
    from envkernels.discovery.watch import open_watcher

    watcher = open_watcher()
    if watcher is None:
        return None
    by_dir: dict[str, list[Any]] = {}
    for entry in recorded:
        path, mtime, *_rest = entry
        directory = path if mtime is not None and os.path.isdir(path) else os.path.dirname(path)
        by_dir.setdefault(directory, []).append(list(entry))
    unwatched = watcher.watch(key, by_dir)
    if unwatched is None:
        watcher.forget(key)
        return None
    return [s for d in unwatched for s in by_dir[d]]


def watched_still_valid(key: Any, stat_only: list[Any]) -> bool:
    """True when inotify saw nothing under ``key``'s directories and the rest still ``stat``s the same."""
    from envkernels.discovery.watch import open_watcher

    watcher = open_watcher()
    return watcher is not None and not watcher.changed(key) and still_valid(stat_only)


def disarm(key: Any) -> None:
    """Stop watching for ``key`` (its answer was dropped)."""
    from envkernels.discovery.watch import open_watcher

    watcher = open_watcher()
    if watcher is not None:
        watcher.forget(key)
