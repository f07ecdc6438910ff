"""venv and virtualenv environments kept in virtualenvwrapper's home, and envkernels' forks.

Where: ``$WORKON_HOME`` (virtualenvwrapper's setting), else ``~/.virtualenvs``; and the directory
``envkernels fork`` creates environments in (``$ENVKERNELS_FORK_DIR``, else
``$XDG_DATA_HOME/envkernels/envs``). Each subdirectory holding ``pyvenv.cfg`` is one environment.
Venvs anywhere else are reached through the roots
(:mod:`envkernels.discovery.roots`) or the project of the current directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from envkernels.discovery._dirs import prefixes_in
from envkernels.discovery.context import Candidate, ScanContext


def homes(ctx: ScanContext) -> list[str]:
    """The directories virtualenvwrapper keeps environments in."""
    found = []
    workon = ctx.env("WORKON_HOME")
    if workon:
        found.append(os.path.abspath(os.path.expanduser(workon)))
    found.append(os.path.join(ctx.home, ".virtualenvs"))
    forks = ctx.env("ENVKERNELS_FORK_DIR")
    found.append(
        os.path.abspath(os.path.expanduser(forks))
        if forks
        else os.path.join(ctx.xdg("XDG_DATA_HOME", ".local/share"), "envkernels", "envs")
    )
    return list(dict.fromkeys(found))


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """Every venv in virtualenvwrapper's homes (kind ``venv``; the files may show a more specific one)."""
    for home in homes(ctx):
        yield from prefixes_in(ctx, home, "venv")
