"""pyenv versions: ``$PYENV_ROOT/versions/*`` (default ``~/.pyenv``), and pyenv-virtualenv's
``versions/<version>/envs/<name>`` (``versions/<name>`` is a symlink to it: one record).

A version may itself be a symlink to a Python installed elsewhere (``versions/3.11 ->
/opt/python/3.11``, the usual way to hand pyenv an existing interpreter): it is a version like any
other. Only pyenv-virtualenv's aliases, links into ``versions/<v>/envs/``, are skipped here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from envkernels.discovery.context import Candidate, ScanContext, is_dir


def root(ctx: ScanContext) -> str:
    """pyenv's root directory."""
    return os.path.abspath(os.path.expanduser(ctx.env("PYENV_ROOT") or os.path.join(ctx.home, ".pyenv")))


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """Every installed version (a prefix with ``bin/``) and every pyenv-virtualenv environment."""
    versions_dir = f"{root(ctx)}/versions"
    versions = ctx.listdir(versions_dir)
    for name in sorted(versions or ()):
        entry = versions[name]  # type: ignore[index]
        if not is_dir(entry) or (entry.is_symlink() and _is_virtualenv_alias(entry.path, versions_dir)):
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


def _is_virtualenv_alias(link: str, versions_dir: str) -> bool:
    """True when ``link`` points at ``<versions>/<v>/envs/<name>`` (pyenv-virtualenv's alias)."""
    target = os.path.realpath(link)
    parent = os.path.dirname(target)
    version = os.path.dirname(parent)
    return os.path.basename(parent) == "envs" and os.path.dirname(version) == os.path.realpath(versions_dir)
