"""A real HTTP server on 127.0.0.1 that speaks OSV's API from a directory of OSV records.

Endpoints (as api.osv.dev): ``POST /v1/querybatch`` (ids per query, ``next_page_token`` when
``page_size`` is set), ``GET /v1/vulns/{id}`` (the full record), ``POST /v1/query`` (full records
for one package version; what pip-audit calls). Matching uses the tests' plain reading
(``osv_plain``), not envkernels' code. Faults for the bad-input tests, by ``mode``: ``"500"``,
``"garbage"`` (HTML), ``"shape"`` (JSON of the wrong shape), ``"slow"`` (answers after
``slow_seconds``), ``"trickle"`` (headers at once, then the body one byte every
``trickle_seconds``), ``"cut"`` (a ``Content-Length`` larger than the body, then the connection
closes), ``"vulns-shape"`` (querybatch results whose ``vulns`` is not a list); ``fail_ids``
answer 500 for those records; ``latency`` is slept on every request (the benchmark's realistic
network delay). ``requests`` logs what was asked.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from osv_plain import norm, plain_verdict


def _rfc3339(value: Any) -> str:
    """YAML reads unquoted timestamps as datetimes; OSV's JSON writes them as RFC 3339 (``...Z``)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


class OsvState:
    """The records served and the server's behaviour (tests change it between requests)."""

    def __init__(self, db: Path) -> None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.records: dict[str, dict[str, Any]] = {}
        self.by_package: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(db.rglob("*.yaml")):
            record = yaml.load(path.read_bytes(), Loader=loader)
            self.records[record["id"]] = record
            for entry in record.get("affected", []):
                self.by_package.setdefault(norm(entry["package"]["name"]), []).append(record)
        self.mode = "ok"
        self.fail_ids: set[str] = set()
        self.latency = 0.0
        self.slow_seconds = 3.0
        self.trickle_seconds = 5.0
        self.page_size: int | None = None
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def matches(self, name: str, version: str) -> list[dict[str, Any]]:
        """Records affecting ``name`` at ``version`` (withdrawn ones excluded, as osv.dev does)."""
        return [r for r in self.by_package.get(norm(name), []) if plain_verdict(r, name, version)[0]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data, default=_rfc3339).encode())

    def _faulted(self) -> bool:
        state = self.server.state
        if state.latency:
            time.sleep(state.latency)
        if state.mode == "500":
            self._json({"code": 13, "message": "internal error"}, 500)
            return True
        if state.mode == "garbage":
            self._send(200, b"<html>proxy login</html>", "text/html")
            return True
        if state.mode == "shape":
            self._json({"results": "not a list"})
            return True
        if state.mode == "slow":
            time.sleep(state.slow_seconds)
        if state.mode == "trickle":
            body = json.dumps({"results": []}).encode() + b" " * 1000
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(state.trickle_seconds)
            except OSError:
                pass  # the client gave up, as it should
            return True
        if state.mode == "cut":
            body = b'{"results": [{"vulns": [{"id": "PYSEC-'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 500))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return True
        if state.mode == "vulns-shape" and self.command == "POST":
            self._json({"results": [{"vulns": 5}]})
            return True
        return False

    def do_POST(self) -> None:
        state = self.server.state
        with state.lock:
            state.requests.append(("POST", self.path))
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self._faulted():
            return
        if self.path == "/v1/querybatch":
            results = []
            for q in body["queries"]:
                ids = [r["id"] for r in state.matches(q["package"]["name"], q["version"])]
                start = int(q.get("page_token") or 0)
                result: dict[str, Any] = {}
                page = ids[start:] if state.page_size is None else ids[start : start + state.page_size]
                if page:
                    result["vulns"] = [{"id": i, "modified": state.records[i]["modified"]} for i in page]
                if state.page_size is not None and start + state.page_size < len(ids):
                    result["next_page_token"] = str(start + state.page_size)
                results.append(result)
            self._json({"results": results})
        elif self.path == "/v1/query":
            found = state.matches(body["package"]["name"], body["version"])
            self._json({"vulns": found} if found else {})
        else:
            self._json({"message": "not found"}, 404)

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            state.requests.append(("GET", self.path))
        if self._faulted():
            return
        prefix = "/v1/vulns/"
        vid = self.path[len(prefix) :] if self.path.startswith(prefix) else None
        if vid in state.fail_ids:
            self._json({"message": "backend error"}, 500)
        elif vid is not None and vid in state.records:
            self._json(state.records[vid])
        else:
            self._json({"code": 5, "message": "Bug not found."}, 404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops concurrent connects (1 s SYN retry)

    def __init__(self, state: OsvState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up (the "slow" fault) is expected, not an error.
        return


@contextmanager
def serve_osv(db: Path) -> Iterator[tuple[str, OsvState]]:
    """Run the server in a thread; yields its base URL and its state; stops it afterwards."""
    state = OsvState(db)
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
