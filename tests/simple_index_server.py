"""A real package index for tests: wheels downloaded from PyPI into a directory, served on 127.0.0.1.

It answers the simple API as PyPI does: PEP 691 JSON when the client asks for
``application/vnd.pypi.simple.v1+json`` and PEP 503 HTML otherwise (``html_only`` turns JSON off,
to exercise a client's HTML fallback). Files are served from the same server under ``/files/``.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename


def download(requirements: Sequence[str], dest: Path, *, attempts: int = 3) -> Path:
    """``pip download --no-deps`` the requirements (wheels) from PyPI into ``dest``.

    The one place these fixtures reach the live index: a transient network error is retried, and
    when PyPI stays unreachable the tests that need the wheels are skipped with pip's reason.
    """
    dest.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--index-url",
        "https://pypi.org/simple",
        "-d",
        str(dest),
        *requirements,
    ]
    for attempt in range(1, attempts + 1):
        proc = subprocess.run(argv, capture_output=True, text=True, env=_pypi_only_env())
        if proc.returncode == 0:
            return dest
        if attempt < attempts:
            time.sleep(2 * attempt)
    if not any(sign in proc.stderr for sign in NETWORK_ERROR_SIGNS):
        raise AssertionError(f"pip download {' '.join(requirements)} failed:\n{proc.stderr}")
    import pytest

    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    pytest.skip(f"PyPI unreachable after {attempts} attempts (pip download: {last})")


# What pip, uv and urllib say when the network (not the request) failed.
NETWORK_ERROR_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Max retries exceeded",
    "timed out",
    "Connection refused",
    "Connection reset",
    "Network is unreachable",
    "ConnectTimeout",
    "ReadTimeout",
    "dns error",
    "error sending request",
    "cannot be reached",
)


def _pypi_only_env() -> dict[str, str]:
    """This process' environment without pip's local find-links and extra indexes (wheels from PyPI only)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_FIND_LINKS", "PIP_EXTRA_INDEX", "PIP_INDEX"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def project_of(filename: str) -> str:
    """The canonical project name of a wheel or sdist file name."""
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[0])
    return str(parse_sdist_filename(filename)[0])


def sha256(path: Path) -> str:
    """The file's sha256 hex digest."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    root: Path
    html_only: bool

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        # uv asks HEAD first to learn whether a wheel's METADATA can be read with range requests.
        self._head = True
        self.do_GET()

    def do_GET(self) -> None:
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if len(parts) == 2 and parts[0] == "files":
            f = self.root / parts[1]
            if f.is_file():
                return self._send(200, f.read_bytes(), "application/octet-stream")
            return self._send(404, b"not found", "text/plain")
        if len(parts) == 2 and parts[0] == "simple":
            project = canonicalize_name(parts[1])
            files = sorted(f for f in self.root.iterdir() if f.is_file() and project_of(f.name) == project)
            if not files:
                return self._send(404, b"not found", "text/plain")
            if not self.html_only and "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", ""):
                body = json.dumps(
                    {
                        "meta": {"api-version": "1.1"},
                        "name": project,
                        "files": [
                            {
                                "filename": f.name,
                                "url": f"/files/{f.name}",
                                "hashes": {"sha256": sha256(f)},
                                "size": f.stat().st_size,
                            }
                            for f in files
                        ],
                    }
                ).encode()
                return self._send(200, body, "application/vnd.pypi.simple.v1+json")
            links = "".join(
                f'<a href="../../files/{html.escape(f.name)}#sha256={sha256(f)}">'
                f"{html.escape(f.name)}</a><br>"
                for f in files
            )
            return self._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
        return self._send(404, b"not found", "text/plain")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not getattr(self, "_head", False):
            self.wfile.write(body)


@contextmanager
def serve(root: Path, *, html_only: bool = False) -> Iterator[str]:
    """Serve ``root`` as a simple index on 127.0.0.1; yields the index URL (``.../simple``)."""
    handler = type("Handler", (_Handler,), {"root": root, "html_only": html_only})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """An index URL on 127.0.0.1 where nothing listens (bound, then closed)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/simple"


def lock_from_live_index(env: Any, output: Path, *, attempts: int = 3) -> Any:
    """``lock_environment`` against the real index (PyPI), for the tests marked ``network``.

    A lock whose hashes are missing only because the index could not be reached is retried; when it
    stays unreachable the test is skipped with the reason (a transient network error is not a finding).
    """
    import pytest

    from envkernels.lockfiles.writer import lock_environment

    for attempt in range(1, attempts + 1):
        result = lock_environment(env, output=str(output))
        unreachable = [m for m in result.missing if any(s in m["reason"] for s in NETWORK_ERROR_SIGNS)]
        if not unreachable:
            return result
        if attempt < attempts:
            time.sleep(2 * attempt)
    pytest.skip(f"the index stayed unreachable after {attempts} attempts: {unreachable[0]['reason']}")
