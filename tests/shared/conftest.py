"""Fixtures for shared (team) environments: a read-only root of real uv-made environments.

The root is built once per session and must not change: every test that touches it compares
its file listing (paths, mtimes, modes) before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) for this directory only.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from sharedhelpers import cli, listing

from envfactory import make_venv
from envkernels.discovery.scan import clear_cache

SMALL_PINS = ("six==1.16.0", "idna==3.7")  # what the session's local index serves


@pytest.fixture(scope="session")
def team_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/analytics``: a venv without ipykernel (six, idna), as an administrator provides it."""
    root = tmp_path_factory.mktemp("team-root")
    make_venv(root / "analytics", list(SMALL_PINS))
    return root


@pytest.fixture
def untouched(team_root: Path) -> Iterator[None]:
    """Fails the test when anything under the team root changed (paths, mtimes, modes)."""
    before = listing(team_root)
    root_stat = os.stat(team_root)
    yield
    assert listing(team_root) == before, "something was written under the shared root"
    assert os.stat(team_root).st_mtime_ns == root_stat.st_mtime_ns


@pytest.fixture
def team_env(isolated_home: Path, team_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """ENVKERNELS_SHARED_ROOTS names the team root; the cwd is a fresh user directory."""
    monkeypatch.setenv("ENVKERNELS_SHARED_ROOTS", str(team_root))
    monkeypatch.delenv("ENVKERNELS_ROOTS", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    clear_cache()
    return team_root / "analytics"


@pytest.fixture(scope="session")
def prepared(team_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An overlay directory prepared by `envkernels kernels prepare` for the team root's Python."""
    dest = tmp_path_factory.mktemp("prepared") / "overlays"
    out = cli(
        "kernels", "prepare", "--dest", str(dest), "--json", env={"ENVKERNELS_SHARED_ROOTS": str(team_root)}
    )
    assert out.returncode == 0, out.stderr
    return dest
