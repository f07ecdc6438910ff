"""A real JupyterHub for tests: started in a tmp dir on free ports, driven through its REST API and proxy.

``Hub(workdir, config_text)`` writes ``jupyterhub_config.py`` (the exact text an administrator
would write; docs/jupyterhub.md copies it), starts ``python -m jupyterhub`` in its own process group
(the hub starts configurable-http-proxy and the single-user servers as its children) and stops
the group at the end. Everything talks HTTP to 127.0.0.1: the hub API with a service token,
each user's server through the proxy with a token the hub issued for that user, kernels over
their websocket.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

SERVICE = "envkernels-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proxy_binary() -> str | None:
    """configurable-http-proxy on PATH (``npm install -g configurable-http-proxy``, as .ci/run does)."""
    return shutil.which("configurable-http-proxy")


def base_config(
    workdir: Path, port: int, hub_port: int, proxy_api_port: int, token: str, python: str = sys.executable
) -> str:
    """The part of the hub's config that only places it in ``workdir`` on free ports with a test token."""
    return f"""\
# --- where this hub lives (test-only: a tmp dir, free ports, an API token for the tests) ---
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy_binary()!r}]
c.JupyterHub.db_url = "sqlite:///{workdir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{workdir}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{workdir}/jupyterhub.pid"
c.JupyterHub.services = [{{"name": "{SERVICE}", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [
    {{
        "name": "{SERVICE}",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users"],
        "services": ["{SERVICE}"],
    }}
]
c.Spawner.cmd = [{python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
"""


class Hub:
    """One running JupyterHub (see the module docstring)."""

    def __init__(self, workdir: Path, admin_config: str, python: str = sys.executable) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.token = secrets.token_hex(16)
        config = base_config(workdir, self.port, free_port(), free_port(), self.token, python)
        self.config_text = admin_config
        (workdir / "jupyterhub_config.py").write_text(config + "\n" + admin_config)
        self.log_path = workdir / "jupyterhub.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.user_tokens: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        # A plain environment, as a system service has: no test venv activated, a system PATH.
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "ENVKERNELS_ROOTS")}
        # ... plus where node and the proxy live (a user-level npm prefix, nvm): the proxy is a node script.
        tools = [os.path.dirname(p) for p in (shutil.which("node"), proxy_binary()) if p]
        env["PATH"] = os.pathsep.join(dict.fromkeys([*tools, "/usr/local/bin", "/usr/bin", "/bin"]))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(self.workdir / "jupyterhub_config.py")],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own group: the proxy and servers are stopped with it
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyterhub exited {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/")
                return
            except (OSError, AssertionError):
                time.sleep(0.3)
        raise AssertionError(f"jupyterhub did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the hub (it stops the servers and the proxy), then anything left of its group."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)  # the group this test started, by its id
        self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ---- HTTP --------------------------------------------------------------------------------
    def _request(
        self, method: str, url: str, token: str, body: Any = None, timeout: float = 60
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"token {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            status = exc.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """The hub's REST API (``/hub/api{path}``) with the tests' service token; 2xx or AssertionError."""
        status, data = self._request(method, f"{self.url}/hub/api{path}", self.token, body)
        if status >= 300:
            raise AssertionError(f"{method} /hub/api{path}: {status} {data}")
        return data

    def user_api(
        self, user: str, method: str, path: str, body: Any = None, timeout: float = 120
    ) -> tuple[int, Any]:
        """``/user/<user>/<path>`` through the proxy, with a token the hub issued to that user."""
        return self._request(method, f"{self.url}/user/{user}/{path}", self.token_for(user), body, timeout)

    def token_for(self, user: str) -> str:
        if user not in self.user_tokens:
            made = self.api("POST", f"/users/{user}/tokens", {"note": "envkernels hub tests"})
            self.user_tokens[user] = made["token"]
        return self.user_tokens[user]

    # ---- servers and kernels -----------------------------------------------------------------
    def start_server(self, user: str) -> None:
        """Ask the hub to spawn ``user``'s server (no wait)."""
        status, data = self._request("POST", f"{self.url}/hub/api/users/{user}/server", self.token)
        if status not in (201, 202, 400):  # 400: already running
            raise AssertionError(f"spawning {user}: {status} {data}\n{self.log_tail()}")

    def wait_ready(self, user: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}")
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return server  # type: ignore[no-any-return]
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError(f"{user}'s server is not ready:\n{self.log_tail()}")

    def run_code(self, user: str, kernel_name: str, code: str, timeout: float = 120) -> str:
        """Start ``kernel_name`` for ``user``, run ``code``, return its stdout (the kernel is shut down)."""
        status, kernel = self.user_api(user, "POST", "api/kernels", {"name": kernel_name})
        assert status == 201, f"starting {kernel_name} for {user}: {status} {kernel}"
        try:
            return _execute(self, user, kernel["id"], code, timeout)
        finally:
            self.user_api(user, "DELETE", f"api/kernels/{kernel['id']}")


def _execute(hub: Hub, user: str, kernel_id: str, code: str, timeout: float) -> str:
    """One execute_request over the kernel's websocket (jupyter_server's JSON protocol)."""
    from tornado import httpclient
    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    url = f"ws://127.0.0.1:{hub.port}/user/{user}/api/kernels/{kernel_id}/channels"

    async def run() -> str:
        request = httpclient.HTTPRequest(url, headers={"Authorization": f"token {hub.token_for(user)}"})
        conn = await websocket_connect(request)
        msg_id = uuid.uuid4().hex
        conn.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": user,
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {"code": code, "silent": False, "store_history": False},
                }
            )
        )
        out: list[str] = []
        errors: list[str] = []
        while True:
            raw = await conn.read_message()
            if raw is None:
                raise AssertionError(f"the kernel's websocket closed; output so far: {out}")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                errors.append("\n".join(msg["content"].get("traceback") or [msg["content"]["evalue"]]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                conn.close()
                if errors:
                    raise AssertionError(f"the code failed in the kernel:\n{errors[0]}")
                return "".join(out)

    return IOLoop.current().run_sync(run, timeout=timeout)


@contextmanager
def running(hub: Hub) -> Iterator[Hub]:
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` with (mtime_ns, mode, size) of its lstat: compared before and after."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            found[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_mode, st.st_size)
    st = os.lstat(root)
    found["."] = (st.st_mtime_ns, st.st_mode, st.st_size)
    return found
