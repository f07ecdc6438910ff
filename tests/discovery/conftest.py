"""Fixtures for discovery tests: a clean cache and cwd per test, the real tools in one venv per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from envfactory import uv
from envkernels.discovery.scan import clear_cache


@pytest.fixture(autouse=True)
def _fresh_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with an empty discovery cache, in a cwd that is no project."""
    clear_cache()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("ENVKERNELS_ROOTS", raising=False)


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding poetry, pdm, hatch and pipenv from PyPI (installed once per session with uv)."""
    prefix = tmp_path_factory.mktemp("tools") / "venv"
    uv("venv", str(prefix), "--python", sys.executable, "--quiet")
    uv(
        "pip",
        "install",
        "--python",
        str(prefix / "bin" / "python"),
        "--quiet",
        "poetry",
        "pdm",
        "hatch",
        "pipenv",
    )
    return prefix / "bin"
