"""Extra roots: directories scanned to a bounded depth for environments and projects.

Roots come from ``discover(roots=...)`` (the CLI's ``--root``) and, with the default roots, from
``$ENVKERNELS_ROOTS`` (``os.pathsep``-separated). A directory holding ``pyvenv.cfg`` or
``conda-meta/`` is an environment and is not descended into; a directory holding
``__pypackages__/X.Y`` or ``.pixi/envs/*`` yields those. Directories deeper than
:data:`MAX_DEPTH` below the root, the names in :data:`SKIP_DIRS`, and hidden directories other
than :data:`HIDDEN_KEPT` are not entered; a symlinked directory is followed once (a loop ends
there). Nothing here raises for an unreadable, missing or odd path: it is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from envkernels.discovery import pixi
from envkernels.discovery.context import Candidate, ScanContext, is_dir
from envkernels.discovery.projects import VENV_DIR_NAMES, is_project

MAX_DEPTH = 4
SKIP_DIRS = frozenset({"node_modules", "site-packages", "dist-packages", "__pycache__", "__pypackages__"})
HIDDEN_KEPT = frozenset({".venv", ".env", ".virtualenv", ".tox", ".nox", ".direnv", ".conda"})


def env_roots(ctx: ScanContext) -> list[str]:
    """The roots named by ``$ENVKERNELS_ROOTS``."""
    return [p for p in (ctx.env("ENVKERNELS_ROOTS") or "").split(os.pathsep) if p]


def walk(ctx: ScanContext, root: str, max_depth: int = MAX_DEPTH) -> Iterator[Candidate]:
    """Every environment under ``root`` (candidates carry already-resolved prefixes)."""
    try:
        real = os.path.realpath(os.path.abspath(os.path.expanduser(root)))
    except (OSError, ValueError):
        return
    visited: set[str] = set()
    yield from _walk(ctx, real, max_depth, visited)


def _walk(ctx: ScanContext, path: str, depth: int, visited: set[str]) -> Iterator[Candidate]:
    if path in visited:
        return
    visited.add(path)
    entries = ctx.listdir(path)
    if entries is None:
        if os.path.basename(path) in VENV_DIR_NAMES and os.path.isdir(path):
            yield Candidate(path, None, resolved=True)  # an unreadable `.venv`: listed as broken
        return
    if "pyvenv.cfg" in entries or ("conda-meta" in entries and is_dir(entries["conda-meta"])):
        yield Candidate(path, None, resolved=True)
        return
    if is_project(entries):
        ctx.projects.add(path)
    if "__pypackages__" in entries:
        packages = ctx.listdir(f"{path}/__pypackages__")
        for ver in sorted(packages or ()):
            if ver[:1].isdigit() and "lib" in (ctx.listdir(f"{path}/__pypackages__/{ver}") or ()):
                prefix = f"{path}/__pypackages__/{ver}"
                yield Candidate(prefix, "pdm", os.path.basename(path), path, resolved=True)
    if ".pixi" in entries:
        for cand in pixi.project_envs(ctx, path):
            yield Candidate(cand.prefix, cand.kind, cand.name, cand.project, resolved=True)
    if depth <= 0:
        return
    for name in sorted(entries):
        if name in SKIP_DIRS or (name[0] == "." and name not in HIDDEN_KEPT) or name.endswith(".egg-info"):
            continue
        entry = entries[name]
        if not is_dir(entry):
            continue
        if entry.is_symlink():
            try:
                sub = os.path.realpath(entry.path)
            except (OSError, ValueError):
                continue
        else:
            sub = entry.path
        if sub in visited:
            continue
        cfg = ctx.read_pyvenv_cfg(sub)  # most children of a root of environments are venvs
        if cfg is not None:
            visited.add(sub)
            yield Candidate(sub, None, resolved=True, cfg=cfg)
            continue
        yield from _walk(ctx, sub, depth - 1, visited)


def find_in(ctx: ScanContext, roots: Iterable[str]) -> Iterator[Candidate]:
    """Every environment under each of ``roots``."""
    for root in roots:
        yield from walk(ctx, root)
