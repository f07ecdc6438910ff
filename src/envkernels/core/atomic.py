"""Writing the user's files safely: atomic replace, every earlier version kept, one writer at a time.

A reader never sees a half-written file (the new content is written to a temporary file in the
same directory, flushed to disk, then ``os.replace``d over the old one). Writers to one path are
serialized by an advisory ``flock`` on a lock file in envkernels' cache directory, so a
read-modify-write (a notebook's metadata) cannot lose a concurrent writer's update.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from envkernels.cachedir import cache_dir
from envkernels.errors import BadInputError, ConflictError
from envkernels.shared import refuse_write


def _lock_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    d = cache_dir() / "locks"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{digest}.lock"


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], *, wait: bool = True, what: str = "write") -> Iterator[None]:
    """Hold an exclusive advisory lock for ``path`` (its resolved absolute path is the key).

    With ``wait=False`` a held lock raises ConflictError instead of waiting.
    """
    key = os.path.realpath(os.fspath(path))
    fd = os.open(_lock_path(key), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError as exc:
            raise ConflictError(
                f"another envkernels {what} is running on `{key}`",
                hint="wait for it to finish, then run again",
            ) from exc
        yield
    finally:
        os.close(fd)  # closing releases the flock


def backup_name(target: Path) -> Path:
    """``<name>.<UTC time>.bak`` beside ``target``: a new name for every version, so none is lost."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
    candidate = target.with_name(f"{target.name}.{stamp}.bak")
    n = 1
    while candidate.exists():  # two writes within one microsecond (writers are serialized)
        candidate = target.with_name(f"{target.name}.{stamp}-{n}.bak")
        n += 1
    return candidate


def is_held(path: str | os.PathLike[str]) -> bool:
    """True while some process holds :func:`file_lock` for ``path`` (a sync running on a prefix)."""
    key = os.path.realpath(os.fspath(path))
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    try:
        fd = os.open(cache_dir() / "locks" / f"{digest}.lock", os.O_RDWR)
    except OSError:
        return False  # never locked
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the flock taken just now
    return False


def atomic_write_text(path: str | os.PathLike[str], text: str, *, backup: bool = True) -> str | None:
    """Replace ``path`` with ``text`` atomically; keep the old file as ``<name>.<time>.bak`` if ``backup``.

    Every earlier version stays (one backup per write, never overwritten). Returns the backup's
    path (or None). The new file keeps the old file's permission bits.
    """
    target = Path(path)
    refuse_write(target, "a lock or notebook")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise BadInputError(
            f"cannot write `{target}`: the directory `{directory}` does not exist",
            hint="create the directory first, or choose another path",
        )
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    backup_path: str | None = None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
            if backup:
                backup_path = str(backup_name(target))
                fd2, tmp_bak = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".bak.tmp")
                os.close(fd2)
                shutil.copy2(target, tmp_bak)
                os.replace(tmp_bak, backup_path)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return backup_path
