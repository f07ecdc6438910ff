"""Fixtures for the lockfile tests: the corpus directory, a local index of real wheels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_index_server import download, serve

from envkernels.discovery.probe import environment_from_prefix
from envkernels.model import Environment

CORPUS = Path(__file__).resolve().parent.parent / "data" / "lockfiles"
# The exact versions the shared `small_env` fixture installs.
SMALL_ENV_PINS = ("six==1.16.0", "idna==3.7")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The lockfile copies (tests/data/lockfiles, see SOURCES.md there)."""
    return CORPUS


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheels of small_env's packages, downloaded from PyPI with pip."""
    return download(SMALL_ENV_PINS, tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="session")
def local_index(wheel_dir: Path) -> Iterator[str]:
    """A simple index (JSON + HTML) serving ``wheel_dir`` on 127.0.0.1."""
    with serve(wheel_dir) as url:
        yield url


@pytest.fixture(scope="session")
def html_index(wheel_dir: Path) -> Iterator[str]:
    """The same index answering HTML only (no PEP 691 JSON)."""
    with serve(wheel_dir, html_only=True) as url:
        yield url


@pytest.fixture
def small(small_env: Path) -> Environment:
    """The record of the read-only small_env."""
    return environment_from_prefix(small_env)


@pytest.fixture
def no_index_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    """No index configuration from the machine: pip.conf and uv/pip variables off."""
    for var in (
        "UV_DEFAULT_INDEX",
        "UV_INDEX_URL",
        "UV_INDEX",
        "UV_EXTRA_INDEX_URL",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
