"""pixi environments: ``.pixi/envs/<name>`` beside a ``pixi.toml`` or ``pyproject.toml``, and pixi global.

Project environments are conda prefixes (``conda-meta/``) that pixi installs into the project's
``.pixi/envs/<name>``; they are reached with their project (roots, the current directory), where
:func:`project_envs` lists them. Here: pixi global's environments, ``$PIXI_HOME/envs/<name>``
(default ``~/.pixi/envs``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from envkernels.discovery.context import Candidate, ScanContext, is_dir


def project_envs(ctx: ScanContext, project: str) -> Iterator[Candidate]:
    """The environments of one pixi project (``<project>/.pixi/envs/*`` holding ``conda-meta``)."""
    envs = ctx.listdir(f"{project}/.pixi/envs")
    for name in sorted(envs or ()):
        entry = envs[name]  # type: ignore[index]
        if is_dir(entry):
            sub = ctx.listdir(entry.path)
            if sub and "conda-meta" in sub:
                base = os.path.basename(project)
                label = base if name == "default" else f"{base}-{name}"
                yield Candidate(entry.path, "pixi", label, project)


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """pixi global's environments."""
    home = ctx.env("PIXI_HOME") or os.path.join(ctx.home, ".pixi")
    envs = ctx.listdir(f"{home}/envs")
    for name in sorted(envs or ()):
        entry = envs[name]  # type: ignore[index]
        if is_dir(entry):
            sub = ctx.listdir(entry.path)
            if sub and "conda-meta" in sub:
                yield Candidate(entry.path, "pixi", name)
