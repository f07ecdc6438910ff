"""Build one Environment record from a prefix on disk (no interpreter started).

``environment_from_prefix`` is what every route into an environment ends in: the scan of
roots, a TARGET on the command line, a path from the REST API.
"""

from __future__ import annotations

import os
from pathlib import Path

from envkernels.discovery import layout
from envkernels.model import Environment

# Files in a project directory that name the tool that manages its `.venv`, most specific first.
_PROJECT_MARKERS: tuple[tuple[str, str], ...] = (
    ("uv.lock", "uv"),
    ("poetry.lock", "poetry"),
    ("pdm.lock", "pdm"),
    ("Pipfile", "pipenv"),
    ("pixi.toml", "pixi"),
)
LOCKFILE_NAMES: tuple[str, ...] = (
    "pylock.toml",
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "pixi.lock",
)


def project_lockfiles(project: Path) -> tuple[str, ...]:
    """The lockfiles found in a project directory (absolute paths), in a stable order."""
    found = [str(project / n) for n in LOCKFILE_NAMES if (project / n).is_file()]
    try:
        with os.scandir(project) as entries:
            extra = sorted(
                e.path for e in entries if e.name.startswith("pylock.") and e.name.endswith(".toml") and e.name != "pylock.toml"
            )
    except OSError:
        extra = []
    return tuple(found + extra)


def kind_for_project(project: Path) -> str | None:
    """The tool that manages a project's environment, judged by the files it writes."""
    for marker, kind in _PROJECT_MARKERS:
        if (project / marker).exists():
            return kind
    return None


def environment_from_prefix(
    prefix: str | os.PathLike[str],
    *,
    kind: str | None = None,
    name: str | None = None,
    project: str | os.PathLike[str] | None = None,
) -> Environment:
    """Read the environment at ``prefix`` into a record; a broken one gets problem and hint.

    ``kind``, ``name`` and ``project`` are what the route that found it knows; what it does not
    know is judged from the files (``pyvenv.cfg``, ``conda-meta/``, a project beside ``.venv``).
    """
    raw = Path(prefix)
    try:
        resolved = Path(os.path.realpath(raw))
    except (OSError, ValueError):
        resolved = raw.absolute()
    proj = Path(project) if project else None
    if proj is None and resolved.name in (".venv", "venv", ".env", "env"):
        parent = resolved.parent
        if (parent / "pyproject.toml").is_file() or kind_for_project(parent) is not None:
            proj = parent
    cfg = layout.read_pyvenv_cfg(resolved)
    if kind is None:
        if (resolved / "conda-meta").is_dir():
            kind = "pixi" if ".pixi" in resolved.parts else "conda"
        elif proj is not None:
            kind = kind_for_project(proj) or ("uv" if cfg and "uv" in cfg else "venv")
        elif cfg and "uv" in cfg:
            kind = "uv"
        else:
            kind = "venv"
    if name is None:
        name = proj.name if proj is not None else resolved.name
        if name in (".venv", "venv") and resolved.parent.name:
            name = resolved.parent.name
    version, free_threaded = layout.version_from_layout(resolved)
    interp = layout.interpreter_path(resolved)
    implementation = "cpython"
    if cfg and "implementation" in cfg:
        implementation = cfg["implementation"].lower()
    elif any(resolved.glob("lib/pypy*")) if not layout.is_windows_layout(resolved) else False:
        implementation = "pypy"
    problem = hint = None
    status = "ok"
    if interp is None:
        status, problem = "broken", "no Python interpreter in the environment"
    elif not os.path.exists(interp):
        status, problem = "broken", f"the interpreter link `{interp}` points to a missing file"
    elif cfg is not None and not cfg:
        status, problem = "broken", "`pyvenv.cfg` is empty or unreadable"
    if status == "broken":
        hint = _fix_hint(kind, resolved, proj)
    resolved_str = str(resolved)
    env_id = layout.environment_id(kind, name, resolved_str)
    return Environment(
        id=env_id,
        kind=kind,
        name=name,
        prefix=resolved_str,
        python=str(interp) if interp is not None else None,
        python_version=version,
        implementation=implementation,
        free_threaded=free_threaded,
        project=str(proj) if proj is not None else None,
        lockfiles=project_lockfiles(proj) if proj is not None else (),
        has_ipykernel=layout.has_distribution(resolved, "ipykernel") if status == "ok" else False,
        kernel_name=layout.kernel_name_for(env_id),
        status=status,
        problem=problem,
        hint=hint,
    )


def _fix_hint(kind: str, prefix: Path, project: Path | None) -> str:
    """The command that recreates a broken environment of this kind."""
    where = f"`cd {project}` and " if project else ""
    if kind == "uv":
        return f"{where}`uv sync`" if project else f"`uv venv --clear {prefix}`"
    if kind == "poetry":
        return f"{where}`poetry env remove --all && poetry install`"
    if kind == "pdm":
        return f"{where}`pdm venv create --force && pdm install`"
    if kind == "pipenv":
        return f"{where}`pipenv --rm && pipenv install`"
    if kind == "hatch":
        return "`hatch env prune && hatch env create`"
    if kind in ("conda", "pixi"):
        return "`pixi install`" if kind == "pixi" else f"`conda env remove -p {prefix}` and recreate it"
    return f"`python -m venv --clear {prefix}`"
