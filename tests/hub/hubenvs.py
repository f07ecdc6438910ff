"""Environments of the hub tests: the administrator's shared ones and each user's own, made with uv."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from envfactory import make_venv, uv

# The shared environment's packages; installed precompiled (`--compile-bytecode`), as docs/jupyterhub.md
# tells administrators to: a kernel then never needs to write a `.pyc` next to a shared module.
SHARED_PACKAGES = ("ipykernel", "six==1.16.0")
USER_PACKAGES = ("ipykernel",)


def make_shared_venv(prefix: Path, packages: tuple[str, ...] = SHARED_PACKAGES) -> Path:
    """An administrator's shared environment: uv venv + precompiled install, not writable by others."""
    uv("venv", str(prefix), "--python", sys.executable, "--quiet")
    uv(
        "pip",
        "install",
        "--quiet",
        "--compile-bytecode",
        "--python",
        str(prefix / "bin" / "python"),
        *packages,
    )
    for dirpath, dirnames, filenames in os.walk(prefix):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                mode = os.lstat(path).st_mode
                os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_IWGRP | stat.S_IWOTH) | stat.S_IROTH)
    return prefix


def make_user_home(home: Path, name: str) -> dict[str, Path]:
    """A user's home with a uv project (``~/<name>-analysis/.venv``) and a virtualenvwrapper venv."""
    project = home / f"{name}-analysis"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "{name}-analysis"\nversion = "0"\n')
    return {
        "project": make_venv(project / ".venv", list(USER_PACKAGES)),
        "tools": make_venv(home / ".virtualenvs" / f"{name}-tools", list(USER_PACKAGES)),
    }
