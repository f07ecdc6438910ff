"""Real environments for tests, made with uv (the uv cache is kept across runs, so PyPI is hit once).

Import from tests: ``from envfactory import make_venv, uv``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from envkernels.uvbin import uv_binary

# The uv cache outlives HOME being pointed into a tmp dir by the isolation fixture.
UV_CACHE_DIR = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")


def uv(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the uv binary with the shared cache; raise with uv's stderr on failure."""
    full_env = dict(os.environ)
    full_env["UV_CACHE_DIR"] = UV_CACHE_DIR
    full_env.pop("VIRTUAL_ENV", None)
    if env:
        full_env.update(env)
    proc = subprocess.run([uv_binary(), *args], cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"uv {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def make_venv(
    prefix: str | os.PathLike[str],
    packages: Sequence[str] = (),
    *,
    python: str | None = None,
    no_deps: bool = False,
    seed: bool = False,
) -> Path:
    """Create a venv at ``prefix`` with uv and install ``packages`` into it; returns the prefix."""
    prefix = Path(prefix)
    args = ["venv", str(prefix), "--python", python or sys.executable, "--quiet"]
    if seed:
        args.append("--seed")
    uv(*args)
    if packages:
        install = ["pip", "install", "--python", str(prefix / "bin" / "python"), "--quiet", *packages]
        if no_deps:
            install.append("--no-deps")
        uv(*install)
    return prefix


def venv_python(prefix: str | os.PathLike[str]) -> Path:
    """The interpreter of a POSIX venv."""
    return Path(prefix) / "bin" / "python"


def freeze(prefix: str | os.PathLike[str]) -> str:
    """``uv pip freeze`` of an environment (to compare installed sets byte for byte)."""
    return uv("pip", "freeze", "--python", str(venv_python(prefix))).stdout
