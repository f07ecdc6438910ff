"""The package index's simple API (PEP 503 HTML and PEP 691 JSON), as pip and uv read it.

Each project page is asked for in JSON (``application/vnd.pypi.simple.v1+json``) with HTML as
the fallback. Pages are cached on disk under ``<cache>/simple/`` and reused while the index's
``Cache-Control: max-age`` holds, then revalidated with ``ETag``/``Last-Modified`` (as uv does).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from envkernels._version import __version__
from envkernels.core.atomic import atomic_write_text, cache_dir
from envkernels.core.layout import normalize_name
from envkernels.lockfiles import http_get

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
TIMEOUT = float(os.environ.get("ENVKERNELS_INDEX_TIMEOUT", "15"))


@dataclass(frozen=True)
class IndexFile:
    """One file a project page lists."""

    filename: str
    url: str
    hashes: dict[str, str] = field(hash=False)
    requires_python: str | None = None
    yanked: bool = False
    size: int | None = None


class IndexError_(Exception):
    """The index could not be asked (unreachable, an HTTP error other than 404)."""


def strip_credentials(url: str) -> str:
    """The URL without ``user:password@`` (a lock must never carry credentials)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.links.append((self._current, "".join(self._text).strip()))
            self._current = None


def parse_html(text: str, base: str) -> list[IndexFile]:
    """Files of a PEP 503 HTML page; hashes from the ``#sha256=`` fragment."""
    parser = _LinkParser()
    parser.feed(text)
    files = []
    for attrs, label in parser.links:
        href = attrs.get("href")
        if not href:
            continue
        url = urllib.parse.urljoin(base, href)
        clean, _, fragment = url.partition("#")
        hashes = {}
        algo, sep, digest = fragment.partition("=")
        if sep:
            hashes[algo.lower()] = digest.lower()
        filename = label or urllib.parse.unquote(clean.rsplit("/", 1)[-1])
        files.append(
            IndexFile(
                filename=filename,
                url=strip_credentials(clean),
                hashes=hashes,
                requires_python=attrs.get("data-requires-python"),
                yanked="data-yanked" in attrs,
            )
        )
    return files


def parse_json(data: dict[str, Any], base: str, version: str | None = None) -> list[IndexFile]:
    """Files of a PEP 691 JSON page (only those whose name carries ``-<version>`` when one is given
    and any does: big projects list thousands of files)."""
    files = []
    raw = data.get("files", [])
    if version:
        needle = f"-{version}"
        raw = [f for f in raw if needle in f.get("filename", "")] or raw
    for f in raw:
        url = urllib.parse.urljoin(base, f["url"])
        files.append(
            IndexFile(
                filename=f["filename"],
                url=strip_credentials(url.partition("#")[0]),
                hashes={k.lower(): v.lower() for k, v in (f.get("hashes") or {}).items()},
                requires_python=f.get("requires-python"),
                yanked=bool(f.get("yanked")),
                size=f.get("size"),
            )
        )
    return files


def _cache_path(url: str) -> str:
    return str(cache_dir() / "simple" / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json"))


def _max_age(cache_control: str | None) -> int:
    for part in (cache_control or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "max-age" and value.isdigit():
            return int(value)
    return 0


def project_files(
    index: str, project: str, *, version: str | None = None, use_cache: bool = True
) -> list[IndexFile] | None:
    """The files the index lists for ``project``; None when the index does not have it (404).

    Raises IndexError_ when the index cannot be reached or answers with an error.
    """
    url = f"{index.rstrip('/')}/{normalize_name(project)}/"
    cache_file = _cache_path(strip_credentials(url))
    cached: dict[str, Any] | None = None
    if use_cache:
        try:
            with open(cache_file, encoding="utf-8") as fh:
                cached = json.load(fh)
        except (OSError, ValueError):
            cached = None
    if cached and time.time() - cached["fetched"] < cached.get("max_age", 0):
        return _parse(cached["body"], cached["type"], cached["url"], version)
    headers = {"Accept": ACCEPT, "Accept-Encoding": "gzip"}
    if cached and cached.get("etag"):
        headers["If-None-Match"] = cached["etag"]
    if cached and cached.get("last_modified"):
        headers["If-Modified-Since"] = cached["last_modified"]
    headers["User-Agent"] = f"envkernels/{__version__}"
    try:
        resp = http_get.get(url, headers, TIMEOUT)
    except OSError as exc:
        raise IndexError_(f"{strip_credentials(index)} cannot be reached ({exc})") from exc
    if resp.status == 304 and cached:
        cached["fetched"] = time.time()
        _store(cache_file, cached)
        return _parse(cached["body"], cached["type"], cached["url"], version)
    if resp.status == 404:
        return None
    if resp.status != 200:
        raise IndexError_(f"{strip_credentials(url)} answered HTTP {resp.status}")
    body = resp.body.decode("utf-8", "replace")
    ctype = resp.headers.get("content-type", "")
    entry: dict[str, Any] = {
        "fetched": time.time(),
        "max_age": _max_age(resp.headers.get("cache-control")),
        "etag": resp.headers.get("etag"),
        "last_modified": resp.headers.get("last-modified"),
        "type": ctype,
        "url": strip_credentials(resp.url),
        "body": body,
    }
    if use_cache and (entry["etag"] or entry["last_modified"] or entry["max_age"]):
        _store(cache_file, entry)  # only worth keeping when the index says how to revalidate it
    return _parse(body, ctype, entry["url"], version)


def _store(path: str, entry: dict[str, Any]) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write_text(path, json.dumps(entry), backup=False)
    except OSError:
        pass  # a cache that cannot be written only costs speed


def _parse(body: str, ctype: str, url: str, version: str | None = None) -> list[IndexFile]:
    if JSON_TYPE in ctype or body.lstrip().startswith("{"):
        try:
            return parse_json(json.loads(body), url, version)
        except (ValueError, KeyError):
            pass
    return parse_html(body, url)
