"""The OSV API as an advisory source: one ``querybatch`` for the environment, records fetched concurrently.

1. ``POST {base}/v1/querybatch`` with every (package, version) not already cached (in chunks of
   1,000, OSV's limit; ``next_page_token`` followed);
2. ``GET {base}/v1/vulns/{id}`` for every id not already cached, on a thread pool.

If step 1 fails (timeout, refused, an HTTP error, an answer cut short, larger than
``MAX_RESPONSE_BYTES`` or that is not querybatch JSON) nothing was checked:
:class:`SourceUnavailable` is raised. If one record of step 2 fails, its id is still reported (from
step 1) with a stub record and a warning naming it.

Every wait fits inside the audit's :class:`Deadline`: a request's socket timeout is the smaller of
``timeout`` and what is left, and a body is read in chunks with the timeout shortened before each,
so a server that sends one byte every few seconds cannot keep the audit alive past the deadline.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from envkernels._version import __version__
from envkernels.audit.policy import DEFAULT_API_URL
from envkernels.audit.records import Advisory, InvalidRecord, parse_record, stub_advisory
from envkernels.audit.sources.api_cache import ApiCache
from envkernels.audit.sources.interface import (
    AdvisorySource,
    Deadline,
    Dependency,
    SourceResult,
    SourceUnavailable,
    SourceWarning,
)
from envkernels.cachedir import cache_dir

__all__ = ["DEFAULT_API_URL", "OsvApiSource"]
BATCH_LIMIT = 1000
MAX_PAGES = 20
MAX_RESPONSE_BYTES = 64 << 20  # one answer; querybatch for 1,000 packages is a few hundred KiB
_CHUNK = 1 << 16
_HINT = (
    "check the network or the API URL, or audit offline against a local OSV database: "
    '`--db DIR`, or `db = "DIR"` in `[tool.envkernels.audit]`'
)


class _HttpProblem(Exception):
    """One request failed; the message says how (timeout, HTTP status, not JSON)."""


class OsvApiSource(AdvisorySource):
    """Advisories from an OSV-speaking HTTP API (``api.osv.dev`` or a mirror), cached for ``cache_ttl`` s."""

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 10.0,
        cache_ttl: float = 3600.0,
        cache_root: Path | None = None,
        workers: int = 16,
        deadline: Deadline | None = None,
        offline: bool = False,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SourceUnavailable(
                f"`{base_url}` is not an http(s) URL of an OSV API",
                hint="give the base URL, e.g. `https://api.osv.dev`",
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.workers = workers
        self.deadline = deadline
        self.cache = ApiCache(cache_root or cache_dir(), self.base_url, cache_ttl)
        self.label = f"osv-api:{self.base_url}"
        # Offline: only the cached answers are used (the check's advice may not wait on the network).
        self.offline = offline

    # -- HTTP ----------------------------------------------------------------------------------
    def _wait(self, url: str) -> float:
        """The socket timeout for the next wait: ``timeout``, or less when the deadline is near."""
        if self.deadline is None:
            return self.timeout
        left = self.deadline.remaining()
        if left <= 0:
            raise _HttpProblem(
                f"`{url}` did not answer within the audit's deadline ({self.deadline.seconds:g} s)"
            )
        return min(self.timeout, left)

    def _read_body(self, resp: Any, url: str) -> bytes:
        """The whole body, in chunks, each wait inside the deadline; bounded in size."""
        sock = getattr(getattr(resp.fp, "raw", None), "_sock", None)  # CPython's SocketIO
        parts: list[bytes] = []
        size = 0
        while True:
            wait = self._wait(url)
            if resp.isclosed():  # http.client closes the connection once the body is read
                return b"".join(parts)
            if sock is not None and sock.fileno() != -1:
                sock.settimeout(wait)
            chunk = resp.read1(_CHUNK)  # what one recv gives: read() would wait for all of it
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise _HttpProblem(f"`{url}` sent more than {MAX_RESPONSE_BYTES >> 20} MiB")
            parts.append(chunk)

    def _request(self, path: str, payload: Any | None = None) -> Any:
        url = self.base_url + path
        if self.offline:
            raise _HttpProblem(f"`{url}` is not asked: only cached answers are used here")
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        req.add_header("User-Agent", f"envkernels/{__version__}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self._wait(url)) as resp:
                body = self._read_body(resp, url)
        except urllib.error.HTTPError as exc:
            raise _HttpProblem(f"`{url}` answered HTTP {exc.code}") from exc
        except TimeoutError as exc:
            raise _HttpProblem(self._late(url)) from exc
        except http.client.HTTPException as exc:  # IncompleteRead, a garbled status line, ...
            raise _HttpProblem(f"`{url}` sent a broken or cut-short answer ({type(exc).__name__})") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise _HttpProblem(self._late(url)) from exc
            raise _HttpProblem(f"`{url}` could not be reached ({reason})") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise _HttpProblem(f"`{url}` sent an answer that is not JSON (cut short or garbled)") from exc

    def _late(self, url: str) -> str:
        if self.deadline is not None and self.deadline.expired():
            return f"`{url}` did not answer within the audit's deadline ({self.deadline.seconds:g} s)"
        return f"`{url}` did not answer within {self.timeout:g} s"

    # -- step 1: which ids affect which version ------------------------------------------------
    def _batch(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        found: dict[tuple[str, str], set[str]] = {k: set() for k in keys}
        pending: list[tuple[tuple[str, str], str | None]] = [(k, None) for k in keys]
        for _ in range(MAX_PAGES):
            if not pending:
                break
            next_round: list[tuple[tuple[str, str], str | None]] = []
            for start in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[start : start + BATCH_LIMIT]
                queries = []
                for (name, version), token in chunk:
                    q: dict[str, Any] = {"package": {"name": name, "ecosystem": "PyPI"}, "version": version}
                    if token:
                        q["page_token"] = token
                    queries.append(q)
                try:
                    answer = self._request("/v1/querybatch", {"queries": queries})
                except _HttpProblem as exc:
                    raise SourceUnavailable(f"the OSV API cannot be used: {exc}", hint=_HINT) from exc
                results = answer.get("results") if isinstance(answer, dict) else None
                if not isinstance(results, list) or len(results) != len(chunk):
                    raise SourceUnavailable(
                        f"the OSV API at `{self.base_url}` sent an answer that is not a querybatch result",
                        hint=_HINT,
                    )
                for (key, _), result in zip(chunk, results, strict=True):
                    if not isinstance(result, dict):
                        raise SourceUnavailable(
                            f"the OSV API at `{self.base_url}` sent a malformed result", hint=_HINT
                        )
                    vulns = result.get("vulns") or []
                    if not isinstance(vulns, list) or not all(
                        isinstance(v, dict) and isinstance(v.get("id"), str) for v in vulns
                    ):
                        raise SourceUnavailable(
                            f"the OSV API at `{self.base_url}` sent a malformed result", hint=_HINT
                        )
                    found[key].update(v["id"] for v in vulns)
                    token = result.get("next_page_token")
                    if isinstance(token, str) and token:
                        next_round.append((key, token))
            pending = next_round
        return found

    # -- step 2: the records --------------------------------------------------------------------
    def _fetch(self, vuln_id: str) -> tuple[str, Any | None, str | None]:
        try:
            data = self._request(f"/v1/vulns/{urllib.parse.quote(vuln_id, safe='')}")
        except _HttpProblem as exc:
            return vuln_id, None, str(exc)
        return vuln_id, data, None

    def query(self, dependencies: Sequence[Dependency]) -> SourceResult:
        """Ask the API about every dependency at once; see the module docstring."""
        keys = sorted({(d.normalized, d.version) for d in dependencies})
        reported: dict[tuple[str, str], frozenset[str]] = {}
        ask: list[tuple[str, str]] = []
        cached_answers = self.cache.get_queries([f"{name}=={version}" for name, version in keys])
        for key in keys:
            cached = cached_answers.get(f"{key[0]}=={key[1]}")
            if isinstance(cached, list):
                reported[key] = frozenset(cached)
            else:
                ask.append(key)
        if ask:
            fresh: dict[str, list[str]] = {}
            for key, ids in self._batch(ask).items():
                reported[key] = frozenset(ids)
                fresh[f"{key[0]}=={key[1]}"] = sorted(ids)
            self.cache.put_queries(fresh)

        records: dict[str, Any] = {}
        fetch: list[str] = []
        all_ids: set[str] = set().union(*reported.values()) if reported else set()
        for vid in sorted(all_ids):
            cached = self.cache.get("vuln", vid)
            if cached is not None:
                records[vid] = cached
            else:
                fetch.append(vid)
        failures: dict[str, str] = {}
        if fetch:
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(fetch)))) as pool:
                for vid, data, error in pool.map(self._fetch, fetch):
                    if error is not None:
                        failures[vid] = error
                    else:
                        records[vid] = data
                        self.cache.put("vuln", vid, data)

        warnings: list[SourceWarning] = []
        parsed: dict[str, Advisory] = {}
        owners = {vid: name for (name, _), ids in reported.items() for vid in ids}
        for vid in sorted(set(records) | set(failures)):
            if vid in failures:
                warnings.append(
                    SourceWarning(
                        f"the record of {vid} could not be fetched: {failures[vid]}",
                        owners.get(vid),
                        _HINT,
                        code="advisory-unavailable",
                    )
                )
                parsed[vid] = stub_advisory(vid, self.label, "fetch failed")
                continue
            try:
                adv = parse_record(records[vid], origin=f"{self.label}/v1/vulns/{vid}")
                if adv.id != vid:
                    raise InvalidRecord(f"asked for {vid}, received {adv.id}")
                parsed[vid] = adv
            except InvalidRecord as exc:
                warnings.append(
                    SourceWarning(
                        f"the OSV API sent an unusable record for {vid}: {exc}", owners.get(vid), _HINT
                    )
                )
                parsed[vid] = stub_advisory(vid, self.label, "unusable record")
        by_name: dict[str, dict[str, Advisory]] = {}
        for (name, _), vids in reported.items():
            bucket = by_name.setdefault(name, {})
            for vid in sorted(vids):
                bucket.setdefault(vid, parsed[vid])
        advisories = {name: list(bucket.values()) for name, bucket in by_name.items()}
        return SourceResult(advisories=advisories, reported=reported, warnings=tuple(warnings))
