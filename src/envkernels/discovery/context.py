"""The small interface every per-kind discovery module implements.

Each module ``discovery/<kind>.py`` exposes ``find(ctx: ScanContext) -> Iterable[Candidate]``.
A :class:`Candidate` says "there may be an environment here, and this is what I know about it";
:mod:`envkernels.discovery.scan` resolves, de-duplicates and turns candidates into records.

The :class:`ScanContext` is the only way a finder touches the disk: it lists directories and
reads small files, never raises for a bad path, and remembers the signature (mtime, inode, size)
of everything it looked at, so the cache in :mod:`envkernels.discovery.cache` can tell whether a
second call would see the same thing.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

# (mtime_ns, inode, size) of a path, or None when it does not exist or cannot be stat'ed.
Signature = tuple[int, int, int] | None


def signature(path: str) -> Signature:
    """The stat signature the cache compares; None for a missing or unreadable path."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


@dataclass(frozen=True)
class Candidate:
    """A place that may hold an environment, and what the route that found it knows.

    ``kind`` None means "judge from the files" (a directory reached by scanning a root).
    ``prefix`` is absolute; ``resolved`` is True when it is already a real path (no symlinks);
    ``cfg`` is the text of its ``pyvenv.cfg`` when the finder has already read it.
    """

    prefix: str
    kind: str | None = None
    name: str | None = None
    project: str | None = None
    resolved: bool = False
    cfg: str | None = None


class ScanContext:
    """What one discovery pass reads: environment variables, HOME, the cwd, and the disk.

    Directory listings are memoized for the pass (two finders looking at ``WORKON_HOME`` cost
    one ``scandir``), and every path looked at is recorded with its signature for the cache.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, cwd: str | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.home = self.environ.get("HOME") or os.path.expanduser("~")
        self.cwd = cwd if cwd is not None else _safe_cwd()
        self.watched: dict[str, Signature] = {}
        self.projects: set[str] = set()  # project directories met on the way (roots, the cwd)
        self._listings: dict[str, dict[str, os.DirEntry[str]] | None] = {}
        self._project_ids: dict[str, str] | None = None

    def project_by_id(self, path_id: str) -> str | None:
        """The known project whose :func:`path_id_of` is ``path_id`` (poetry and hatch name envs so)."""
        if self._project_ids is None or len(self._project_ids) != len(self.projects):
            self._project_ids = {path_id_of(p): p for p in self.projects}
        return self._project_ids.get(path_id)

    def env(self, name: str) -> str | None:
        """An environment variable, None when unset or empty."""
        value = self.environ.get(name)
        return value or None

    def xdg(self, var: str, default: str) -> str:
        """An XDG base directory (``XDG_DATA_HOME`` ...) or its default under HOME."""
        value = self.env(var)
        return value if value and os.path.isabs(value) else os.path.join(self.home, default)

    def watch(self, path: str) -> Signature:
        """Record ``path``'s signature (taken before it is read) and return it."""
        if path in self.watched:
            return self.watched[path]
        sig = signature(path)
        self.watched[path] = sig
        return sig

    def listdir(self, path: str) -> dict[str, os.DirEntry[str]] | None:
        """``{name: DirEntry}`` of a directory, None when it is missing or unreadable (never raises)."""
        if path in self._listings:
            return self._listings[path]
        self.watch(path)
        listing: dict[str, os.DirEntry[str]] | None
        try:
            with os.scandir(path) as it:
                listing = {e.name: e for e in it}
        except (OSError, ValueError):
            listing = None
        self._listings[path] = listing
        return listing

    def read_pyvenv_cfg(self, prefix: str) -> str | None:
        """``prefix/pyvenv.cfg``'s text, None when there is none: one open, read, close.

        Finding a venv by opening its marker file costs fewer system calls than listing the
        directory. The file itself is not watched: creating or removing the venv changes its
        parent's mtime (watched); an in-place edit of ``pyvenv.cfg`` is seen on a rescan.
        """
        path = prefix + "/pyvenv.cfg"
        try:
            fd = os.open(path, os.O_RDONLY)
        except (OSError, ValueError):
            return None
        try:
            return os.read(fd, 65536).decode("utf-8", "replace")
        except OSError:
            return ""
        finally:
            os.close(fd)

    def read_text(self, path: str, limit: int = 1 << 20) -> str | None:
        """A small text file (undecodable bytes replaced), None when absent or unreadable."""
        self.watch(path)
        try:
            with open(path, "rb") as fh:
                return fh.read(limit).decode("utf-8", "replace")
        except (OSError, ValueError):
            return None


def path_id_of(path: str) -> str:
    """``urlsafe_b64encode(sha256(path))[:8]``: how poetry and hatch name a project's environments."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:8]


def _safe_cwd() -> str:
    try:
        return os.getcwd()
    except OSError:  # the cwd was deleted under us
        return os.path.expanduser("~")


def is_dir(entry: os.DirEntry[str]) -> bool:
    """``entry.is_dir()`` that follows symlinks and never raises (a symlink loop is not a dir)."""
    try:
        return entry.is_dir()
    except OSError:
        return False
