"""Which entries of a lock apply to one environment: markers evaluated for that environment's Python.

The environment is described from its record (Python version, implementation) and this machine's
platform (the environments envkernels finds are on this machine). Formats that keep markers on
dependency edges (uv.lock) are walked from their roots; the others are filtered by each entry's
own marker.
"""

from __future__ import annotations

import functools
import platform
import sysconfig
from collections.abc import Iterable

from packaging import tags
from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from envkernels.core.layout import normalize_name
from envkernels.lockfiles.model import Lock, LockedPackage
from envkernels.model import Environment


def python_version_tuple(env: Environment) -> tuple[int, ...]:
    """The environment's Python version as integers (falls back to this interpreter's)."""
    raw = env.python_version or platform.python_version()
    parts = []
    for piece in raw.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def marker_environment(env: Environment) -> dict[str, str]:
    """PEP 508 marker values for ``env``: its Python version and implementation, this machine's platform."""
    values: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    ver = python_version_tuple(env)
    values["python_version"] = ".".join(str(v) for v in ver[:2])
    values["python_full_version"] = ".".join(str(v) for v in ((*ver, 0, 0))[:3])
    impl = (env.implementation or "cpython").lower()
    values["implementation_name"] = impl
    values["platform_python_implementation"] = {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl)
    values["implementation_version"] = (
        values["python_full_version"] if impl == "cpython" else values["implementation_version"]
    )
    return values


def env_tags(env: Environment) -> list[tags.Tag]:
    """The wheel tags ``env`` accepts, most specific first (computed for its Python version)."""
    ver = python_version_tuple(env)
    return list(_tags_for(ver[:2], bool(env.free_threaded), env.implementation or "cpython"))


@functools.lru_cache(maxsize=8)
def _tags_for(pyver: tuple[int, ...], free_threaded: bool, implementation: str) -> tuple[tags.Tag, ...]:
    # Cached: a sync checks the lock's wheels, re-plans under its lock and writes a snapshot,
    # each asking for the same ~1000 tags (sys_tags probes glibc/musl every time).
    if (
        pyver == tuple(int(x) for x in platform.python_version_tuple()[:2])
        and not free_threaded
        and (
            implementation == platform.python_implementation().lower()
            and not sysconfig.get_config_var("Py_GIL_DISABLED")
        )
    ):
        return tuple(tags.sys_tags())
    abi = f"cp{pyver[0]}{pyver[1]}{'t' if free_threaded else ''}"
    found = list(tags.cpython_tags(python_version=pyver, abis=[abi]))
    found += list(tags.compatible_tags(python_version=pyver, interpreter=f"cp{pyver[0]}{pyver[1]}"))
    return tuple(found)


def marker_applies(marker: str | None, values: dict[str, str]) -> bool | None:
    """True/False when the marker evaluates; None when it cannot (an unknown marker variable)."""
    if not marker:
        return True
    try:
        return Marker(marker).evaluate(dict(values))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return None


def python_supported(spec: str | None, env: Environment) -> bool:
    """True when ``spec`` (a PEP 440 specifier set) admits the environment's Python, or says nothing."""
    if not spec:
        return True
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        return True  # poetry's caret syntax and similar: not ours to judge
    version = ".".join(str(v) for v in ((*python_version_tuple(env), 0, 0))[:3])
    return specifier.contains(version, prereleases=True)


def applicable_packages(
    lock: Lock, env: Environment, groups: Iterable[str] | None = None
) -> list[LockedPackage]:
    """The lock's entries that ``env`` would install (markers true for it).

    ``groups`` limits formats that record groups (Pipfile ``default``/``develop``, poetry/pdm
    groups); None keeps every group, as a full sync does.
    """
    values = marker_environment(env)
    if lock.format == "uv" and any(p.dependencies for p in lock.packages):
        chosen = _walk_uv_graph(lock.packages, values)
    else:
        chosen = [p for p in lock.packages if marker_applies(p.marker, values) is not False]
    if groups is not None:
        wanted = set(groups)
        chosen = [p for p in chosen if not p.groups or wanted.intersection(p.groups)]
    return chosen


def _walk_uv_graph(packages: tuple[LockedPackage, ...], values: dict[str, str]) -> list[LockedPackage]:
    """Reachable packages from the roots (nothing depends on them), following edges whose marker holds."""
    by_name: dict[str, list[LockedPackage]] = {}
    for p in packages:
        by_name.setdefault(normalize_name(p.name), []).append(p)
    depended = {normalize_name(d[0]) for p in packages for d in p.dependencies}
    roots = [p for p in packages if normalize_name(p.name) not in depended] or list(packages)
    seen: dict[tuple[str, str | None], LockedPackage] = {}
    stack = list(roots)
    while stack:
        pkg = stack.pop()
        key = (normalize_name(pkg.name), pkg.version)
        if key in seen:
            continue
        seen[key] = pkg
        for name, marker, version in pkg.dependencies:
            if marker_applies(marker, values) is False:
                continue
            candidates = by_name.get(normalize_name(name), [])
            if version is not None:
                candidates = [c for c in candidates if c.version == version] or candidates
            if len(candidates) > 1:
                candidates = [
                    c for c in candidates if marker_applies(c.marker, values) is not False
                ] or candidates[:1]
            stack.extend(candidates[:1])
    order = {id(p): i for i, p in enumerate(packages)}
    return sorted(seen.values(), key=lambda p: order[id(p)])
