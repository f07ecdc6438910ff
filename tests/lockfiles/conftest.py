"""Fixtures for the lockfile tests: the corpus directory (the local wheel index is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from envkernels.discovery.probe import environment_from_prefix
from envkernels.model import Environment

CORPUS = Path(__file__).resolve().parent.parent / "data" / "lockfiles"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The lockfile copies (tests/data/lockfiles, see SOURCES.md there)."""
    return CORPUS


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
