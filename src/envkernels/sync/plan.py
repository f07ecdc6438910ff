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

from packaging.version import InvalidVersion, Version

from envkernels.core.distributions import (
    Identity,
    InstalledDistribution,
    Reuse,
    installed_distributions,
    scan_distributions,
)
from envkernels.core.layout import normalize_name
from envkernels.discovery.problems import only_interrupted
from envkernels.errors import BadInputError
from envkernels.lockfiles.model import Lock, LockedPackage
from envkernels.lockfiles.read import read_lock
from envkernels.lockfiles.select import (
    applicable_packages,
    env_tags,
    marker_applies,
    marker_environment,
    python_supported,
    python_version_tuple,
)
from envkernels.model import Change, Environment, PackageOrigin, Plan
from envkernels.model.codec import JSONObject
from envkernels.shared import refuse_change
from envkernels.sync.sources import PackageSource, package_sources
from envkernels.sync.uvcall import uses_lock_urls

# What `uv pip sync` leaves alone although a lock does not list them (uv's installer plan, checked
# against `uv pip sync --dry-run` by tests/conformance): the seed packages, unless uv made the venv
# without `--seed`. Which names count as seed depends on the Python: venv stopped seeding setuptools
# and wheel with 3.12, and uv follows.
SEED_PACKAGES: frozenset[str] = frozenset({"pip", "setuptools", "wheel", "uv"})
SEED_PACKAGES_312: frozenset[str] = frozenset({"pip", "uv"})


def _uv_venv_cfg(prefix: str) -> tuple[bool, bool] | None:
    """(made by uv, seeded) from ``pyvenv.cfg`` read as uv reads it; None when there is none.

    uv splits each line at its first ``=`` and compares the trimmed key exactly (no lowercasing):
    a ``uv`` key marks its own venvs, ``seed`` is true only when its value is ``true`` in any case.
    """
    try:
        text = (Path(prefix) / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    made_by_uv = seeded = False
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key.strip() == "uv":
            made_by_uv = True
        elif key.strip() == "seed":
            seeded = value.strip().lower() == "true"
    return made_by_uv, seeded


def kept_by_uv(prefix: str, python: tuple[int, ...]) -> frozenset[str]:
    """Distributions ``uv pip sync`` will not remove from ``prefix`` even when the lock omits them.

    ``python`` is the environment's (major, minor). Seed packages are kept in every environment
    except a venv uv created without ``--seed``: venvs of ``python -m venv``, virtualenv, poetry,
    pipenv, pdm and hatch keep their pip (and, before Python 3.12, setuptools and wheel).
    """
    cfg = _uv_venv_cfg(prefix)
    if cfg is not None and cfg[0] and not cfg[1]:
        return frozenset()
    return SEED_PACKAGES_312 if tuple(python[:2]) >= (3, 12) else SEED_PACKAGES


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
    # Packages that are not plain index downloads (local directories, VCS, URLs, builds, and the
    # origins of a pylock's files): shown in the plan, checked against the caller's policy.
    sources: tuple[PackageSource, ...] = ()

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every change, in the order install, upgrade, downgrade, reinstall, remove."""
        return self.install + self.upgrade + self.downgrade + self.reinstall + self.remove

    @property
    def is_empty(self) -> bool:
        """True when the environment already matches the lock."""
        return not self.changes

    def record(self) -> Plan:
        """The plan as the result model holds it (what is shown and sent)."""
        return Plan(
            lock=self.lock_path,
            format=self.lock_format,
            prefix=self.prefix,
            install=self.install,
            upgrade=self.upgrade,
            downgrade=self.downgrade,
            reinstall=self.reinstall,
            remove=self.remove,
            unchanged=self.unchanged,
            is_empty=self.is_empty,
            warnings=tuple(self.warnings),
            sources=tuple(PackageOrigin(s.name, s.kind, s.where) for s in self.sources),
        )

    def to_dict(self) -> JSONObject:
        """The JSON shape (CLI ``--json``, REST ``sync`` with ``dry_run``): :class:`Plan`'s."""
        return self.record().to_dict()

    def text(self) -> str:
        """The plan as lines a person reads (``+ name 1.0``, ``^ name 1.0 -> 2.0``, ...)."""
        if self.is_empty:
            return f"`{self.prefix}` already matches `{self.lock_path}` ({self.unchanged} packages)"
        lines = [f"sync `{self.prefix}` to `{self.lock_path}`:"]
        marks: dict[str, list[str]] = {}
        for s in self.sources:
            if s.kind != "index":
                marks.setdefault(normalize_name(s.name), []).append(s.label())
        for sign, group in (
            ("+", self.install),
            ("^", self.upgrade),
            ("v", self.downgrade),
            ("~", self.reinstall),
            ("-", self.remove),
        ):
            for c in group:
                mark = "".join(f" {m}" for m in marks.get(normalize_name(c.name), ()) if c.new)
                if c.old and c.new:
                    lines.append(f"  {sign} {c.name} {c.old} -> {c.new}{mark}")
                else:
                    lines.append(f"  {sign} {c.name} {c.new or c.old or ''}{mark}".rstrip())
        counts = (
            f"{len(self.install)} to install, {len(self.upgrade)} to upgrade, {len(self.downgrade)} to "
            f"downgrade, {len(self.reinstall)} to reinstall, {len(self.remove)} to remove, "
            f"{self.unchanged} unchanged"
        )
        lines.append(counts)
        direct = [s for s in self.sources if s.kind != "index"]
        if direct:
            lines.append("not plain downloads from the package index (uv builds or fetches them as named):")
            lines += [f"  ! {s.name} {s.label()}" for s in direct]
        origins = sorted({s.where for s in self.sources if s.kind == "index"})
        if origins:
            lines.append(f"files are downloaded from the URLs in the lock: {', '.join(origins)}")
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
    # A shared environment is the administrator's: it is never planned for a change (fork it).
    refuse_change(env.id, env.prefix, "sync")
    if not isinstance(lock, Lock):
        lock = read_lock(lock)
    if env.status != "ok" and not only_interrupted(env):  # a rollback must be able to run
        raise BadInputError(f"the environment `{env.prefix}` is broken: {env.problem}", hint=env.hint)
    check_lock_applies(lock, env)
    if not lock.packages and lock.format != "pylock":
        # An empty or truncated file would plan the removal of everything installed; uv refuses
        # an empty requirements file too. A PEP 751 lock states `packages = []` on purpose (and
        # envkernels' snapshot of an empty environment is one), so that one is planned as asked.
        raise BadInputError(
            f"`{lock.path}` lists no packages; syncing to it would remove everything installed",
            hint="check that this is the lock you meant (an empty or cut-short file?); "
            "regenerate it with the tool that wrote it",
        )
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
    kept = kept_by_uv(env.prefix, python_version_tuple(env))
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
        sources=package_sources(lock, wanted, env_tags(env), uses_lock_urls(lock, wanted)),
    )


def _source_label(pkg: LockedPackage) -> str:
    if pkg.directory is not None:
        return f"(directory {pkg.directory.get('path')})"
    if pkg.vcs is not None:
        return f"({pkg.vcs.get('type', 'vcs')} {pkg.vcs.get('url') or pkg.vcs.get('path')})"
    if pkg.archive is not None:
        return f"(archive {pkg.archive.get('url') or pkg.archive.get('path')})"
    return "?"


def changes_between(
    before: Iterable[tuple[InstalledDistribution, Identity]],
    after: Iterable[tuple[InstalledDistribution, Identity]],
) -> dict[str, tuple[Change, ...]]:
    """What actually changed between two scans of one environment (``scan_distributions`` results).

    Grouped as a plan is (``install``, ``upgrade``, ``downgrade``, ``reinstall``, ``remove``). A
    distribution with the same name and version counts as reinstalled when its metadata folder was
    replaced (another path, or another identity: an installer writes a fresh folder).
    """

    Scan = Iterable[tuple[InstalledDistribution, Identity]]

    def first(scan: Scan) -> dict[str, tuple[InstalledDistribution, Identity]]:
        found: dict[str, tuple[InstalledDistribution, Identity]] = {}
        for dist, ident in scan:
            found.setdefault(normalize_name(dist.name), (dist, ident))
        return found

    old, new = first(before), first(after)
    groups: dict[str, list[Change]] = {
        k: [] for k in ("install", "upgrade", "downgrade", "reinstall", "remove")
    }
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was is None and now is not None:
            groups["install"].append(Change(now[0].name, None, now[0].version))
        elif now is None and was is not None:
            groups["remove"].append(Change(was[0].name, was[0].version, None))
        elif was is not None and now is not None:
            (a, a_ident), (b, b_ident) = was, now
            order = _compare(a.version, b.version)
            if a.version == b.version and a.path == b.path and a_ident == b_ident:
                continue
            if order is None or order == 0:
                groups["reinstall"].append(Change(b.name, a.version, b.version))
            else:
                groups["upgrade" if order < 0 else "downgrade"].append(Change(b.name, a.version, b.version))
    return {k: tuple(v) for k, v in groups.items()}
