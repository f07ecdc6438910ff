"""The scan that orchestrates discovery: finders in order, de-duplication, the cache, TARGETs.

Discovery order (each finder is ``discovery/<module>.py`` with ``find(ctx)``):

1. the roots passed to :func:`discover` (the CLI's ``--root``), walked to a bounded depth;
2. with ``default_roots``: ``$ENVKERNELS_ROOTS``, walked the same way;
3. the project of the current directory and its environment;
4. ``uv`` (interpreters in ``uv python dir``), ``poetry`` (its virtualenvs dir), ``pdm`` (its venvs dir),
   ``hatch`` (its data dir), ``pipenv`` (``WORKON_HOME`` / ``~/.local/share/virtualenvs``),
   ``venvs`` (virtualenvwrapper's ``WORKON_HOME`` / ``~/.virtualenvs``), ``conda`` (registry,
   installations, ``.condarc`` ``envs_dirs``), ``pixi`` (pixi global), ``pyenv`` (``PYENV_ROOT``),
   ``system`` (``PATH``, then the running interpreter).

Every candidate's prefix is resolved to its real path once; candidates naming the same real
prefix become one record whose kind is the most specific any route (or the files) shows
(:data:`probe.SPECIFICITY`: a uv project's ``.venv`` found by a root walk and by ``WORKON_HOME`` is
``uv``). The order decides only which route's name is kept among equally specific ones.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from envkernels.discovery import (
    conda,
    hatch,
    pdm,
    pipenv,
    pixi,
    poetry,
    projects,
    pyenv,
    roots,
    system,
    uv,
    venvs,
)
from envkernels.discovery.cache import DiscoveryCache, now_ns
from envkernels.discovery.context import Candidate, ScanContext
from envkernels.discovery.probe import NO_INTERPRETER, SPECIFICITY, build_record, environment_from_prefix
from envkernels.errors import NotFoundError
from envkernels.model import Environment
from envkernels.shared import shared_roots

# The per-kind finders of step 4, in order.
FINDERS = (uv, poetry, pdm, hatch, pipenv, venvs, conda, pixi, pyenv, system)
# Environment variables any finder reads: part of the cache key.
_KEY_VARS_PREFIXES = (
    "HOME",
    "PATH",
    "WORKON_HOME",
    "XDG_",
    "POETRY_",
    "PDM_",
    "HATCH_",
    "PIPENV_",
    "CONDA",
    "MAMBA_",
    "PIXI_",
    "PYENV_",
    "UV_PROJECT_ENVIRONMENT",
    "UV_PYTHON_INSTALL_DIR",
    "ENVKERNELS_ROOTS",
    "ENVKERNELS_SHARED_ROOTS",
    "ENVKERNELS_FORK_DIR",
    "ENVKERNELS_OVERLAY_DIRS",
)

_cache = DiscoveryCache()
_stats = {"scans": 0, "hits": 0}


def clear_cache() -> None:
    """Forget cached discovery results (the next :func:`discover` scans the disk)."""
    _cache.clear()


def cache_stats() -> dict[str, int]:
    """Calls that scanned the disk, calls answered from the cache, entries inotify watches, and
    entries with paths on network file systems (polled by ``stat``)."""
    return {**_stats, "inotify_entries": _cache.armed(), "network_polled_entries": _cache.polled()}


def _cache_key(root_list: tuple[str, ...], default_roots: bool, cwd: str) -> tuple[Any, ...]:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_KEY_VARS_PREFIXES)))
    return (root_list, default_roots, env, cwd if default_roots else "", sys.prefix)


def _candidates(
    ctx: ScanContext, root_list: Iterable[str], default_roots: bool, walk_shared: bool = True
) -> Iterator[Candidate]:
    yield from roots.find_in(ctx, root_list)
    # The administrator's shared roots are seen by every caller, whatever else it asked for
    # (from their prepared snapshot when it is still true: see discovery/snapshot.py).
    if walk_shared:
        yield from roots.find_in(ctx, shared_roots())
    if not default_roots:
        return
    yield from roots.find_in(ctx, roots.env_roots(ctx))
    yield from projects.find(ctx)
    for finder in FINDERS:
        yield from finder.find(ctx)


def _merge(group: list[Candidate], real: str) -> Candidate:
    """One candidate for a real prefix: the most specific kind; name/project from the best route."""

    def rank(item: tuple[int, Candidate]) -> tuple[int, int, int]:
        order, cand = item
        direct = 1 if cand.resolved or cand.prefix == real else 0
        return (SPECIFICITY.get(cand.kind or "", 0), direct, -order)

    best = max(enumerate(group), key=rank)[1]
    project = best.project or next((c.project for c in group if c.project), None)
    return Candidate(real, best.kind, best.name, project, resolved=True)


def _is_python(env: Environment) -> bool:
    """False for a conda/pixi prefix that holds no Python at all (an R or Node environment)."""
    no_python = env.problem == NO_INTERPRETER and env.python_version is None
    return not (env.kind in ("conda", "pixi") and no_python)


def scan(root_list: Iterable[str], default_roots: bool, ctx: ScanContext) -> list[Environment]:
    """One uncached pass: candidates -> real prefixes -> one record each (sorted by kind, name, prefix)."""
    from envkernels.discovery import snapshot

    shared = shared_roots()
    prepared = snapshot.load(shared) if shared else None
    records = _records(ctx, _candidates(ctx, root_list, default_roots, walk_shared=prepared is None))
    if prepared is not None:
        envs, watched = prepared
        seen = {e.prefix for e in records}
        records += [e for e in envs if e.prefix not in seen]
        for path, sig in watched.items():
            ctx.watched.setdefault(path, sig)
    records.sort(key=_order)
    return records


def scan_roots(root_list: Iterable[str], ctx: ScanContext) -> list[Environment]:
    """The records of exactly the environments under ``root_list`` (what a discovery snapshot holds)."""
    records = _records(ctx, roots.find_in(ctx, root_list))
    records.sort(key=_order)
    return records


def _records(ctx: ScanContext, candidates: Iterable[Candidate]) -> list[Environment]:
    groups: dict[str, list[Candidate]] = {}
    for cand in candidates:
        if cand.resolved:
            real = cand.prefix
        else:
            try:
                real = os.path.realpath(cand.prefix)
            except (OSError, ValueError):
                continue
        groups.setdefault(real, []).append(cand)
    records = []
    for real, group in groups.items():
        merged = _merge(group, real) if len(group) > 1 else group[0]
        cfg = next((c.cfg for c in group if c.cfg is not None), None)
        listing = ctx.listdir(real) if cfg is None else None
        env = build_record(
            real,
            kind=merged.kind,
            name=merged.name,
            project=merged.project,
            names=listing,
            seen=ctx.watched,
            cfg_text=cfg,
        )
        if not _is_python(env):
            continue
        if env.project:
            ctx.watch(env.project)
        records.append(env)
    return records


def _order(env: Environment) -> tuple[str, list[tuple[int, str]], str]:
    """Listing order: kind, then name with numbers compared as numbers (3.9 before 3.10), then prefix."""
    natural = [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", env.name)]
    return (env.kind, natural, env.prefix)


def discover(
    roots: Iterable[str | os.PathLike[str]] | None = None,
    default_roots: bool = True,
    *,
    use_cache: bool = True,
) -> list[Environment]:
    """Every Python environment under ``roots`` and (with ``default_roots``) in the default places.

    Nothing is started or written; broken environments are listed with ``status: "broken"``.
    A repeated call is answered from an in-process cache as long as nothing it looked at on disk
    changed (see :mod:`envkernels.discovery.cache`); ``use_cache=False`` always scans.
    """
    root_list = tuple(os.fspath(r) for r in (roots or ()))
    ctx = ScanContext()
    key = _cache_key(root_list, default_roots, ctx.cwd)
    if use_cache:
        cached = _cache.get(key)
        if cached is not None:
            _stats["hits"] += 1
            return list(cached)
    started = now_ns()
    _stats["scans"] += 1
    found = scan(root_list, default_roots, ctx)
    if use_cache:
        _cache.put(key, found, ctx.watched, started)
    return found


def _prefix_at(path: str) -> str | None:
    """``path`` itself if it is an environment prefix, the prefix above it for ``.../bin/python``."""
    if os.path.isfile(path):
        bindir = os.path.dirname(os.path.abspath(path))
        if os.path.basename(bindir) in ("bin", "Scripts"):
            return _prefix_at(os.path.dirname(bindir))
        return None
    names = projects.listing(path)
    if names is None:
        return None
    if "pyvenv.cfg" in names or "conda-meta" in names:
        return path
    parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if parent == "__pypackages__" and "lib" in names:
        return path
    if "bin" in names and "lib" in names and not projects.is_project(names):
        return path  # a base interpreter's prefix (pyenv version, uv python, /usr/local)
    return None


def _project_env(project: str) -> Environment | None:
    cand = projects.project_environment(project)
    if cand is None:
        return None
    return environment_from_prefix(cand.prefix, kind=cand.kind, name=cand.name, project=cand.project)


# What creates a project's environment, by the tool that manages it (the hint of "no environment").
_CREATE_HINTS = {
    "uv": "`uv sync`",
    "poetry": "`poetry install`",
    "pdm": "`pdm install`",
    "hatch": "`hatch env create`",
    "pipenv": "`pipenv install`",
    "pixi": "`pixi install`",
}


def _pdm_selected(project: str, envs: list[Environment]) -> list[Environment]:
    """The environment whose interpreter ``.pdm-python`` names (PDM's choice for the project)."""
    try:
        with open(os.path.join(project, ".pdm-python"), encoding="utf-8") as fh:
            named = fh.read().strip()
    except (OSError, ValueError):
        return []
    if not named:
        return []
    # The directory resolved, not the interpreter: a venv's bin/python links to its base Python.
    python = os.path.join(os.path.realpath(os.path.dirname(named)), os.path.basename(named))
    return [e for e in envs if python.startswith(os.path.realpath(e.prefix) + os.sep)]


def project_target(project: str) -> Environment:
    """The environment that discovery maps to ``project`` (as ``list`` shows it).

    The project's own environment (``.venv``, poetry's and pipenv's) first; else every record
    ``discover`` gives this project (hatch's data dir, PDM's central venvs, ...), narrowed to the
    tool's default when there are several (``.pdm-python``, hatch's ``default`` environment).
    Raises NotFoundError (exit 2) when the project has none, or several and no default: never
    another interpreter in its place.
    """
    project = os.path.realpath(project)
    env = _project_env(project)
    if env is not None:
        return env
    mapped = [e for e in discover([project]) if e.project == project]
    if len(mapped) > 1:
        mapped = (
            _pdm_selected(project, mapped)
            or [e for e in mapped if e.kind == "hatch" and hatch.is_default_env(e.prefix)]
            or mapped
        )
    if len(mapped) == 1:
        return mapped[0]
    if mapped:
        names = ", ".join(f"`{e.name}`" for e in mapped[:5])
        raise NotFoundError(
            f"the project `{project}` has {len(mapped)} environments ({names}) and no default one",
            hint="pass one of them as TARGET (a name or id from `envkernels list`)",
        )
    kind = projects.kind_of_project(project, projects.listing(project) or ())
    create = _CREATE_HINTS.get(
        kind or "",
        "the project's tool (`uv sync`, `poetry install`, `pdm install`) or `python -m venv .venv`",
    )
    raise NotFoundError(
        f"the project `{project}` has no environment yet",
        hint=f"create it with {create}, or pass a TARGET (an environment prefix, or a name from "
        "`envkernels list`)",
    )


def resolve_target(target: str | None, environments: list[Environment] | None = None) -> Environment:
    """The environment a TARGET names (docs/reference.md): a prefix, a project directory, or an id/name.

    Without a TARGET: the environment of the project the current directory belongs to (an error
    when that project has none), else, outside any project, the running interpreter. A project
    directory resolves as :func:`project_target`. Raises :class:`NotFoundError` (with a hint) when
    nothing matches.
    """
    if target is None:
        project = projects.find_project(os.getcwd())
        if project is not None:
            return project_target(project)
        return environment_from_prefix(sys.prefix)
    expanded = os.path.expanduser(target)
    if os.path.exists(expanded):
        prefix = _prefix_at(expanded)
        if prefix is not None:
            return environment_from_prefix(prefix)
        if os.path.isdir(expanded) and projects.is_project(projects.listing(expanded) or []):
            return project_target(expanded)
        if os.path.isdir(expanded):
            env = _project_env(os.path.realpath(expanded))
            if env is not None:
                return env
        raise NotFoundError(
            f"`{target}` is neither an environment nor a project",
            hint="pass an environment prefix, a project directory, or an id from `envkernels list`",
        )
    envs = environments if environments is not None else discover()
    exact = [e for e in envs if target in (e.id, e.kernel_name)]
    if exact:
        return exact[0]
    named = [e for e in envs if e.name == target]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        ids = ", ".join(f"`{e.id}`" for e in named[:5])
        raise NotFoundError(f"`{target}` names {len(named)} environments: {ids}", hint="pass one of the ids")
    if os.sep in target or target.startswith((".", "~")):
        raise NotFoundError(f"`{target}` does not exist", hint="check the path (`envkernels list` shows ids)")
    raise NotFoundError(
        f"no environment matches `{target}`",
        hint="`envkernels list` shows the environments and their ids",
    )
