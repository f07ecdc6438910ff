"""The dependency graph of an environment: what pulls in what, and why a package is there.

Pure functions over :class:`~envkernels.core.distributions.InstalledDistribution` records (read
from disk, no interpreter started). Markers are evaluated for the environment's own Python
version, not the server's; a requirement's extras switch on the extra-only requirements of the
package it names, so ``requests[socks]`` makes ``requests`` pull in ``PySocks``.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from envkernels.core.distributions import InstalledDistribution
from envkernels.core.layout import normalize_name
from envkernels.model import PackageNode
from envkernels.model import Requirement as PackageRequirement

MAX_WHY_PATHS = 20


@dataclass(frozen=True)
class Edge:
    """``source`` requires ``target`` with ``specifier`` (``extra`` set when an extra asked for it)."""

    source: str
    target: str
    specifier: str
    extra: str | None
    installed: str | None
    satisfied: bool

    def requirement(self) -> PackageRequirement:
        """The requirement as the tree shows it (under its source package)."""
        return PackageRequirement(self.target, self.specifier, self.extra, self.installed, self.satisfied)


def marker_environment(python_version: str | None) -> dict[str, str]:
    """The PEP 508 marker environment of an environment with ``python_version`` on this machine."""
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    if python_version:
        parts = python_version.split(".")
        env["python_full_version"] = python_version
        env["python_version"] = ".".join(parts[:2])
    env.setdefault("platform_python_implementation", platform.python_implementation())
    return env


def _applies(req: Requirement, marker_env: dict[str, str], extra: str) -> bool:
    if req.marker is None:
        return extra == ""
    try:
        return bool(req.marker.evaluate({**marker_env, "extra": extra}))
    except (UndefinedComparison, UndefinedEnvironmentName, InvalidMarker):
        return False


def _mentions_extra(marker: Marker | None) -> bool:
    return marker is not None and "extra" in str(marker)


def _satisfied(req: Requirement, installed: str | None) -> bool:
    if installed is None:
        return False
    if not req.specifier:
        return True
    try:
        return req.specifier.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        return False


def build_edges(dists: Sequence[InstalledDistribution], python_version: str | None) -> list[Edge]:
    """Every requirement edge among ``dists`` that applies in this environment (first copy of a name wins)."""
    by_name: dict[str, InstalledDistribution] = {}
    for dist in dists:
        by_name.setdefault(dist.normalized, dist)
    parsed: dict[str, list[Requirement]] = {}
    for key, dist in by_name.items():
        reqs = []
        for line in dist.requires:
            try:
                reqs.append(Requirement(line))
            except InvalidRequirement:
                continue  # unreadable metadata is `check`'s business (invalid-metadata), not the graph's
        parsed[key] = reqs
    marker_env = marker_environment(python_version)

    # Which extras of each package someone asks for; grows as extra-only requirements add more.
    wanted: dict[str, set[str]] = {key: {""} for key in by_name}
    edges: dict[tuple[str, str, str | None], Edge] = {}
    queue = list(by_name)
    while queue:
        key = queue.pop()
        for req in parsed.get(key, ()):
            for extra in sorted(wanted[key]):
                if not _applies(req, marker_env, extra):
                    continue
                if extra and not _mentions_extra(req.marker):
                    continue  # a base requirement is recorded once, under extra ""
                target = normalize_name(req.name)
                found = by_name.get(target)
                installed = found.version if found else None
                edge_key = (key, target, extra or None)
                if edge_key not in edges:
                    edges[edge_key] = Edge(
                        source=by_name[key].name,
                        target=found.name if found else req.name,
                        specifier=str(req.specifier),
                        extra=extra or None,
                        installed=installed,
                        satisfied=_satisfied(req, installed),
                    )
                new = {normalize_name(e) for e in req.extras} - wanted.get(target, set())
                if found is not None and new:
                    wanted[target] |= new
                    queue.append(target)
    return sorted(edges.values(), key=lambda e: (normalize_name(e.source), normalize_name(e.target)))


def dependency_tree(
    dists: Sequence[InstalledDistribution], python_version: str | None
) -> tuple[PackageNode, ...]:
    """Each installed package (by name) with what it requires and what requires it."""
    edges = build_edges(dists, python_version)
    first: dict[str, InstalledDistribution] = {}
    for dist in dists:
        first.setdefault(dist.normalized, dist)
    requires: dict[str, list[Edge]] = {k: [] for k in first}
    required_by: dict[str, set[str]] = {k: set() for k in first}
    for edge in edges:
        requires[normalize_name(edge.source)].append(edge)
        target = normalize_name(edge.target)
        if target in required_by and normalize_name(edge.source) != target:
            required_by[target].add(first[normalize_name(edge.source)].name)
    return tuple(
        PackageNode(
            name=dist.name,
            version=dist.version,
            summary=dist.summary,
            requires=tuple(e.requirement() for e in requires[key]),
            required_by=tuple(sorted(required_by[key], key=normalize_name)),
        )
        for key, dist in sorted(first.items())
    )


def roots_of(packages: Sequence[PackageNode]) -> tuple[str, ...]:
    """The packages nothing else requires (what the user asked for)."""
    return tuple(p.name for p in packages if not p.required_by)


def why_paths(
    packages: Sequence[PackageNode], name: str, limit: int = MAX_WHY_PATHS
) -> tuple[tuple[str, ...], ...] | None:
    """The chains ``(root, ..., name)`` that explain why ``name`` is installed (None: not installed).

    A root package explains itself (``((name,),)``). Chains are simple paths found breadth-first,
    shortest first, at most ``limit`` of them.
    """
    by_name = {normalize_name(p.name): p for p in packages}
    want = normalize_name(name)
    if want not in by_name:
        return None
    found: list[tuple[str, ...]] = []
    frontier: list[tuple[str, ...]] = [(by_name[want].name,)]
    while frontier and len(found) < limit:
        nxt: list[tuple[str, ...]] = []
        for path in frontier:
            parents = by_name[normalize_name(path[0])].required_by
            if not parents:
                found.append(path)
                continue
            for parent in parents:
                if parent not in path:
                    nxt.append((parent, *path))
        frontier = nxt
    return tuple(found[:limit])
