"""HTTP GET for the index client: one TLS context for the process, one kept-alive connection per
host and thread (a fresh ``urllib`` request reloads the CA bundle and shakes hands every time,
which costs more than the download itself for a lock of a few dozen packages)."""

from __future__ import annotations

import base64
import gzip
import http.client
import os
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field

_LOCAL = threading.local()
_CTX_LOCK = threading.Lock()
_CTX: ssl.SSLContext | None = None
MAX_REDIRECTS = 5


@dataclass
class Response:
    """Status, headers (lower-cased names), body (decompressed) and the final URL."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    url: str = ""


def ssl_context() -> ssl.SSLContext:
    """The process-wide TLS context; honours ``SSL_CERT_FILE``, ``PIP_CERT``, ``REQUESTS_CA_BUNDLE``."""
    global _CTX
    with _CTX_LOCK:
        if _CTX is None:
            cafile = next(
                (
                    os.environ[v]
                    for v in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE")
                    if os.environ.get(v) and os.path.isfile(os.environ[v])
                ),
                None,
            )
            _CTX = ssl.create_default_context(cafile=cafile)
        return _CTX


def _connection(scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
    pool: dict[tuple[str, str, int | None], http.client.HTTPConnection] = getattr(_LOCAL, "pool", None) or {}
    _LOCAL.pool = pool
    key = (scheme, host, port)
    conn = pool.get(key)
    if conn is None:
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        pool[key] = conn
    return conn


def _drop(scheme: str, host: str, port: int | None) -> None:
    pool = getattr(_LOCAL, "pool", {})
    conn = pool.pop((scheme, host, port), None)
    if conn is not None:
        conn.close()


def get(url: str, headers: dict[str, str], timeout: float) -> Response:
    """GET ``url`` following redirects; credentials in the URL become Basic auth.

    Raises OSError (incl. ``http.client.HTTPException`` wrapped) when the server cannot be reached.
    """
    for _ in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        hdrs = dict(headers)
        if parts.username:
            token = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            hdrs["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host = parts.hostname or ""
        for attempt in (1, 2):  # a kept-alive connection the server closed gets one fresh retry
            conn = _connection(parts.scheme, host, parts.port, timeout)
            try:
                conn.request("GET", path, headers=hdrs)
                resp = conn.getresponse()
                body = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, ssl.SSLError) as exc:
                _drop(parts.scheme, host, parts.port)
                if attempt == 2:
                    raise OSError(str(exc) or type(exc).__name__) from exc
            except OSError:
                _drop(parts.scheme, host, parts.port)
                raise
        got = {k.lower(): v for k, v in resp.getheaders()}
        if resp.status in (301, 302, 303, 307, 308) and got.get("location"):
            url = urllib.parse.urljoin(url, got["location"])
            continue
        if got.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return Response(status=resp.status, headers=got, body=body, url=url)
    raise OSError(f"too many redirects from {url}")
