"""A small on-disk cache of the OSV API's answers, each kept for a configured time (TTL).

Under ``<cache>/osv-api/<hash of the base URL>/``: ``queries.json`` holds the querybatch answers
(the ids affecting each package version; one file, read and written once per audit, since an
environment asks hundreds of them at a time), and ``vuln/`` one JSON file per advisory record.
A TTL of 0 turns it off. A damaged or expired entry is simply a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from envkernels.cachedir import write_atomic


class ApiCache:
    """Answers of one OSV API base URL, valid for ``ttl`` seconds."""

    def __init__(self, root: Path, base_url: str, ttl: float) -> None:
        self.ttl = ttl
        self.dir = root / "osv-api" / hashlib.sha256(base_url.encode()).hexdigest()[:16]

    def _path(self, kind: str, key: str) -> Path:
        return self.dir / kind / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def get_queries(self, keys: list[str]) -> dict[str, Any]:
        """The cached querybatch answers among ``keys`` that are still fresh."""
        if self.ttl <= 0:
            return {}
        entries = self._read_queries()
        now = time.time()
        return {k: entries[k][1] for k in keys if k in entries and now - float(entries[k][0]) <= self.ttl}

    def put_queries(self, answers: dict[str, Any]) -> None:
        """Add ``answers`` to the querybatch cache (dropping expired entries on the way)."""
        if self.ttl <= 0 or not answers:
            return
        now = time.time()
        entries = {k: v for k, v in self._read_queries().items() if now - float(v[0]) <= self.ttl}
        entries.update({k: [now, v] for k, v in answers.items()})
        with contextlib.suppress(OSError):
            write_atomic(self.dir / "queries.json", json.dumps(entries, separators=(",", ":")).encode())

    def _read_queries(self) -> dict[str, list[Any]]:
        try:
            data = json.loads((self.dir / "queries.json").read_bytes())
            return {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 2}
        except (OSError, ValueError, AttributeError):
            return {}

    def get(self, kind: str, key: str) -> Any | None:
        """The cached answer for ``key``, or None when absent, expired, damaged or caching is off."""
        if self.ttl <= 0:
            return None
        try:
            entry = json.loads(self._path(kind, key).read_bytes())
            if entry["key"] != key or time.time() - float(entry["stored"]) > self.ttl:
                return None
            return entry["data"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, kind: str, key: str, data: Any) -> None:
        """Keep ``data`` as the answer for ``key`` (a cache that cannot be written is not an error)."""
        if self.ttl <= 0:
            return
        payload = json.dumps({"key": key, "stored": time.time(), "data": data}, separators=(",", ":"))
        with contextlib.suppress(OSError):
            write_atomic(self._path(kind, key), payload.encode())
