"""The uv edge of a sync: the argv that installs a lock's entries, and the requirements file it may need.

A pylock.toml whose every entry has a hashed source goes to ``uv pip sync`` as it is (uv reads
PEP 751 and checks its hashes; TOML cannot carry a pip option). Any other lock becomes a temporary
pinned requirements file (``name==version --hash=...``, ``-e file:///dir`` for editable
directories, ``name @ url`` for VCS/archives), passed with ``--require-hashes`` when every entry
has a hash.

The requirements text is built only from values :func:`~envkernels.lockfiles.validate.validate_lock`
has checked, and then checked once more as a whole (:func:`check_requirements_text`): each line is
one requirement of the exact shapes above, so no value can start a line, add an option, or split
a line in two. uv runs in an empty working directory, so no ``uv.toml``/``pyproject.toml`` of a
project that happens to be the current directory adds its own index or options.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envkernels.errors import BadInputError
from envkernels.lockfiles.model import Lock, LockedPackage
from envkernels.uvbin import uv_binary


@dataclass
class UvInvocation:
    """The argv to run and the temporary file to delete afterwards (if any)."""

    argv: list[str]
    tempfile: str | None = None
    require_hashes: bool = False
    cwd: str | None = None  # an empty directory uv runs in (no project configuration to pick up)

    def cleanup(self) -> None:
        """Delete the temporary requirements file and working directory."""
        if self.tempfile:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tempfile)
        if self.cwd:
            with contextlib.suppress(OSError):
                os.rmdir(self.cwd)


def _abs(path: str, lock: Lock) -> str:
    base = Path(lock.path).resolve().parent
    return str((base / path).resolve()) if not os.path.isabs(path) else path


def requirement_line(pkg: LockedPackage, lock: Lock) -> tuple[str, bool]:
    """(one requirements line, whether it carries hashes) for a lock entry."""
    if pkg.directory is not None:
        path = _abs(str(pkg.directory.get("path", ".")), lock)
        if pkg.directory.get("subdirectory"):
            path = os.path.join(path, str(pkg.directory["subdirectory"]))
        uri = Path(path).as_uri()  # percent-encoded: a path with spaces stays one token
        return (f"-e {uri}" if pkg.editable else f"{pkg.name} @ {uri}"), False
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


# The only line shapes a sync's requirements file may have: a pin, a direct reference, an editable
# file URI; each with ``--hash`` options only. No whitespace inside a token, nothing before the name.
_SAFE_LINE = re.compile(
    r"(?:-e file://[^\s]+"
    r"|[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?(?:==[A-Za-z0-9.+!_-]+| @ [A-Za-z][A-Za-z0-9+.-]*:[^\s]+))"
    r"(?: --hash=[a-z0-9_]+:[0-9a-f]+)*"
)


def check_requirements_text(text: str) -> None:
    """Raise BadInputError unless every line of ``text`` is one requirement of the shapes uv is given.

    Defence in depth behind lock validation: whatever a lock held, the file uv reads cannot
    carry an option line (``--index-url``, ``-r``, ``-e`` of something not built here).
    """
    for number, line in enumerate(text.split("\n"), 1):
        if line and not _SAFE_LINE.fullmatch(line):
            raise BadInputError(
                f"refusing to hand uv a line it could read as an option (line {number}: {line[:80]!r})",
                hint="the lock holds a value envkernels does not accept; regenerate the lock",
            )


def requirements_text(packages: Sequence[LockedPackage], lock: Lock) -> tuple[str, bool]:
    """(the requirements file text, whether every line has hashes); checked by check_requirements_text."""
    lines = []
    all_hashed = True
    for pkg in packages:
        line, hashed = requirement_line(pkg, lock)
        lines.append(line)
        all_hashed = all_hashed and hashed
    text = "\n".join(lines) + "\n"
    check_requirements_text(text)
    return text, all_hashed and bool(lines)


def uses_lock_urls(lock: Lock, packages: Sequence[LockedPackage]) -> bool:
    """True when uv is given the pylock.toml itself, and so downloads the URLs it names."""
    return _pylock_direct(lock, packages)


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


def build_invocation(
    lock: Lock, packages: Sequence[LockedPackage], python: str, *, no_build: bool = False
) -> UvInvocation:
    """The ``uv pip sync`` argv for ``packages`` of ``lock`` into the interpreter ``python``.

    ``no_build``: uv builds no source distribution (``--no-build``), whatever the lock holds.
    """
    base = [uv_binary(), "pip", "sync", "--python", python, *(["--no-build"] if no_build else [])]
    if _pylock_direct(lock, packages):
        # An absolute path: uv never takes a file name starting with `-` as an option then.
        return UvInvocation(
            argv=[*base, str(Path(lock.path).resolve())],
            require_hashes=True,
            cwd=tempfile.mkdtemp(prefix="envkernels-uv-"),
        )
    text, all_hashed = requirements_text(packages, lock)
    fd, tmp = tempfile.mkstemp(prefix="envkernels-sync-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    argv = [*base, tmp]
    if all_hashed:
        argv.append("--require-hashes")
    return UvInvocation(
        argv=argv, tempfile=tmp, require_hashes=all_hashed, cwd=tempfile.mkdtemp(prefix="envkernels-uv-")
    )


_MISMATCH = re.compile(r"Hash mismatch for `(?P<what>[^`]+)`(?P<rest>.*?)(?:\n\S|\Z)", re.S)
_HASH = re.compile(r"\b[a-z0-9_]+:[0-9a-f]{16,}\b")


def explain_uv_failure(stderr: str) -> tuple[str, str] | None:
    """(message, hint) for a uv failure envkernels can say better than uv's last line, else None.

    A hash mismatch: uv prints the distribution, then ``Expected:`` and ``Computed:`` hashes on
    lines of their own; the message names the package and both hashes on one line.
    """
    m = _MISMATCH.search(stderr)
    if not m:
        return None
    expected_part, _, computed_part = m.group("rest").partition("Computed:")
    expected = _HASH.findall(expected_part)
    computed = _HASH.findall(computed_part)
    if not expected or not computed:
        return None
    message = (
        f"hash mismatch for `{m.group('what')}`: the lock expects {' or '.join(expected)}, "
        f"the downloaded file has {', '.join(computed)}"
    )
    hint = (
        "the file the index serves is not the one the lock was made from (replaced or tampered "
        "with); check the index, or lock again if the change is expected"
    )
    return message, hint
