"""Fixtures for the sync tests: a local index of real wheels and locks of small, known environments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lockfiles"))


from envkernels.discovery.probe import environment_from_prefix
from envkernels.lockfiles.writer import lock_environment


@pytest.fixture(scope="session")
def small_lock(small_env: Path, local_index: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pylock.toml of small_env with URLs and hashes from the local index."""
    out = tmp_path_factory.mktemp("small-lock") / "pylock.toml"
    result = lock_environment(environment_from_prefix(small_env), output=str(out), index_url=local_index)
    assert result.missing == []
    return out
