"""An environment's installed distributions, read once and kept while nothing they were read from changed.

``inventory(prefix)`` answers from an in-process memo, else from the on-disk cache, else by
reading the files. The answer is reused only while every stamp still matches: ``pyvenv.cfg``, the
directories on the environment's path (a distribution added or removed), every ``.pth`` and
``.egg-link`` file, and each distribution's identity (its metadata directory and the files read
from it: ``installed.distribution_identity``). When something changed, only the distributions
whose identity changed are read again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envkernels.core.distributions import (
    Identity,
    InstalledDistribution,
    folder_name,
    path_files,
    scan_distributions,
    search_path,
)
from envkernels.core.layout import site_packages_dirs
from envkernels.core.stamps import stamps as stamps_of
from envkernels.core.stamps import still_valid
from envkernels.inspect import cache


@dataclass(frozen=True)
class Inventory:
    """The distributions on an environment's path, and the stamps that say when to read them again."""

    prefix: str
    distributions: tuple[InstalledDistribution, ...]
    path: tuple[str, ...]
    stamps: tuple[tuple[Any, ...], ...]
    identities: tuple[Identity, ...] = ()  # each distribution's identity (to reuse it when unchanged)

    def visible(self) -> list[InstalledDistribution]:
        """The first distribution of each name on the path (the one imports and pip see)."""
        seen: set[str] = set()
        out = []
        for d in self.distributions:
            key = folder_name(os.path.basename(d.path))
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out

    def by_name(self) -> dict[str, InstalledDistribution]:
        """Normalized name -> the visible distribution of that name."""
        return {folder_name(os.path.basename(d.path)): d for d in self.visible()}

    def module_map(self) -> dict[str, list[str]]:
        """Top-level import name -> the visible distributions that provide it (packages_distributions)."""
        out: dict[str, list[str]] = {}
        for d in self.visible():
            for mod in d.top_level:
                out.setdefault(mod, []).append(d.normalized)
        return out


_MEMO: dict[str, Inventory] = {}


def _stamp_paths(prefix: str, path: list[str]) -> list[str]:
    roots = [str(p) for p in site_packages_dirs(prefix)]
    return [os.path.join(prefix, "pyvenv.cfg"), *roots, *path, *path_files(prefix, [Path(p) for p in path])]


def _valid(inv: Inventory) -> bool:
    return still_valid(inv.stamps)


def _from_payload(prefix: str, data: dict[str, Any]) -> Inventory | None:
    try:
        dists = tuple(InstalledDistribution.from_dict(d) for d in data["distributions"])
        identities = tuple(tuple(tuple(s) for s in ident) for ident in data["identities"])
        if len(identities) != len(dists):
            return None
        return Inventory(
            prefix=prefix,
            distributions=dists,
            path=tuple(data["path"]),
            stamps=tuple(tuple(s) for s in data["stamps"]),
            identities=identities,
        )
    except (KeyError, TypeError, ValueError):
        return None


def inventory(prefix: str, *, use_cache: bool = True) -> Inventory:
    """The distributions of ``prefix`` (memoized in-process and on disk, valid while every stamp holds).

    When the stamps say something changed, only the metadata folders that are new or changed
    are read again; the others are taken from the previous inventory.
    """
    prefix = os.path.realpath(prefix)
    key = cache.key_hash("inventory", prefix)
    previous: Inventory | None = None
    if use_cache:
        previous = _MEMO.get(prefix)
        if previous is not None and _valid(previous):
            return previous
        data = cache.load("inventory", key, validate=False)
        if data is not None:
            loaded = _from_payload(prefix, data)
            if loaded is not None and _valid(loaded):
                _MEMO[prefix] = loaded
                return loaded
            previous = previous or loaded
    reuse = (
        {d.path: (i, d) for d, i in zip(previous.distributions, previous.identities, strict=False)}
        if previous is not None
        else {}
    )
    # Stamp before reading, so a change made while reading is seen next time.
    path = [str(p) for p in search_path(prefix)]
    head = stamps_of(_stamp_paths(prefix, path))
    scanned = scan_distributions(prefix, reuse)
    dists = tuple(d for d, _i in scanned)
    identities = tuple(i for _d, i in scanned)
    stamps = [*head, *(s for ident in identities for s in ident)]
    inv = Inventory(
        prefix=prefix,
        distributions=dists,
        path=tuple(path),
        stamps=tuple(tuple(s) for s in stamps),
        identities=identities,
    )
    _MEMO[prefix] = inv
    if use_cache:
        cache.store(
            "inventory",
            key,
            stamps,
            {"distributions": [d.to_dict() for d in dists], "identities": identities, "path": path},
        )
    return inv


def forget(prefix: str | None = None) -> None:
    """Drop the in-process memo (for one prefix, or all)."""
    if prefix is None:
        _MEMO.clear()
    else:
        _MEMO.pop(os.path.realpath(prefix), None)
