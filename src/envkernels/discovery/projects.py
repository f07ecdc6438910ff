"""Projects: the directory that owns an environment, the tool that manages it, and its lockfiles.

A project is a directory holding one of :data:`PROJECT_MARKERS`. Its environment is, in order:
``UV_PROJECT_ENVIRONMENT`` (uv projects; relative to the project), ``.venv``/``venv``/``.env``/``env``,
pixi's ``.pixi/envs/default``, PDM's ``__pypackages__/X.Y``, and the environment poetry or pipenv
keeps for it outside the project (see :mod:`poetry` and :mod:`pipenv`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from envkernels.discovery.context import Candidate, ScanContext

PROJECT_MARKERS: tuple[str, ...] = (
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile",
    "pixi.toml",
    "setup.py",
    "setup.cfg",
)
# Lockfiles a project may carry, in the order `lockfiles` lists them.
LOCKFILE_NAMES: tuple[str, ...] = (
    "pylock.toml",
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "pixi.lock",
)
# Directory names tools give an in-project environment.
VENV_DIR_NAMES: tuple[str, ...] = (".venv", "venv", ".env", "env", ".virtualenv", "virtualenv")
# Files that name the tool managing a project's environment, most specific first.
_KIND_MARKERS: tuple[tuple[str, str], ...] = (
    ("uv.lock", "uv"),
    ("poetry.lock", "poetry"),
    ("pdm.lock", "pdm"),
    (".pdm-python", "pdm"),
    ("Pipfile", "pipenv"),
)
# `[tool.X]` tables of pyproject.toml that name the tool when no lockfile does.
_TOOL_TABLES: tuple[tuple[str, str], ...] = (
    ("[tool.uv", "uv"),
    ("[tool.poetry", "poetry"),
    ("[tool.pdm", "pdm"),
    ("[tool.hatch", "hatch"),
)


def is_project(names: Iterable[str]) -> bool:
    """True when a directory listing holds a project marker."""
    return any(n in PROJECT_MARKERS for n in names)


def lockfiles_in(project: str, names: Iterable[str]) -> tuple[str, ...]:
    """The lockfiles among a project directory's ``names`` (absolute paths, stable order)."""
    names = set(names)
    found = [f"{project}/{n}" for n in LOCKFILE_NAMES if n in names]
    found += sorted(
        f"{project}/{n}"
        for n in names
        if n.startswith("pylock.") and n.endswith(".toml") and n != "pylock.toml"
    )
    return tuple(found)


def kind_of_project(project: str, names: Iterable[str], read: bool = True) -> str | None:
    """The tool managing a project, from its lockfiles, else its pyproject's ``[tool.*]`` tables."""
    names = set(names)
    for marker, kind in _KIND_MARKERS:
        if marker in names:
            return kind
    if read and "pyproject.toml" in names:
        try:
            with open(f"{project}/pyproject.toml", "rb") as fh:
                text = fh.read(1 << 20).decode("utf-8", "replace")
        except (OSError, ValueError):
            return None
        for table, kind in _TOOL_TABLES:
            if table in text:
                return kind
    return None


def listing(path: str) -> list[str] | None:
    """Names in a directory, None when unreadable (no DirEntry objects kept)."""
    try:
        return os.listdir(path)
    except (OSError, ValueError):
        return None


def find_project(start: str) -> str | None:
    """The nearest directory at or above ``start`` holding a project marker, None when there is none."""
    current = os.path.abspath(start)
    while True:
        names = listing(current)
        if names and is_project(names):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def project_environment(project: str, environ: Mapping[str, str] | None = None) -> Candidate | None:
    """The environment that belongs to ``project``, or None when it has none yet."""
    environ = os.environ if environ is None else environ
    names = set(listing(project) or ())
    kind = kind_of_project(project, names)
    uv_env = environ.get("UV_PROJECT_ENVIRONMENT")
    if uv_env and kind in (None, "uv"):
        path = uv_env if os.path.isabs(uv_env) else os.path.join(project, uv_env)
        if os.path.isfile(os.path.join(path, "pyvenv.cfg")):
            return Candidate(os.path.abspath(path), "uv", os.path.basename(project), project)
    for dirname in VENV_DIR_NAMES:
        if dirname in names and os.path.isfile(f"{project}/{dirname}/pyvenv.cfg"):
            return Candidate(f"{project}/{dirname}", None, None, project)
    if ".pixi" in names and os.path.isdir(f"{project}/.pixi/envs/default/conda-meta"):
        return Candidate(f"{project}/.pixi/envs/default", "pixi", os.path.basename(project), project)
    if "__pypackages__" in names:
        for sub in sorted(listing(f"{project}/__pypackages__") or (), reverse=True):
            if os.path.isdir(f"{project}/__pypackages__/{sub}/lib"):
                return Candidate(f"{project}/__pypackages__/{sub}", "pdm", os.path.basename(project), project)
    # Environments the tool keeps outside the project (imported here: they import this module).
    from envkernels.discovery import pipenv, poetry

    if kind == "poetry":  # poetry.lock or [tool.poetry]
        found = poetry.environment_for_project(project, environ)
        if found is not None:
            return found
    if kind == "pipenv":
        return pipenv.environment_for_project(project, environ)
    return None


def find(ctx: ScanContext) -> Iterable[Candidate]:
    """The environment of the project the current directory belongs to (if any)."""
    project = find_project(ctx.cwd)
    if project is None:
        return []
    ctx.watch(project)
    ctx.projects.add(os.path.realpath(project))
    found = project_environment(project, ctx.environ)
    if found is None:
        return []
    ctx.watch(found.prefix)
    return [found]
