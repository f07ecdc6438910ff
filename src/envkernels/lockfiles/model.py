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
    # Added by the lockfile readers: edges for formats whose markers live on dependencies
    # (uv.lock): (name, marker or None, version or None); `index` the registry URL when known.
    dependencies: tuple[tuple[str, str | None, str | None], ...] = field(default=(), compare=False)
    index: str | None = None
    archive: dict[str, object] | None = field(default=None, hash=False, compare=False)

    @property
    def hashed(self) -> bool:
        """True when at least one artifact carries a hash."""
        return any(a.hashes for a in self.artifacts)


@dataclass(frozen=True)
class Lock:
    """A parsed lockfile. ``format`` is one of pylock, uv, poetry, pdm, pipfile, requirements."""

    path: str
    format: str
    packages: tuple[LockedPackage, ...]
    requires_python: str | None = None
    warnings: tuple[str, ...] = ()
    # Added by the lockfile readers.
    lock_version: str | None = None
    created_by: str | None = None
    environments: tuple[str, ...] = ()  # PEP 751 `environments` markers (the lock applies to one of them)
    origin: str = "file"  # "file", or "notebook" when read from `metadata.envkernels.lock`
    text: str | None = field(default=None, repr=False, compare=False)  # the lock text as read (pylock only)

    @property
    def has_hashes(self) -> bool:
        """True when every package with artifacts has at least one hash (so uv can check them)."""
        with_artifacts = [p for p in self.packages if p.artifacts]
        return bool(with_artifacts) and all(p.hashed for p in with_artifacts)

    def package(self, name: str) -> LockedPackage | None:
        """The first entry for ``name`` (PEP 503 normalized comparison)."""
        from envkernels.core.layout import normalize_name

        want = normalize_name(name)
        return next((p for p in self.packages if normalize_name(p.name) == want), None)
