"""A real `jupyter server` process, started exactly as a user starts it, offers the environments.

No `--ServerApp.kernel_spec_manager_class` on the command line and no test config: only what
`pip install envkernels` put in place (the jupyter-config file enabling the server extension,
which adopts the kernel spec manager). This is the path every user takes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from envkernels.discovery import environment_from_prefix

TOKEN = "envkernels-real-server-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def real_server(khome: Path, kroot: Path, tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "ENVKERNELS_ROOTS": str(kroot)}
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
            f"--ServerApp.root_dir={tmp_path}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(480):  # a loaded 2-core machine can take a minute to start a server
            try:
                _get(f"{base}/api/status")
                break
            except OSError:
                if proc.poll() is not None:
                    break  # it exited: the test fails with its log
                time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_installed_package_alone_makes_a_real_server_offer_the_environments(
    real_server: str, kroot: Path, tmp_path: Path
) -> None:
    specs = _get(f"{real_server}/api/kernelspecs")["kernelspecs"]
    log = (tmp_path / "server.log").read_text()
    assert "error linking extension" not in log, log
    for name in ("withipk", "bare"):
        env = environment_from_prefix(kroot / name)
        assert env.kernel_name in specs, (sorted(specs), log[-2000:])
        assert specs[env.kernel_name]["spec"]["metadata"]["envkernels"]["prefix"] == env.prefix
    assert "python3" in specs  # old notebooks still open
    # and the REST API of the extension answers, behind the server's authentication
    assert any(e["prefix"] == str(kroot / "bare") for e in _get(f"{real_server}/envkernels/api/environments"))
