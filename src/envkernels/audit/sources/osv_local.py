"""The local OSV database as an advisory source: a directory of OSV records or OSV's ``all.zip``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from envkernels.audit.records import Advisory
from envkernels.audit.sources.interface import AdvisorySource, Dependency, Skipped, SourceResult
from envkernels.audit.sources.local_index import UNREADABLE, LoadedIndex, load_index, resolve_db


class OsvLocalSource(AdvisorySource):
    """Advisories read from disk through a cached index (see ``local_index``); works offline."""

    def __init__(self, db: str | os.PathLike[str], *, cache_root: Path | None = None) -> None:
        self.db = resolve_db(db)
        self.cache_root = cache_root
        self.label = f"osv-db:{self.db}"

    def index(self, packages: Iterable[str] | None = None) -> LoadedIndex:
        """The database's index, built or refreshed as needed (checked for ``packages``; None: all)."""
        return load_index(self.db, cache_root=self.cache_root, packages=packages)

    def query(self, dependencies: Sequence[Dependency]) -> SourceResult:
        """Every advisory about each dependency's package; the matcher decides which apply."""
        wanted = {d.normalized for d in dependencies}
        index = self.index(wanted)
        advisories: dict[str, Sequence[Advisory]] = {}
        for name in wanted:
            found = index.advisories_for(name)
            if found:
                advisories[name] = found
        # Problems in records about other packages do not concern this audit; unattributed ones do.
        warnings = tuple(w for w in index.warnings if w.package is None or w.package in wanted)
        # A package with an advisory that could not be read is not checked: no verdict, and named.
        unread = {w.package: w.message for w in warnings if w.code == UNREADABLE and w.package}
        skipped = tuple(
            Skipped(d.name, d.version, f"not checked: {unread[d.normalized]}")
            for d in dependencies
            if d.normalized in unread
        )
        return SourceResult(advisories=advisories, warnings=warnings, skipped=skipped)
