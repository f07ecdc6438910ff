"""A real jupyter_server (pytest-jupyter) whose kernel spec manager is envkernels', over the session envs.

pytest-jupyter's fixtures and async test support are imported here, for this directory only:
as a global plugin its autouse fixtures would wrap every test of the suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

from envfactory import make_venv


@pytest.fixture
def late_root(tmp_path: Path) -> Path:
    """A root that starts empty; a test creates an environment in it while the server runs."""
    root = tmp_path / "late"
    root.mkdir()
    return root


@pytest.fixture
def broken_root(tmp_path: Path) -> Path:
    """A root holding one venv whose interpreter link dangles."""
    root = tmp_path / "broken"
    env = make_venv(root / "dangling")
    (env / "bin" / "python").unlink()
    (env / "bin" / "python").symlink_to(tmp_path / "no-such-python")
    return root


@pytest.fixture
def jp_server_config(khome: Path, kroot: Path, late_root: Path, broken_root: Path) -> Config:
    """Only the kernel spec manager of envkernels (the REST extension is tested in tests/server)."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"envkernels": False},
                "kernel_spec_manager_class": "envkernels.kernels.manager.EnvKernelSpecManager",
            },
            "EnvKernelSpecManager": {
                "roots": [str(kroot), str(late_root), str(broken_root)],
                "default_roots": False,
                "refresh_interval": 0.0,
            },
        }
    )


@pytest.fixture
def no_pythonpath(khome: Path, jp_environ: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-jupyter puts the test's sys.path into PYTHONPATH; kernels of other envs must not see it.

    ``khome`` (isolated_home) is set up first: pytest-jupyter's home then reuses its directory.
    """
    monkeypatch.delenv("PYTHONPATH", raising=False)
