"""Fixtures for the magics: a uv-made environment with a planted broken requirement, a live kernel in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from magic_kernels import LiveKernel, start_kernel

from envfactory import make_venv, uv, venv_python


@pytest.fixture(scope="session")
def magic_env(shared_envs: Path) -> Path:
    """A read-only venv with ipykernel and ipywidgets, and `requests` and `urllib3 1.24.1` installed with
    `--no-deps`: three requirements of requests (idna, certifi, charset-normalizer) are missing on purpose,
    and that urllib3 has known vulnerabilities."""
    prefix = make_venv(shared_envs / "magics", ["ipykernel", "ipywidgets"])
    uv(
        "pip",
        "install",
        "--python",
        str(venv_python(prefix)),
        "--quiet",
        "--no-deps",
        "requests==2.32.3",
        "urllib3==1.24.1",
    )
    return prefix


@pytest.fixture
def live_kernel(tmp_path: Path, magic_env: Path, isolated_home: Path) -> Iterator[LiveKernel]:
    """A real kernel in ``magic_env``, working directory ``tmp_path``; shut down after the test."""
    km, kc = start_kernel(tmp_path, magic_env)
    try:
        yield LiveKernel(km, kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def shared_kernel(tmp_path_factory: pytest.TempPathFactory, magic_env: Path) -> Iterator[LiveKernel]:
    """One kernel in ``magic_env`` for a module's read-only tests (HOME and caches in a tmp dir)."""
    tmp = tmp_path_factory.mktemp("shared-kernel")
    home = tmp / "home"
    home.mkdir()
    isolated = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "ENVKERNELS_CACHE_DIR": str(home / ".cache" / "envkernels"),
    }
    km, kc = start_kernel(tmp, magic_env, extra_env=isolated)
    try:
        yield LiveKernel(km, kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
