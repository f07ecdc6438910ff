"""What a lockfile says, whatever its format: packages with versions, markers and artifacts.

Every reader (pylock.toml, uv.lock, poetry.lock, pdm.lock, Pipfile.lock, pinned requirements)
returns a :class:`Lock`; `check`, `sync` and `audit` only ever see this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LockedArtifact:
    """One file a locked package can be installed from (a wheel, an sdist, an archive)."""

    kind: str  # "wheel" | "sdist" | "archive"
    url: str | None = None
    path: str | None = None
    filename: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (algorithm, hex digest)


@dataclass(frozen=True)
class LockedPackage:
    """One package pinned by a lock. ``version`` is None for a directory/VCS entry without one."""

    name: str
    version: str | None
    marker: str | None = None
    requires_python: str | None = None
    artifacts: tuple[LockedArtifact, ...] = ()
    vcs: dict[str, str] | None = field(default=None, hash=False, compare=False)
    directory: dict[str, object] | None = field(default=None, hash=False, compare=False)
    editable: bool = False
    groups: tuple[str, ...] = ()  # extras / dependency groups the entry belongs to (when the format says)


@dataclass(frozen=True)
class Lock:
    """A parsed lockfile. ``format`` is one of pylock, uv, poetry, pdm, pipfile, requirements."""

    path: str
    format: str
    packages: tuple[LockedPackage, ...]
    requires_python: str | None = None
    warnings: tuple[str, ...] = ()
