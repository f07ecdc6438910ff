"""Rules on drift from a lockfile: ``lock-missing``, ``lock-extra``, ``lock-version-mismatch``
(and ``python-mismatch`` against the lock's ``requires-python``).

The lock is read with ``envkernels.lockfiles.read_lock`` and narrowed to the entries that apply to
this environment with ``applicable_packages``. An entry that applies only inside an extra or a
non-default group (a PEP 751 marker on ``extras``/``dependency_groups``, or reader-reported groups
other than the main ones) is optional: it is compared when installed, never reported missing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envkernels.errors import EnvKernelsError
from envkernels.inspect import hints
from envkernels.inspect.check_project import satisfies
from envkernels.inspect.context import CheckContext
from envkernels.inspect.markers import full_version
from envkernels.inspect.problems import InputProblem
from envkernels.model import Finding

if TYPE_CHECKING:  # the lockfiles package is imported only when a lock is compared
    from envkernels.lockfiles.model import Lock, LockedPackage

# Groups a plain install of the lock puts in (uv, Poetry and PDM install `dev` by default; `pipenv
# install`/`sync` leave Pipfile.lock's `develop` out).
_MAIN_GROUPS = {"main", "default", "project", "packages", "dev"}
# Installers a venv may be seeded with; a lock rarely lists them and they do not change the code that runs.
_BOOTSTRAP = {"pip", "setuptools", "wheel", "uv"}


def _default_groups(lock: Lock) -> frozenset[str]:
    """PEP 751 ``default-groups`` of a pylock (what an installer selects when told nothing)."""
    if lock.format != "pylock" or not lock.text:
        return frozenset()
    from envkernels.inspect.problems import tomllib

    try:
        groups = tomllib.loads(lock.text).get("default-groups") or []
    except tomllib.TOMLDecodeError:
        return frozenset()
    return frozenset(str(g) for g in groups if isinstance(g, str))


def _optional(pkg: LockedPackage, fmt: str, markers: dict[str, str], groups: frozenset[str]) -> bool:
    """True for an entry a plain install of the lock leaves out (only in extras or non-default groups)."""
    marker = pkg.marker
    if marker and ("extras" in marker or "dependency_groups" in marker):
        values: dict[str, object] = {**markers, "extras": frozenset(), "dependency_groups": groups}
        values.pop("extra", None)
        try:
            return not Marker(marker).evaluate(values, context="lock_file")  # type: ignore[arg-type]
        except Exception:  # a marker this packaging cannot evaluate: treat the entry as required
            return False
    if fmt == "requirements":  # a pin's `[extras]` are what to install with it, not a group it is in
        return False
    belongs = set(pkg.groups or ())
    return bool(belongs) and not (belongs & _MAIN_GROUPS)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def lock_drift(ctx: CheckContext) -> list[Finding]:
    """Compare the environment with ``ctx.lock``; an unreadable lock becomes an input problem."""
    if not ctx.lock:
        return []
    from envkernels.lockfiles import applicable_packages, read_lock

    path = ctx.lock
    ctx.inputs.append(path)
    try:
        lock = read_lock(path)
    except EnvKernelsError as exc:
        ctx.problems.append(InputProblem(path, exc.message, exc.hint))
        return []
    env = ctx.env
    fix = hints.sync_lock(path, env)
    findings: list[Finding] = []
    if lock.requires_python and env.python_version:
        specs = tuple(s.strip() for s in lock.requires_python.split("||"))
        if satisfies(full_version(env.python_version), specs) is False:
            findings.append(
                Finding(
                    "python-mismatch",
                    "error",
                    None,
                    f"the environment runs Python {full_version(env.python_version)}, "
                    f"but `{os.path.basename(path)}` "
                    f"was locked for requires-python `{lock.requires_python}`",
                    hints.recreate_with_python(env, specs[0]),
                )
            )
    installed = ctx.inventory.by_name()
    applicable = applicable_packages(lock, env)
    default_groups = _default_groups(lock)
    wanted: dict[str, list[LockedPackage]] = {}
    for pkg in applicable:
        if isinstance(pkg.directory, dict) and pkg.directory.get("virtual"):
            continue  # a virtual project root is never installed
        wanted.setdefault(canonicalize_name(pkg.name), []).append(pkg)
    for name, pkgs in wanted.items():
        dist = installed.get(name)
        optional = all(_optional(p, lock.format, ctx.markers, default_groups) for p in pkgs)
        versions = [p.version for p in pkgs if p.version]
        if dist is None:
            if optional:
                continue
            locked = versions[0] if versions else None
            findings.append(
                Finding(
                    "lock-missing",
                    "error",
                    name,
                    f"{name}{' ' + locked if locked else ''} is in `{os.path.basename(path)}` "
                    "but not installed",
                    fix,
                )
            )
            continue
        if versions and not any(_same_version(dist.pip_version, v) for v in versions):
            findings.append(
                Finding(
                    "lock-version-mismatch",
                    "error",
                    name,
                    f"{name} {dist.pip_version} is installed, "
                    f"but `{os.path.basename(path)}` locks {' or '.join(versions)}",
                    fix,
                )
            )
    locked_names = {canonicalize_name(p.name) for p in lock.packages}
    own = (
        {canonicalize_name(ctx.declarations.project_name)}
        if ctx.declarations and ctx.declarations.project_name
        else set()
    )
    for name, dist in sorted(installed.items()):
        if name in locked_names or name in own:
            continue
        bootstrap = name in _BOOTSTRAP
        findings.append(
            Finding(
                "lock-extra",
                "info" if bootstrap else "warning",
                name,
                f"{name} {dist.pip_version} is installed but not in `{os.path.basename(path)}`",
                hints.uv_uninstall(env, name)
                if bootstrap
                else f"{fix} (removes it), or add it to the project and re-lock",
            )
        )
    return findings
