"""Fixtures for the sync tests: a local index of real wheels and locks of small, known environments."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lockfiles"))

from simple_index_server import download, serve

from envkernels.discovery.probe import environment_from_prefix
from envkernels.lockfiles.writer import lock_environment

# What small_env pins; the tests' drifted environments come from PyPI through uv.
WHEELS = ("six==1.16.0", "idna==3.7")


@pytest.fixture(scope="session")
def sync_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real wheels downloaded from PyPI with pip."""
    return download(WHEELS, tmp_path_factory.mktemp("sync-wheels"))


@pytest.fixture(scope="session")
def sync_index(sync_wheels: Path) -> Iterator[str]:
    """A simple index serving ``sync_wheels`` on 127.0.0.1."""
    with serve(sync_wheels) as url:
        yield url


@pytest.fixture(scope="session")
def small_lock(small_env: Path, sync_index: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pylock.toml of small_env with URLs and hashes from the local index."""
    out = tmp_path_factory.mktemp("small-lock") / "pylock.toml"
    result = lock_environment(environment_from_prefix(small_env), output=str(out), index_url=sync_index)
    assert result.missing == []
    return out
