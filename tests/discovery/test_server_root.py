"""`jupyter server` started in a folder of projects offers each project's environment, with no configuration.

The projects are made by the real tools (uv, poetry, pdm, hatch and pipenv from PyPI, as
``test_tools.py`` makes them) plus a plain ``python -m venv``, under one folder; the server is
started there as a user starts it (no ``ENVKERNELS_ROOTS``, no ``--EnvKernelSpecManager.roots``;
HOME is a tmp dir, so the tools' own directories are its default places). Every environment
must be in ``GET /api/kernelspecs``; with ``search_root_dir`` off, the in-folder ones are not.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from discohelpers import run_tool, write

from envfactory import uv
from envkernels.discovery import discover

pytestmark = pytest.mark.slow
PY = sys.executable
TOKEN = "envkernels-server-root-test"


def _project(path: Path, extra: str = "") -> Path:
    write(
        path / "pyproject.toml",
        f'[project]\nname = "{path.name}"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = []\n{extra}",
    )
    return path


@pytest.fixture
def folder(isolated_home: Path, tools: Path, tmp_path: Path) -> Path:
    """A folder of projects, one per tool, each with its environment made by that tool."""
    root = tmp_path / "projects"
    uv("sync", "--quiet", "--python", PY, cwd=_project(root / "uvproj"))
    poe = _project(root / "poeproj", "[tool.poetry]\npackage-mode = false\n")
    run_tool([str(tools / "poetry"), "env", "use", PY], poe)  # poetry's cache, mapped back to the project
    pdm = _project(root / "pdmproj", "[tool.pdm]\ndistribution = false\n")
    run_tool([str(tools / "pdm"), "venv", "create", PY], pdm)
    run_tool(
        [str(tools / "hatch"), "env", "create"],
        _project(root / "hatchproj", "[tool.hatch.envs.default]\nskip-install = true\n"),
    )
    pipe = root / "pipeproj"
    write(pipe / "Pipfile", '[packages]\n\n[requires]\npython_version = "3"\n')
    run_tool([str(tools / "pipenv"), "--python", PY], pipe, {"PIPENV_YES": "1"})
    subprocess.run([PY, "-m", "venv", "--without-pip", str(root / "plain" / "venv")], check=True)
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextmanager
def _server(root: Path, log_path: Path, *extra: str) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ENVKERNELS_ROOTS")}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                PY,
                "-m",
                "jupyter",
                "server",
                "--allow-root",
                "--no-browser",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--ServerApp.token={TOKEN}",
                *extra,
            ],
            cwd=root,
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
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _offered_prefixes(base: str, want: set[str], patience: float = 60.0) -> set[str]:
    """The prefixes the kernelspecs name, asked until ``want`` is offered (the walk is in the background)."""
    deadline = time.monotonic() + patience
    while True:
        specs = _get(f"{base}/api/kernelspecs")["kernelspecs"]
        offered = {
            ((m["spec"].get("metadata") or {}).get("envkernels") or {}).get("prefix") for m in specs.values()
        }
        if want <= offered or time.monotonic() > deadline:
            return offered
        time.sleep(0.5)


def test_server_started_in_a_folder_of_projects_offers_every_projects_environment(
    folder: Path, tmp_path: Path
) -> None:
    by_project = {}
    for env in discover([folder]):
        if env.project and Path(env.project).parent == folder.resolve():
            by_project[Path(env.project).name] = env
    for env in discover([folder], default_roots=False):  # the plain venv has no project
        if Path(env.prefix).parent.name == "plain":
            by_project["plain"] = env
    kinds = {name: env.kind for name, env in by_project.items()}
    assert kinds == {
        "uvproj": "uv",
        "poeproj": "poetry",
        "pdmproj": "pdm",
        "hatchproj": "hatch",
        "pipeproj": "pipenv",
        "plain": "venv",
    }, kinds
    want = {env.prefix for env in by_project.values()}
    with _server(folder, tmp_path / "server.log") as base:
        offered = _offered_prefixes(base, want)
    missing = sorted(name for name, env in by_project.items() if env.prefix not in offered)
    assert missing == [], (missing, (tmp_path / "server.log").read_text()[-3000:])

    # c.EnvKernelSpecManager.search_root_dir = False: the in-folder environments are not searched.
    in_folder = {by_project[n].prefix for n in ("uvproj", "plain")}
    with _server(folder, tmp_path / "off.log", "--EnvKernelSpecManager.search_root_dir=False") as base:
        offered = _offered_prefixes(base, in_folder, patience=3.0)
    assert not (in_folder & offered)
