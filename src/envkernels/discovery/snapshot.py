"""An administrator-prepared, read-only discovery snapshot of the shared roots.

``envkernels kernels prepare --dest DIR`` also writes ``DIR/discovery.json``: the records of every
environment under the shared roots and the signature (mtime, inode, size) of every path the walk
looked at. A server whose ``$ENVKERNELS_OVERLAY_DIRS`` (``c.EnvKernelSpecManager.overlay_dirs``)
names DIR uses those records instead of walking the shared roots itself, as long as the snapshot
was made for the same shared roots by the same envkernels version and every signature still
matches (one ``stat`` per path, no directory listed, no file read); anything else, and the roots
are walked as usual. So 50 servers starting at once do not each walk the same thousand
environments, and an environment the administrator adds afterwards (its root's mtime changes)
is found by the walk until the next ``prepare``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from envkernels._version import __version__
from envkernels.cachedir import write_atomic
from envkernels.discovery.context import Signature
from envkernels.model import Environment

FILE_NAME = "discovery.json"
SCHEMA = 1
_stats = {"used": 0, "stale": 0}


def stats() -> dict[str, int]:
    """How often a snapshot answered for the shared roots, and how often one was found stale."""
    return dict(_stats)


def write(
    directory: str | os.PathLike[str],
    roots: tuple[str, ...],
    records: list[Environment],
    watched: dict[str, Signature],
) -> Path:
    """Write ``directory/discovery.json``: the ``records`` one walk of ``roots`` (the shared roots)
    made and the signatures of what it ``watched`` (:func:`envkernels.discovery.scan.scan_roots`)."""
    doc = {
        "schema": SCHEMA,
        "version": __version__,
        "roots": list(roots),
        "environments": [e.to_dict() for e in records],
        "watched": [[path, list(sig) if sig is not None else None] for path, sig in sorted(watched.items())],
    }
    path = Path(directory) / FILE_NAME
    write_atomic(path, json.dumps(doc, separators=(",", ":")).encode("utf-8"))
    os.chmod(path, 0o644)
    return path


def _candidates() -> list[Path]:
    raw = os.environ.get("ENVKERNELS_OVERLAY_DIRS", "")
    return [Path(d) / FILE_NAME for d in raw.split(os.pathsep) if d.strip()]


def load(roots: tuple[str, ...]) -> tuple[list[Environment], dict[str, Signature]] | None:
    """The records and signatures of a snapshot made for exactly ``roots`` and still true, else None."""
    if not roots:
        return None
    for path in _candidates():
        try:
            st = path.stat()
            if st.st_uid not in (0, os.geteuid()) or st.st_mode & 0o022:
                continue  # only a snapshot no other user could have written is believed
            doc: Any = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or doc.get("version") != __version__:
            continue
        if tuple(doc.get("roots") or ()) != roots:
            continue
        watched: dict[str, Signature] = {}
        for item in doc.get("watched") or ():
            try:
                p, sig = item
                watched[str(p)] = tuple(sig) if sig is not None else None
            except (TypeError, ValueError):
                watched = {}
                break
        if not watched or not _still_true(watched):
            _stats["stale"] += 1
            continue
        try:
            records = [Environment.from_dict(d) for d in doc.get("environments") or ()]
        except (TypeError, KeyError):
            continue
        _stats["used"] += 1
        return records, watched
    return None


def _still_true(watched: dict[str, Signature]) -> bool:
    for path, sig in watched.items():
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            if sig is not None:
                return False
            continue
        if sig is None or (st.st_mtime_ns, st.st_ino, st.st_size) != tuple(sig):
            return False
    return True
