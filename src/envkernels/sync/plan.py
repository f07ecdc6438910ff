"""The sync plan (pure): what to install, upgrade, downgrade and remove so an environment matches a lock.

``plan_sync(lock, env)`` compares the lock's entries that apply to ``env`` (markers evaluated for
its Python) with the distributions installed on disk. Nothing is changed; ``apply_sync`` carries a
plan out. A lock for another platform or Python is refused here, before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from envkernels.discovery.layout import normalize_name, read_pyvenv_cfg
from envkernels.errors import BadInputError
from envkernels.inspect.installed import (
    Identity,
    InstalledDistribution,
    Reuse,
    installed_distributions,
    scan_distributions,
)
from envkernels.lockfiles.model import Lock, LockedPackage
from envkernels.lockfiles.read import read_lock
from envkernels.lockfiles.select import (
    applicable_packages,
    env_tags,
    marker_applies,
    marker_environment,
    python_supported,
)
from envkernels.model import Environment

# What `uv pip sync` leaves alone although a lock does not list them: the seed packages of a venv
# created with `uv venv --seed` (pyvenv.cfg says `seed = true`). Observed with uv 0.13.
SEED_PACKAGES: frozenset[str] = frozenset({"pip", "setuptools", "wheel"})


def kept_by_uv(prefix: str) -> frozenset[str]:
    """Distributions ``uv pip sync`` will not remove from ``prefix`` even when the lock omits them."""
    cfg = read_pyvenv_cfg(Path(prefix)) or {}
    return SEED_PACKAGES if cfg.get("seed", "").lower() == "true" else frozenset()


@dataclass(frozen=True)
class Change:
    """One package the sync changes: ``old`` is None for an install, ``new`` None for a removal."""

    name: str
    old: str | None
    new: str | None

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "from", "to"}``."""
        return {"name": self.name, "from": self.old, "to": self.new}


@dataclass(frozen=True)
class SyncPlan:
    """What a sync would do. ``packages`` are the lock entries it installs from."""

    lock_path: str
    lock_format: str
    prefix: str
    install: tuple[Change, ...] = ()
    upgrade: tuple[Change, ...] = ()
    downgrade: tuple[Change, ...] = ()
    reinstall: tuple[Change, ...] = ()  # same name, a version that does not compare (local/VCS)
    remove: tuple[Change, ...] = ()
    unchanged: int = 0
    warnings: tuple[str, ...] = ()
    packages: tuple[LockedPackage, ...] = field(default=(), repr=False, compare=False)
    lock: Lock | None = field(default=None, repr=False, compare=False)
    # What the plan saw installed, with each metadata folder's identity: apply_sync re-plans under
    # its lock and re-reads only the folders that changed since (see ``scan_distributions``).
    scanned: tuple[tuple[InstalledDistribution, Identity], ...] = field(default=(), repr=False, compare=False)

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every change, in the order install, upgrade, downgrade, reinstall, remove."""
        return self.install + self.upgrade + self.downgrade + self.reinstall + self.remove

    @property
    def is_empty(self) -> bool:
        """True when the environment already matches the lock."""
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (CLI ``--json``, REST ``sync`` with ``dry_run``)."""
        return {
            "lock": self.lock_path,
            "format": self.lock_format,
            "prefix": self.prefix,
            "install": [c.to_dict() for c in self.install],
            "upgrade": [c.to_dict() for c in self.upgrade],
            "downgrade": [c.to_dict() for c in self.downgrade],
            "reinstall": [c.to_dict() for c in self.reinstall],
            "remove": [c.to_dict() for c in self.remove],
            "unchanged": self.unchanged,
            "is_empty": self.is_empty,
            "warnings": list(self.warnings),
        }

    def text(self) -> str:
        """The plan as lines a person reads (``+ name 1.0``, ``^ name 1.0 -> 2.0``, ...)."""
        if self.is_empty:
            return f"`{self.prefix}` already matches `{self.lock_path}` ({self.unchanged} packages)"
        lines = [f"sync `{self.prefix}` to `{self.lock_path}`:"]
        for sign, group in (
            ("+", self.install),
            ("^", self.upgrade),
            ("v", self.downgrade),
            ("~", self.reinstall),
            ("-", self.remove),
        ):
            for c in group:
                if c.old and c.new:
                    lines.append(f"  {sign} {c.name} {c.old} -> {c.new}")
                else:
                    lines.append(f"  {sign} {c.name} {c.new or c.old or ''}".rstrip())
        counts = (
            f"{len(self.install)} to install, {len(self.upgrade)} to upgrade, {len(self.downgrade)} to "
            f"downgrade, {len(self.reinstall)} to reinstall, {len(self.remove)} to remove, "
            f"{self.unchanged} unchanged"
        )
        lines.append(counts)
        return "\n".join(lines)


def _env_label(env: Environment) -> str:
    values = marker_environment(env)
    return f"Python {env.python_version} on {values['sys_platform']} {values['platform_machine']}"


def check_lock_applies(lock: Lock, env: Environment) -> None:
    """Raise BadInputError when ``lock`` was made for another platform or Python than ``env``."""
    values = marker_environment(env)
    hint = "lock the environment where it runs (`envkernels lock`), or use a lock for this platform/Python"
    if lock.environments and not any(marker_applies(m, values) is not False for m in lock.environments):
        raise BadInputError(
            f"`{lock.path}` is for {' or '.join(lock.environments)}, "
            f"not for this environment ({_env_label(env)})",
            hint=hint,
        )
    if not python_supported(lock.requires_python, env):
        raise BadInputError(
            f"`{lock.path}` requires Python {lock.requires_python}; the environment has {env.python_version}",
            hint=hint,
        )
    if lock.format == "pylock":
        tags = set(env_tags(env))
        for pkg in lock.packages:
            wheels = [a for a in pkg.artifacts if a.kind == "wheel" and a.filename]
            if wheels and not any(a.kind == "sdist" for a in pkg.artifacts):
                from packaging.utils import parse_wheel_filename

                if not any(
                    tags.intersection(parse_wheel_filename(a.filename)[3]) for a in wheels if a.filename
                ):
                    raise BadInputError(
                        f"`{lock.path}` has no wheel of {pkg.name} {pkg.version} for this environment "
                        f"({_env_label(env)}), and no source distribution",
                        hint=hint,
                    )


def installed_map(
    prefix: str, distributions: Iterable[InstalledDistribution] | None = None
) -> dict[str, InstalledDistribution]:
    """What ``prefix`` has installed, by normalized name (the first copy of a name, as pip sees it).

    ``distributions``: ``installed_distributions(prefix)`` when the caller has already read it.
    """
    found: dict[str, InstalledDistribution] = {}
    for d in installed_distributions(prefix) if distributions is None else distributions:
        found.setdefault(normalize_name(d.name), d)
    return found


def _compare(old: str, new: str) -> int | None:
    try:
        a, b = Version(old), Version(new)
    except InvalidVersion:
        return None
    return (a > b) - (a < b)


def plan_sync(
    lock: str | os.PathLike[str] | Lock,
    env: Environment,
    *,
    installed: Mapping[str, InstalledDistribution] | None = None,
    reuse: Reuse | None = None,
) -> SyncPlan:
    """The plan that makes ``env`` match ``lock`` (a path or a read Lock); changes nothing.

    ``installed`` (from :func:`installed_map`) saves a second scan of site-packages when the
    caller has just read it; else ``reuse`` (as for ``scan_distributions``) spares re-reading
    the metadata folders that have not changed.
    """
    if not isinstance(lock, Lock):
        lock = read_lock(lock)
    if env.status != "ok":
        raise BadInputError(f"the environment `{env.prefix}` is broken: {env.problem}", hint=env.hint)
    check_lock_applies(lock, env)
    # A uv "virtual" project root is not installed by uv either (it has no build system).
    wanted = [p for p in applicable_packages(lock, env) if not (p.directory or {}).get("virtual")]
    warnings = list(lock.warnings)
    unpinned = [
        p.name
        for p in wanted
        if p.version is None and p.directory is None and p.vcs is None and p.archive is None
    ]
    if unpinned:
        raise BadInputError(
            f"`{lock.path}` does not pin a version for {', '.join(unpinned[:5])}",
            hint="a sync needs exact pins (`name==version`); compile one with `uv pip compile`",
        )
    scanned: tuple[tuple[InstalledDistribution, Identity], ...] = ()
    if installed is None:
        scanned = tuple(scan_distributions(env.prefix, reuse))
        installed = installed_map(env.prefix, (d for d, _ident in scanned))
    install, upgrade, downgrade, reinstall = [], [], [], []
    unchanged = 0
    seen: set[str] = set()
    for pkg in wanted:
        key = normalize_name(pkg.name)
        if key in seen:
            warnings.append(f"{pkg.name} is listed twice for this environment; the first entry is used")
            continue
        seen.add(key)
        have = installed.get(key)
        new = pkg.version
        if have is None:
            install.append(Change(pkg.name, None, new or _source_label(pkg)))
        elif new is None:
            # A local directory / VCS entry without a version: uv reinstalls it when its source differs.
            unchanged += 1
        else:
            order = _compare(have.version, new)
            if order == 0:
                unchanged += 1
            elif order is None:
                reinstall.append(Change(pkg.name, have.version, new))
            elif order < 0:
                upgrade.append(Change(pkg.name, have.version, new))
            else:
                downgrade.append(Change(pkg.name, have.version, new))
    kept = kept_by_uv(env.prefix)
    remove = [
        Change(d.name, d.version, None)
        for key, d in sorted(installed.items())
        if key not in seen and key not in kept
    ]
    return SyncPlan(
        lock_path=lock.path,
        lock_format=lock.format,
        prefix=env.prefix,
        install=tuple(install),
        upgrade=tuple(upgrade),
        downgrade=tuple(downgrade),
        reinstall=tuple(reinstall),
        remove=tuple(remove),
        unchanged=unchanged,
        warnings=tuple(warnings),
        packages=tuple(p for p in wanted),
        lock=lock,
        scanned=scanned,
    )


def _source_label(pkg: LockedPackage) -> str:
    if pkg.directory is not None:
        return f"(directory {pkg.directory.get('path')})"
    if pkg.vcs is not None:
        return f"({pkg.vcs.get('type', 'vcs')} {pkg.vcs.get('url') or pkg.vcs.get('path')})"
    if pkg.archive is not None:
        return f"(archive {pkg.archive.get('url') or pkg.archive.get('path')})"
    return "?"
