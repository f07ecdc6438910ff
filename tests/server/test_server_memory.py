"""Three concurrent worst-case REST operations keep a real `jupyter server` under 500 MB.

A real server process (started as a user starts it), a real environment, and inputs at the size
limits: a pylock of many packages just under the lockfile limit (4 MiB), a notebook of many code
cells just under the notebook limit (32 MiB). A sync dry run, a diff and a check with that
notebook run at once; the server's peak resident memory (``VmHWM`` of ``/proc/PID/status``) is
measured. 100 MB inputs are refused before they are read (413).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from envkernels.discovery import environment_from_prefix

pytestmark = pytest.mark.slow

TOKEN = "envkernels-memory-test"
MiB = 1 << 20
BUDGET_MB = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    params: dict[str, str] | None = None,
    timeout: float = 600,
) -> tuple[int, Any]:
    url = f"{base}/envkernels/api/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def big_pylock(path: Path, size: int) -> None:
    """A valid pylock.toml of many packages, each with a wheel and its sha256, up to ``size`` bytes."""
    parts = ['lock-version = "1.0"\ncreated-by = "memory-test"\n']
    total = len(parts[0])
    i = 0
    while True:
        digest = f"{i:064x}"
        block = (
            f'\n[[packages]]\nname = "pkg-{i}"\nversion = "1.0.{i}"\n'
            f'[[packages.wheels]]\nname = "pkg_{i}-1.0.{i}-py3-none-any.whl"\n'
            f'url = "https://files.example.org/pkg_{i}-1.0.{i}-py3-none-any.whl"\n'
            f'hashes = {{sha256 = "{digest}"}}\n'
        )
        if total + len(block) > size:
            break
        parts.append(block)
        total += len(block)
        i += 1
    path.write_text("".join(parts))


def big_notebook(path: Path, size: int) -> None:
    """A notebook of many small code cells (imports included) up to about ``size`` bytes."""
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": ["import os\n", "import json\n", "x = [i * 2 for i in range(10)]\n", "print(x)\n"],
    }
    one = len(json.dumps(cell)) + 2
    nb = {"cells": [cell] * (size // one - 10), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


@pytest.fixture
def server(small_env: Path, tmp_path: Path, isolated_home: Path):
    root = tmp_path / "root"
    root.mkdir()
    port = free_port()
    env = {**os.environ, "ENVKERNELS_ROOTS": str(small_env.parent)}
    env.pop("PYTHONPATH", None)
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "server",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--ServerApp.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--EnvKernelsApp.default_roots=False",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                call(base, "GET", "environments", timeout=5)
                break
            except OSError:
                time.sleep(0.25)
        yield base, proc.pid, root
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_three_worst_case_operations_stay_under_500_mb(server, small_env: Path) -> None:
    base, pid, root = server
    big_pylock(root / "pylock.toml", 4 * MiB - 4096)
    big_notebook(root / "big.ipynb", 32 * MiB - 64 * 1024)
    (root / "huge.lock").write_bytes(b"#" * (100 * MiB))  # requirements-file syntax, all comment
    (root / "huge.ipynb").write_bytes(b" " * (100 * MiB))
    env_id = environment_from_prefix(small_env).id
    status, _ = call(base, "GET", f"environments/{env_id}")
    assert status == 200
    idle_mb = status_kb(pid, "VmRSS") / 1024

    # Refused before being read: no time, no memory.
    refused = [
        call(base, "POST", f"environments/{env_id}/sync", body={"lock": "huge.lock"}),
        call(base, "GET", f"environments/{env_id}/check", params={"notebook": "huge.ipynb"}),
        call(base, "GET", f"environments/{env_id}/diff", params={"lock": "huge.lock"}),
    ]
    for status, data in refused:
        assert status == 413 and data["reason"] == "too-large", data

    operations = [
        lambda: call(base, "POST", f"environments/{env_id}/sync", body={"lock": "pylock.toml"}),  # dry run
        lambda: call(base, "GET", f"environments/{env_id}/diff", params={"lock": "pylock.toml"}),
        lambda: call(base, "GET", f"environments/{env_id}/check", params={"notebook": "big.ipynb"}),
    ]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda op: op(), operations))
    for status, data in results:
        assert status in (200, 400), data  # answered (a plan, a diff, a report), never a 500
    peak_mb = status_kb(pid, "VmHWM") / 1024
    print(f"server RSS idle {idle_mb:.0f} MB, peak {peak_mb:.0f} MB")
    assert peak_mb < BUDGET_MB, f"peak {peak_mb:.0f} MB (idle {idle_mb:.0f} MB)"
