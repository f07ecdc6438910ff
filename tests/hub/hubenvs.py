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
# A shared environment without ipykernel: its kernels start from the prepared overlay, and it is
# what the tests fork (the session's local index serves exactly these wheels).
SHARED_MINIMAL_PACKAGES = ("six==1.16.0", "idna==3.7")
USER_PACKAGES = ("ipykernel",)


def make_shared_venv(prefix: Path, packages: tuple[str, ...] = SHARED_PACKAGES) -> Path:
    """An administrator's shared environment: uv venv + precompiled install, not writable by others."""
    uv("venv", str(prefix), "--python", base_python(), "--quiet")
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


def spawner_environment(
    shared_root: Path, overlays: Path, history_log: Path, index_url: str
) -> dict[str, str]:
    """What the hub's ``c.Spawner.environment`` gives every server (docs/jupyterhub.md)."""
    return {
        "ENVKERNELS_SHARED_ROOTS": str(shared_root),
        "ENVKERNELS_OVERLAY_DIRS": str(overlays),
        "ENVKERNELS_HISTORY_LOG": str(history_log),
        # test-only: the package index forks lock from (a local one serving six and idna, and no
        # ipykernel: a kernel that needed its own overlay built could not get one)
        "UV_INDEX_URL": index_url,
    }


def make_user_home(home: Path, name: str) -> dict[str, Path]:
    """A user's home with a uv project (``~/<name>-analysis/.venv``) and a virtualenvwrapper venv."""
    project = home / f"{name}-analysis"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "{name}-analysis"\nversion = "0"\n')
    return {
        "project": make_venv(project / ".venv", list(USER_PACKAGES), python=base_python()),
        "tools": make_venv(
            home / ".virtualenvs" / f"{name}-tools", list(USER_PACKAGES), python=base_python()
        ),
    }


def readable_by_all(path: str | os.PathLike[str]) -> bool:
    """True when any user may read ``path`` (resolved) and traverse every directory above it.

    ``os.access`` cannot tell (root may read anything); the mode bits can.
    """
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & stat.S_IROTH:
            return False
        return all(p.stat().st_mode & stat.S_IXOTH for p in real.parents)
    except OSError:
        return False


def public_python() -> str | None:
    """A Python >= 3.10 every user can run (the test's own may live in root's private home)."""
    candidates = [sys.executable]
    for minor in range(20, 9, -1):
        candidates += [f"/usr/bin/python3.{minor}", f"/usr/local/bin/python3.{minor}"]
    for candidate in candidates:
        if os.path.exists(candidate) and readable_by_all(candidate):
            return candidate
    return None


def base_python() -> str:
    """The interpreter the hub tests' environments are made from: a public one where there is one."""
    return public_python() or sys.executable


def rebase_on_private_python(prefix: Path, private_bin: Path) -> None:
    """Make ``prefix`` a venv of an interpreter in ``private_bin`` (a directory other users cannot enter).

    This is what ``python -m venv`` gives when run with a Python under someone's private home
    (``~/.pyenv``, ``~/.local/share/uv/python``): ``home =`` and the ``bin/python*`` links point there.
    """
    cfg = prefix / "pyvenv.cfg"
    lines = [
        f"home = {private_bin}" if line.startswith("home =") else line
        for line in cfg.read_text().splitlines()
    ]
    cfg.unlink()  # never write into a file uv may have linked
    cfg.write_text("\n".join(lines) + "\n")
    for link in (prefix / "bin").glob("python*"):
        link.unlink()
        link.symlink_to(private_bin / "python3")
