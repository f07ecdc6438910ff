"""Fixtures every test area shares: an isolated HOME, and read-only environments built once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from envfactory import UV_CACHE_DIR, make_venv
from simple_index_server import download, serve

# Variables through which a tool's environments could leak in from the machine running the tests.
_TOOL_VARS = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_ENVS_PATH",
    "CONDARC",
    "MAMBA_ROOT_PREFIX",
    "WORKON_HOME",
    "PYENV_ROOT",
    "POETRY_VIRTUALENVS_PATH",
    "POETRY_CONFIG_DIR",
    "POETRY_CACHE_DIR",
    "PIPENV_VENV_IN_PROJECT",
    "UV_PROJECT_ENVIRONMENT",
    "HATCH_DATA_DIR",
    "PDM_HOME",
    "PIXI_HOME",
    "JUPYTER_PATH",
    "JUPYTER_DATA_DIR",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_RUNTIME_DIR",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "ENVKERNELS_CACHE_DIR",
)


# Variables a server or kernel spec manager running inside the test process sets for the kernels and
# workers it starts (shared roots, prepared overlays, the server-wide history log).
_PROCESS_SETTINGS = ("ENVKERNELS_SHARED_ROOTS", "ENVKERNELS_OVERLAY_DIRS", "ENVKERNELS_HISTORY_LOG")


@pytest.fixture(autouse=True)
def _restore_process_settings() -> Iterator[None]:
    """Undo what an in-process server set in os.environ: a later test (and every subprocess it
    starts, such as a `jupyter lab`) would otherwise see another test's shared roots."""
    before = {var: os.environ.get(var) for var in _PROCESS_SETTINGS}
    yield
    for var, value in before.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME and every tool's variable into a tmp dir so nothing of the machine leaks in."""
    home = tmp_path / "home"
    home.mkdir()
    for var in _TOOL_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("UV_CACHE_DIR", UV_CACHE_DIR)
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("ENVKERNELS_CACHE_DIR", str(home / ".cache" / "envkernels"))
    return home


@pytest.fixture(scope="session")
def shared_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for session-wide, read-only environments (tests must not modify them)."""
    return tmp_path_factory.mktemp("shared-envs")


@pytest.fixture(scope="session")
def small_env(shared_envs: Path) -> Path:
    """A read-only venv with a couple of small pure-Python packages (six, idna)."""
    return make_venv(shared_envs / "small", list(SMALL_ENV_PINS))


@pytest.fixture(scope="session")
def kernel_env(shared_envs: Path) -> Path:
    """A read-only venv with ipykernel installed (real kernels start from it)."""
    return make_venv(shared_envs / "kernel", ["ipykernel", "six==1.16.0"])


@pytest.fixture(scope="session", autouse=True)
def _uv_cache_env() -> None:
    os.environ.setdefault("UV_CACHE_DIR", UV_CACHE_DIR)


# The exact versions `small_env` installs: a local index serving their wheels can lock and sync it.
SMALL_ENV_PINS = ("six==1.16.0", "idna==3.7")


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheels of small_env's packages, downloaded from PyPI with pip (once per session)."""
    return download(SMALL_ENV_PINS, tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="session")
def local_index(wheel_dir: Path) -> Iterator[str]:
    """A simple index (PEP 691 JSON + PEP 503 HTML) serving ``wheel_dir`` on 127.0.0.1."""
    with serve(wheel_dir) as url:
        yield url


@pytest.fixture(scope="session")
def html_index(wheel_dir: Path) -> Iterator[str]:
    """The same wheels from an index answering HTML only (no PEP 691 JSON)."""
    with serve(wheel_dir, html_only=True) as url:
        yield url
