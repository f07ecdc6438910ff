"""Stamps: ``(path, mtime_ns, size, inode)`` of a file or directory, which say it is still the one read.

The caches of discovery, the check and the worker keep the stamps of what an answer was computed
from and trust the answer only while every stamp still matches (one ``stat`` per stamp).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: the CLI's cached verdicts (cli/verdicts.py) import this module
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

Stamp = tuple[str, int, int, int] | tuple[str, None, None, None]


def stamp(path: str) -> Stamp:
    """``(path, mtime_ns, size, inode)`` of a file or directory, ``(path, None, None, None)`` when absent.

    The inode tells a replaced file (a new one, same size, same second) from the one read.
    """
    try:
        st = os.stat(path)
    except OSError:
        return (path, None, None, None)
    return (path, st.st_mtime_ns, st.st_size, st.st_ino)


def stamps(paths: Iterable[str]) -> list[Stamp]:
    """The stamps of ``paths``, in order, duplicates removed."""
    return [stamp(p) for p in dict.fromkeys(paths)]


def still_valid(recorded: Iterable[Iterable[Any]]) -> bool:
    """True when every recorded stamp matches the file system now (one ``stat`` per stamp)."""
    stat = os.stat
    try:
        for path, mtime, size, ino in recorded:
            try:
                st = stat(path)
            except OSError:
                if mtime is not None:
                    return False
                continue
            if st.st_mtime_ns != mtime or st.st_size != size or st.st_ino != ino:
                return False
    except (TypeError, ValueError):  # a stamp of another shape (an older entry): not valid
        return False
    return True
