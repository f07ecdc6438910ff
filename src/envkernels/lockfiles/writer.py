"""Lock an installed environment: a PEP 751 pylock.toml of exactly what is installed.

``lock_environment(env)`` reads the installed distributions from disk, asks the package index
(concurrently, through the simple API) for each one's files and sha256 hashes, builds the
document (:mod:`envkernels.lockfiles.pylock_build`), validates it with ``packaging.pylock`` and
writes it atomically (every existing version is kept as ``<name>.<UTC time>.bak``), or into a
notebook's metadata.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from envkernels._version import __version__
from envkernels.core.atomic import atomic_write_text, file_lock
from envkernels.core.distributions import InstalledDistribution, installed_distributions
from envkernels.core.layout import normalize_name
from envkernels.errors import BadInputError
from envkernels.lockfiles.formats.pylock import validate_pylock
from envkernels.lockfiles.index_config import resolve_index_config
from envkernels.lockfiles.owner import environment_record
from envkernels.lockfiles.pylock_build import Entry, build_document, entry_from_direct_url, entry_from_index
from envkernels.lockfiles.select import env_tags, marker_environment, python_version_tuple
from envkernels.model import Environment, LockGap, LockSummary
from envkernels.model.codec import JSONObject

if TYPE_CHECKING:
    from envkernels.lockfiles.index_client import IndexFile

Progress = Callable[[str, int, int], None]
"""``progress(message, done, total)``: called as long operations advance."""

WORKERS = 16


@dataclass
class LockResult:
    """What ``lock_environment`` did: the text, where it went, and what the lock cannot give back."""

    path: str | None
    text: str
    packages: int
    missing: list[dict[str, str]] = field(default_factory=list)
    not_reproducible: list[dict[str, str]] = field(default_factory=list)
    project_lock: str | None = None
    project_lock_agrees: bool | None = None
    project_lock_differences: list[str] = field(default_factory=list)
    notebook: str | None = None
    backup: str | None = None
    index: str | None = None
    warnings: list[str] = field(default_factory=list)

    def record(self) -> LockSummary:
        """The written lock as the result model holds it."""

        def gaps(items: list[dict[str, str]]) -> tuple[LockGap, ...]:
            return tuple(LockGap(i["name"], i.get("version"), i.get("reason") or "") for i in items)

        return LockSummary(
            path=self.path,
            notebook=self.notebook,
            text=self.text,
            packages=self.packages,
            missing=gaps(self.missing),
            not_reproducible=gaps(self.not_reproducible),
            project_lock=self.project_lock,
            project_lock_agrees=self.project_lock_agrees,
            project_lock_differences=tuple(self.project_lock_differences),
            backup=self.backup,
            index=self.index,
            warnings=tuple(self.warnings),
        )

    def to_dict(self) -> JSONObject:
        """The JSON shape (CLI ``--json``, REST): :class:`LockSummary`'s."""
        return self.record().to_dict()

    def summary(self) -> str:
        """One line saying what was locked and what is missing."""
        where = self.notebook or self.path or "stdout"
        hashed = self.packages - len(self.missing)
        line = f"locked {self.packages} packages ({hashed} with hashes) into `{where}`"
        if self.missing:
            line += f"; {len(self.missing)} without hashes: " + ", ".join(m["name"] for m in self.missing[:5])
            line += ", ..." if len(self.missing) > 5 else ""
        if self.not_reproducible:
            line += f"; {len(self.not_reproducible)} not reproducible: "
            line += ", ".join(m["name"] for m in self.not_reproducible[:5])
        if self.project_lock_agrees is not None:
            state = "agrees" if self.project_lock_agrees else "does NOT agree"
            line += f"; `{os.path.basename(self.project_lock or '')}` {state} with what is installed"
        return line


def environment_marker(env: Environment) -> str:
    """The PEP 751 ``environments`` marker: this platform, this implementation, this Python X.Y."""
    values = marker_environment(env)
    return (
        f"sys_platform == '{values['sys_platform']}' and platform_machine == '{values['platform_machine']}'"
        f" and implementation_name == '{values['implementation_name']}'"
        f" and python_version == '{values['python_version']}'"
    )


def environment_summary(env: Environment, packages: int) -> dict[str, Any]:
    """The ``metadata.envkernels.environment`` record a notebook carries beside its lock."""
    return {
        "id": env.id,
        "kind": env.kind,
        "name": env.name,
        "python_version": env.python_version,
        "implementation": env.implementation,
        "platform": f"{platform.system().lower()}-{platform.machine()}",
        "packages": packages,
        "locked_by": f"envkernels {__version__}",
    }


def _unique(dists: list[InstalledDistribution]) -> tuple[list[InstalledDistribution], list[str]]:
    seen: dict[str, InstalledDistribution] = {}
    warnings = []
    for d in dists:
        if d.problem:
            warnings.append(f"`{d.path}`: {d.problem}; left out of the lock")
            continue
        key = normalize_name(d.name)
        if key in seen:
            warnings.append(
                f"{d.name} is installed twice; the lock records {seen[key].version} (first on the path)"
            )
            continue
        seen[key] = d
    return list(seen.values()), warnings


def _fetch_all(
    dists: list[InstalledDistribution], indexes: tuple[str, ...], progress: Progress | None
) -> dict[str, tuple[list[IndexFile] | None, str, str | None]]:
    """name → (files or None, index that answered, error) for every distribution, asked concurrently."""
    # Imported here: the http/ssl machinery is only needed when the index is asked (not for snapshots).
    from envkernels.lockfiles.index_client import IndexError_, project_files

    results: dict[str, tuple[list[IndexFile] | None, str, str | None]] = {}
    total = len(dists)

    def ask(d: InstalledDistribution) -> tuple[str, list[IndexFile] | None, str, str | None]:
        last_error = None
        for idx in indexes:
            try:
                files = project_files(idx, d.name, version=d.version)
            except IndexError_ as exc:
                last_error = str(exc)
                continue
            if files is not None and any(f.filename for f in files):
                return d.name, files, idx, None
        return d.name, None, indexes[0], last_error

    if not dists:
        return results
    with ThreadPoolExecutor(max_workers=min(WORKERS, total)) as pool:
        for done, (name, files, idx, err) in enumerate(pool.map(ask, dists), 1):
            results[name] = (files, idx, err)
            if progress:
                progress(f"asked the index for {name}", done, total)
    return results


def project_lock_agreement(
    env: Environment, installed: dict[str, str]
) -> tuple[str | None, bool | None, list[str]]:
    """For a uv/poetry/pdm project: (its lockfile, does it agree with what is installed, differences)."""
    from envkernels.lockfiles.read import read_lock
    from envkernels.lockfiles.select import applicable_packages

    candidates = [p for p in env.lockfiles if os.path.basename(p) in ("uv.lock", "poetry.lock", "pdm.lock")]
    if not candidates:
        return None, None, []
    path = candidates[0]
    try:
        lock = read_lock(path)
    except BadInputError as exc:
        return path, False, [exc.message]
    diffs = []
    for pkg in applicable_packages(lock, env):
        if pkg.directory is not None or pkg.editable or pkg.version is None:
            continue  # the project itself and local members are not pinned by version
        have = installed.get(normalize_name(pkg.name))
        if have is None:
            diffs.append(f"{pkg.name} {pkg.version} is locked but not installed")
        elif have != pkg.version:
            diffs.append(f"{pkg.name} is locked at {pkg.version}, installed {have}")
    return path, not diffs, diffs


def lock_environment(
    env: Environment,
    *,
    output: str | None = None,
    notebook: str | None = None,
    hashes: bool = True,
    index_url: str | None = None,
    progress: Progress | None = None,
    check_project_lock: bool = True,
    distributions: Sequence[InstalledDistribution] | None = None,
) -> LockResult:
    """Lock ``env`` into a pylock.toml.

    ``output``: the file to write (default ``pylock.toml`` in the current directory when no
    ``notebook`` is given; ``"-"`` writes nothing and only returns the text). ``notebook``: also
    write the lock into that notebook's ``metadata.envkernels``. ``hashes=False`` skips the index.
    ``check_project_lock=False`` skips comparing a uv/poetry/pdm project's own lockfile.
    ``distributions``: what ``installed_distributions(env.prefix)`` returned, when the caller has
    just read it (a sync's snapshot), so site-packages is not scanned again.
    """
    if distributions is None:
        from envkernels.discovery.problems import require_readable

        require_readable(env.prefix, "lock")  # an unreadable environment is not an empty one
        distributions = installed_distributions(env.prefix)
    dists, warnings = _unique(list(distributions))
    config = resolve_index_config(index_url)
    if config.skipped:
        warnings.append(
            "index(es) "
            + ", ".join(f"`{u}`" for u in config.skipped)
            + " not asked: only http(s) indexes give URLs other machines can fetch"
        )
    if output is None and notebook is None:
        output = "pylock.toml"
    base_dir = (
        str(Path(output).resolve().parent)
        if output and output != "-"
        else (str(Path(notebook).resolve().parent) if notebook else None)
    )
    direct = [d for d in dists if d.direct_url]
    from_index = [d for d in dists if not d.direct_url]
    fetched = _fetch_all(from_index, config.all, progress) if hashes else {}
    tags = env_tags(env)
    entries: list[Entry] = [entry_from_direct_url(d, base_dir) for d in direct]
    for d in from_index:
        if not hashes:
            entries.append(Entry(d.name, d.version, None, missing="--no-hashes: the index was not asked"))
            continue
        files, idx, err = fetched[d.name]
        entries.append(entry_from_index(d, files, tags, idx, err))
    ver = python_version_tuple(env)
    doc = build_document(
        entries,
        environment_marker=environment_marker(env),
        requires_python=f"=={ver[0]}.{ver[1]}.*",
        tool={
            "python": env.python_version or "",
            "index": config.primary,
            # Whose lock this is: a check applies it to this environment only (lockfiles/owner.py).
            "environment": environment_record(
                env, str(Path(output).resolve().parent) if output and output != "-" else None
            ),
        },
    )
    validate_pylock(doc, output or notebook or "pylock.toml")
    text = f"# Locked by envkernels {__version__} from `{env.prefix}`.\n" + tomli_w.dumps(doc)
    installed = {normalize_name(d.name): d.version for d in dists}
    proj_lock, agrees, diffs = (
        project_lock_agreement(env, installed) if check_project_lock else (None, None, [])
    )
    result = LockResult(
        path=None,
        text=text,
        packages=len(entries),
        missing=[
            {"name": e.name, "version": e.version, "reason": e.missing or ""} for e in entries if e.missing
        ],
        not_reproducible=[
            {"name": e.name, "version": e.version, "reason": e.not_reproducible}
            for e in entries
            if e.not_reproducible
        ],
        project_lock=proj_lock,
        project_lock_agrees=agrees,
        project_lock_differences=diffs,
        index=config.primary,
        warnings=warnings,
    )
    result.missing.sort(key=lambda m: m["name"].lower())
    if output and output != "-":
        with file_lock(output):
            result.backup = atomic_write_text(output, text, backup=True)
        result.path = str(Path(output).resolve())
    if notebook:
        from envkernels.lockfiles.notebook import write_notebook_lock

        write_notebook_lock(notebook, text, environment_summary(env, len(entries)))
        result.notebook = str(Path(notebook).resolve())
    return result
