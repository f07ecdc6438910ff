"""The uv edge of a sync: the argv that installs a lock's entries, and the requirements file it may need.

A pylock.toml whose every entry has a hashed source goes to ``uv pip sync`` as it is (uv reads
PEP 751 and checks its hashes). Any other lock becomes a temporary pinned requirements file
(``name==version --hash=...``, ``-e`` for editable directories, ``name @ url`` for VCS/archives),
passed with ``--require-hashes`` when every entry has a hash.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envkernels.lockfiles.model import Lock, LockedPackage
from envkernels.uvbin import uv_binary


@dataclass
class UvInvocation:
    """The argv to run and the temporary file to delete afterwards (if any)."""

    argv: list[str]
    tempfile: str | None = None
    require_hashes: bool = False

    def cleanup(self) -> None:
        """Delete the temporary requirements file."""
        if self.tempfile:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tempfile)


def _abs(path: str, lock: Lock) -> str:
    base = Path(lock.path).resolve().parent
    return str((base / path).resolve()) if not os.path.isabs(path) else path


def requirement_line(pkg: LockedPackage, lock: Lock) -> tuple[str, bool]:
    """(one requirements line, whether it carries hashes) for a lock entry."""
    if pkg.directory is not None:
        path = _abs(str(pkg.directory.get("path", ".")), lock)
        if pkg.directory.get("subdirectory"):
            path = os.path.join(path, str(pkg.directory["subdirectory"]))
        return (f"-e {path}" if pkg.editable else f"{pkg.name} @ {Path(path).as_uri()}"), False
    if pkg.vcs is not None:
        url = str(pkg.vcs.get("url") or Path(_abs(str(pkg.vcs.get("path", ".")), lock)).as_uri())
        ref = pkg.vcs.get("commit-id") or pkg.vcs.get("requested-revision")
        line = f"{pkg.name} @ {pkg.vcs.get('type', 'git')}+{url}" + (f"@{ref}" if ref else "")
        if pkg.vcs.get("subdirectory"):
            line += f"#subdirectory={urllib.parse.quote(str(pkg.vcs['subdirectory']))}"
        return line, False
    hashes = sorted(
        {f"{algo}:{digest}" for a in pkg.artifacts for algo, digest in a.hashes if algo == "sha256"}
    )
    if pkg.archive is not None:
        where = pkg.archive.get("url") or Path(_abs(str(pkg.archive.get("path")), lock)).as_uri()
        line = f"{pkg.name} @ {where}"
    else:
        line = f"{pkg.name}=={pkg.version}"
    line += "".join(f" --hash={h}" for h in hashes)
    return line, bool(hashes)


def requirements_text(packages: Sequence[LockedPackage], lock: Lock) -> tuple[str, bool]:
    """(the requirements file text, whether every line has hashes)."""
    lines = []
    all_hashed = True
    for pkg in packages:
        line, hashed = requirement_line(pkg, lock)
        lines.append(line)
        all_hashed = all_hashed and hashed
    return f"# envkernels sync of {lock.path}\n" + "\n".join(lines) + "\n", all_hashed and bool(lines)


def _pylock_direct(lock: Lock, packages: Sequence[LockedPackage]) -> bool:
    """True when uv can take the pylock.toml file itself (a file, every entry with a hashed source)."""
    return (
        lock.format == "pylock"
        and lock.origin == "file"
        and Path(lock.path).is_file()
        and not any(not p.artifacts and p.directory is None and p.vcs is None for p in lock.packages)
        and lock.path.endswith(".toml")
        and Path(lock.path).name.startswith("pylock.")
    )


def build_invocation(lock: Lock, packages: Sequence[LockedPackage], python: str) -> UvInvocation:
    """The ``uv pip sync`` argv for ``packages`` of ``lock`` into the interpreter ``python``."""
    base = [uv_binary(), "pip", "sync", "--python", python]
    if _pylock_direct(lock, packages):
        return UvInvocation(argv=[*base, lock.path], require_hashes=True)
    text, all_hashed = requirements_text(packages, lock)
    fd, tmp = tempfile.mkstemp(prefix="envkernels-sync-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    argv = [*base, tmp]
    if all_hashed:
        argv.append("--require-hashes")
    return UvInvocation(argv=argv, tempfile=tmp, require_hashes=all_hashed)
