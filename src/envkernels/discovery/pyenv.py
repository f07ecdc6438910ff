"""pyenv versions: ``$PYENV_ROOT/versions/*`` (default ``~/.pyenv``), and pyenv-virtualenv's
``versions/<version>/envs/<name>`` (``versions/<name>`` is a symlink to it: one record)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from envkernels.discovery.context import Candidate, ScanContext, is_dir


def root(ctx: ScanContext) -> str:
    """pyenv's root directory."""
    return os.path.abspath(os.path.expanduser(ctx.env("PYENV_ROOT") or os.path.join(ctx.home, ".pyenv")))


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """Every installed version (a prefix with ``bin/``) and every pyenv-virtualenv environment."""
    versions = ctx.listdir(f"{root(ctx)}/versions")
    for name in sorted(versions or ()):
        entry = versions[name]  # type: ignore[index]
        if entry.is_symlink() or not is_dir(entry):
            continue  # pyenv-virtualenv's alias of versions/<v>/envs/<name>, reached below
        sub = ctx.listdir(entry.path)
        if not sub or ("bin" not in sub and "pyvenv.cfg" not in sub):
            continue
        yield Candidate(entry.path, "pyenv", name)
        if "envs" in sub:
            envs = ctx.listdir(f"{entry.path}/envs")
            for env_name in sorted(envs or ()):
                if is_dir(envs[env_name]):  # type: ignore[index]
                    yield Candidate(f"{entry.path}/envs/{env_name}", "pyenv", env_name)
