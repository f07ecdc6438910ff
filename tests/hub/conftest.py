"""Fixtures for the JupyterHub tests: a world-readable work area, the team's shared root, users' homes.

The hub tests are ``slow`` and need ``configurable-http-proxy`` (npm; ``.ci/run`` installs it):
without it they are skipped with the reason. Environments are made once per session with uv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hubenvs import SHARED_MINIMAL_PACKAGES, make_shared_venv
from hubharness import proxy_binary


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if proxy_binary() is None:
        skip = pytest.mark.skip(
            reason="configurable-http-proxy is not installed (`npm install -g configurable-http-proxy`; "
            ".ci/run installs it)"
        )
        here = Path(__file__).resolve().parent
        for item in items:
            if Path(str(item.fspath)).resolve().parent == here and item.get_closest_marker("slow"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def hub_area() -> Iterator[Path]:
    """A directory every user may traverse (pytest's tmp dirs are 0700 root), removed at the end."""
    area = Path(tempfile.mkdtemp(prefix="envkernels-hub-", dir="/tmp"))
    area.chmod(0o755)
    yield area
    shutil.rmtree(area, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_root(hub_area: Path) -> Path:
    """The team's shared root: ``team-ds`` (ipykernel, six) and ``team-min`` (six, idna; no ipykernel)."""
    root = hub_area / "shared"
    root.mkdir()
    make_shared_venv(root / "team-ds")
    make_shared_venv(root / "team-min", SHARED_MINIMAL_PACKAGES)
    root.chmod(0o755)
    return root


@pytest.fixture(scope="session")
def overlays(hub_area: Path, shared_root: Path) -> Path:
    """The administrator's one ipykernel overlay for every Python of the shared root.

    ``envkernels kernels prepare --dest DIR``, run once as the administrator (here: root), exactly as
    docs/jupyterhub.md says.
    """
    dest = hub_area / "overlays"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVKERNELS_")}
    env["ENVKERNELS_SHARED_ROOTS"] = str(shared_root)
    proc = subprocess.run(
        [sys.executable, "-m", "envkernels", "kernels", "prepare", "--dest", str(dest)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return dest


@pytest.fixture(scope="module")
def history_log(hub_area: Path, request: pytest.FixtureRequest) -> Path:
    """The server-wide audit log of shared environments (one per hub), made as docs/jupyterhub.md says:
    ``install -m 0622 /dev/null LOG`` (every user's server appends, nobody but root reads)."""
    log = hub_area / f"envkernels-history-{request.module.__name__}.jsonl"
    subprocess.run(["install", "-m", "0622", "/dev/null", str(log)], check=True)
    return log
