"""An environment's installed distributions, read once and kept while its directories stay unchanged.

``inventory(prefix)`` answers from an in-process memo, else from the on-disk cache, else by
reading the files; the answer is reused as long as the mtimes of the prefix's site-packages
directories (and of the directories their ``.pth`` files add) are unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from envkernels.discovery.layout import site_packages_dirs
from envkernels.inspect import cache
from envkernels.inspect.installed import InstalledDistribution, folder_name, scan_distributions, search_path


@dataclass(frozen=True)
class Inventory:
    """The distributions on an environment's path, and the stamps that say when to read them again."""

    prefix: str
    distributions: tuple[InstalledDistribution, ...]
    path: tuple[str, ...]
    stamps: tuple[tuple[Any, ...], ...]
    mtimes: tuple[int, ...] = ()  # each distribution's metadata folder mtime (to reuse it when unchanged)

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
    return [os.path.join(prefix, "pyvenv.cfg"), *roots, *path]


def _valid(inv: Inventory) -> bool:
    return cache.still_valid(inv.stamps)


def _from_payload(prefix: str, data: dict[str, Any]) -> Inventory | None:
    try:
        dists = tuple(InstalledDistribution.from_dict(d) for d in data["distributions"])
        mtimes = tuple(int(m) for m in data.get("mtimes") or [-1] * len(dists))
        return Inventory(
            prefix=prefix,
            distributions=dists,
            path=tuple(data["path"]),
            stamps=tuple(tuple(s) for s in data["stamps"]),
            mtimes=mtimes if len(mtimes) == len(dists) else tuple(-1 for _ in dists),
        )
    except (KeyError, TypeError, ValueError):
        return None


def inventory(prefix: str, *, use_cache: bool = True) -> Inventory:
    """The distributions of ``prefix`` (memoized in-process and on disk, keyed by directory mtimes).

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
        {d.path: (m, d) for d, m in zip(previous.distributions, previous.mtimes, strict=False)}
        if previous is not None
        else {}
    )
    # Stamp before reading, so a change made while reading is seen next time.
    path = [str(p) for p in search_path(prefix)]
    stamps = cache.stamps(_stamp_paths(prefix, path))
    scanned = scan_distributions(prefix, reuse)
    dists = tuple(d for d, _m in scanned)
    mtimes = tuple(m for _d, m in scanned)
    inv = Inventory(
        prefix=prefix,
        distributions=dists,
        path=tuple(path),
        stamps=tuple(tuple(s) for s in stamps),
        mtimes=mtimes,
    )
    _MEMO[prefix] = inv
    if use_cache:
        cache.store(
            "inventory",
            key,
            stamps,
            {"distributions": [d.to_dict() for d in dists], "mtimes": list(mtimes), "path": path},
        )
    return inv


def forget(prefix: str | None = None) -> None:
    """Drop the in-process memo (for one prefix, or all)."""
    if prefix is None:
        _MEMO.clear()
    else:
        _MEMO.pop(os.path.realpath(prefix), None)
