"""Linux inotify, through ctypes: "has anything changed in these directories?" for one ``read``.

The discovery cache re-``stat``s what a scan looked at to tell whether its answer still holds;
with hundreds of environments that is hundreds of system calls per listing. Once an answer has
been served twice, the cache asks the kernel to report changes instead: one inotify instance
for the whole process, one watch per directory, and a listing costs a single non-blocking
``read``. Where inotify is missing (not Linux, no libc, limits reached) :func:`open_watcher`
returns None and the cache keeps ``stat``-ing. Nothing is written anywhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
import sys
import threading
from collections.abc import Hashable, Iterable

# <sys/inotify.h>
IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_Q_OVERFLOW, IN_IGNORED = 0x400, 0x800, 0x4000, 0x8000
IN_ONLYDIR = 0x01000000
_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, 0o2000000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then `len` bytes of name)


class Watcher:
    """One inotify instance; each directory watch is tagged with the cache keys that depend on it."""

    def __init__(self, libc: ctypes.CDLL, fd: int) -> None:
        self._libc = libc
        self._fd = fd
        self._keys_by_wd: dict[int, set[Hashable]] = {}
        self._dirty: set[Hashable] = set()
        self._lock = threading.Lock()

    def watch(self, key: Hashable, directories: Iterable[str]) -> set[str] | None:
        """Watch ``directories`` for ``key``: the paths that are no directory (or missing), None on failure.

        A path that is a file or does not exist is returned for the caller to check otherwise;
        any other failure (watch limit reached, permission) makes the whole call fail.
        """
        wds = []
        not_dirs = set()
        for directory in directories:
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
            if wd < 0:
                if ctypes.get_errno() in (errno.ENOTDIR, errno.ENOENT):
                    not_dirs.add(directory)
                    continue
                return None
            wds.append(wd)
        with self._lock:
            self._dirty.discard(key)
            for wd in wds:
                self._keys_by_wd.setdefault(wd, set()).add(key)
        return not_dirs

    def changed(self, key: Hashable) -> bool:
        """True when something under ``key``'s directories changed since :meth:`watch` (one ``read``)."""
        with self._lock:
            self._drain()
            return key in self._dirty

    def forget(self, key: Hashable) -> None:
        """Stop attributing events to ``key`` (its entry was dropped)."""
        with self._lock:
            for keys in self._keys_by_wd.values():
                keys.discard(key)
            self._dirty.discard(key)

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                self._everything_dirty()
                return
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                if mask & IN_Q_OVERFLOW:  # events were lost: nothing watched can be trusted
                    self._everything_dirty()
                self._dirty.update(self._keys_by_wd.get(wd, ()))
                if mask & IN_IGNORED:  # the directory is gone; its watch with it
                    self._keys_by_wd.pop(wd, None)

    def _everything_dirty(self) -> None:
        for keys in self._keys_by_wd.values():
            self._dirty.update(keys)


_watcher: Watcher | None = None
_tried = False
_open_lock = threading.Lock()


def open_watcher() -> Watcher | None:
    """The process's watcher, or None where inotify is not available (then the cache uses ``stat``)."""
    global _watcher, _tried
    if os.environ.get("ENVKERNELS_NO_INOTIFY"):
        return None
    with _open_lock:
        if _tried:
            return _watcher
        _tried = True
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        _watcher = Watcher(libc, fd)
        return _watcher
