"""The scan that orchestrates discovery: roots, de-duplication, and TARGET resolution.

NOTE: first cut (venv roots + the running interpreter); the per-kind modules extend it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from envkernels.discovery.probe import environment_from_prefix
from envkernels.errors import NotFoundError
from envkernels.model import Environment

MAX_DEPTH = 4


def _walk_for_prefixes(root: Path, depth: int) -> Iterable[Path]:
    try:
        with os.scandir(root) as entries:
            subdirs = []
            for entry in entries:
                if entry.name == "pyvenv.cfg" or (entry.name == "conda-meta" and entry.is_dir()):
                    yield root
                    return
                if entry.is_dir(follow_symlinks=False) and depth > 0:
                    subdirs.append(Path(entry.path))
    except OSError:
        return
    for sub in sorted(subdirs):
        yield from _walk_for_prefixes(sub, depth - 1)


def discover(
    roots: Iterable[str | os.PathLike[str]] | None = None,
    default_roots: bool = True,
) -> list[Environment]:
    """Every environment under ``roots`` (and the default places when ``default_roots``)."""
    seen: dict[str, Environment] = {}
    for root in roots or ():
        for prefix in _walk_for_prefixes(Path(root), MAX_DEPTH):
            env = environment_from_prefix(prefix)
            seen.setdefault(env.prefix, env)
    if default_roots:
        env = environment_from_prefix(sys.prefix, kind="system")
        seen.setdefault(env.prefix, env)
    return sorted(seen.values(), key=lambda e: (e.kind, e.name, e.prefix))


def resolve_target(target: str | None, environments: list[Environment] | None = None) -> Environment:
    """The environment a TARGET names: a prefix, a project directory, or an id/name from ``list``."""
    if target is None:
        cwd = Path.cwd()
        for cand in (cwd / ".venv",):
            if (cand / "pyvenv.cfg").is_file():
                return environment_from_prefix(cand)
        return environment_from_prefix(sys.prefix)
    path = Path(target)
    if path.is_dir():
        if (path / "pyvenv.cfg").is_file() or (path / "conda-meta").is_dir():
            return environment_from_prefix(path)
        if (path / ".venv" / "pyvenv.cfg").is_file():
            return environment_from_prefix(path / ".venv")
    envs = environments if environments is not None else discover()
    for env in envs:
        if target in (env.id, env.name, env.kernel_name):
            return env
    raise NotFoundError(
        f"no environment matches `{target}`",
        hint="`envkernels list` shows the environments and their ids",
    )
