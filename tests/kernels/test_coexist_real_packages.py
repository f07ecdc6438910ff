"""Coexistence with another kernel manager, with the real packages: nb-venv-kernels from PyPI.

A venv of its own gets this checkout (editable) and nb-venv-kernels, as a user trying both has
them. nb-venv-kernels names its manager in an installed ``jupyter_config.json`` (for NotebookApp
and ServerApp) and sets the class again when its extension loads; a real ``jupyter server``
started there must offer envkernels' environments AND nb-venv-kernels' registered environment,
each environment once, say in its log which manager serves kernels, and ``envkernels doctor``
must say the same. (nb_conda_kernels is published on conda channels only, out of reach here.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from envfactory import make_venv, uv

pytestmark = pytest.mark.slow
CHECKOUT = Path(__file__).resolve().parents[2]
TOKEN = "envkernels-coexist-test"


@pytest.fixture(scope="module")
def both_installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with this checkout (editable) and nb-venv-kernels from PyPI."""
    venv = tmp_path_factory.mktemp("coexist") / "venv"
    uv("venv", "--quiet", str(venv))
    python = str(venv / "bin" / "python")
    uv("pip", "install", "--quiet", "--python", python, "-e", str(CHECKOUT), "nb-venv-kernels")
    assert (venv / "etc" / "jupyter" / "jupyter_config.json").is_file()  # nb-venv-kernels' own setting
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> object:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def world(both_installed: Path, khome: Path, tmp_path: Path) -> dict[str, Path]:
    """A registered env (nb-venv-kernels knows it) and a project env under the server root."""
    registered = make_venv(tmp_path / "elsewhere" / "registered", ["ipykernel"])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(both_installed / "bin" / "nb_venv_kernels"), "register", str(registered)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )  # its workspace
    assert done.returncode == 0, done.stdout + done.stderr
    root = tmp_path / "root"
    project = make_venv(root / "proj" / ".venv", ["six==1.16.0"])
    return {"registered": registered, "root": root, "project": project}


@pytest.fixture
def server(both_installed: Path, world: dict[str, Path], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["ENVKERNELS_ROOTS"] = str(world["root"])
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                str(both_installed / "bin" / "jupyter"),
                "server",
                "--allow-root",
                "--no-browser",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--ServerApp.token={TOKEN}",
                f"--ServerApp.root_dir={world['root']}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    _get(f"{base}/api/status")
                    break
                except OSError:
                    time.sleep(0.5)
            yield base, log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _prefixes(specs: dict[str, dict]) -> dict[str, list[str]]:
    """Kernel names by the environment their interpreter lives in."""
    by_prefix: dict[str, list[str]] = {}
    for name, model in specs.items():
        argv = model["spec"]["argv"]
        record = (model["spec"].get("metadata") or {}).get("envkernels") or {}
        prefix = record.get("prefix") or str(Path(argv[0]).parent.parent)
        by_prefix.setdefault(os.path.realpath(prefix), []).append(name)
    return by_prefix


def test_both_managers_kernels_are_offered_once_each_and_the_log_says_who_serves(
    server: tuple[str, Path], world: dict[str, Path], both_installed: Path
) -> None:
    base, log_path = server
    specs = _get(f"{base}/api/kernelspecs")["kernelspecs"]  # type: ignore[index]
    log = log_path.read_text()
    by_prefix = _prefixes(specs)
    registered, project = str(world["registered"].resolve()), str(world["project"].resolve())
    assert len(by_prefix.get(registered, [])) == 1, (sorted(specs), log[-3000:])  # nb-venv-kernels' env
    assert len(by_prefix.get(project, [])) == 1, (sorted(specs), log[-3000:])  # envkernels' env
    assert by_prefix[registered][0].startswith("venv-")  # under nb-venv-kernels' own name
    assert all(len(names) == 1 for names in by_prefix.values()), by_prefix  # no duplicates at all
    assert "python3" in specs
    assert (
        "kernels are served by envkernels.kernels.manager.EnvKernelSpecManager, wrapping "
        "nb_venv_kernels.manager.VEnvKernelSpecManager" in log
    )
    assert "wrap_other = False" in log  # how to choose the other manager


def test_doctor_says_which_manager_is_configured_and_that_envkernels_wraps_it(
    both_installed: Path, khome: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(both_installed / "bin" / "envkernels"), "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    assert report["jupyter"]["kernel_spec_manager_class"] == "nb_venv_kernels.VEnvKernelSpecManager"
    other = [f for f in report["findings"] if f["code"] == "other-kernel-manager"]
    assert len(other) == 1 and "wraps" in other[0]["message"], report["findings"]
    assert "wrap_other = False" in other[0]["hint"]
