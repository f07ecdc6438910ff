"""The evidence ``cleanup`` weighs: which environment a project's tools use, and what else uses one.

Each reader returns facts, never a verdict (:mod:`envkernels.kernels.cleanup` decides):

- :func:`tool_pointers`: the environment each tool configured in a project would use
  (uv, poetry, pdm, hatch, pipenv; see the function for the exact settings read);
- :func:`kernelspec_users`: installed kernelspecs whose interpreter or recorded prefix is the environment;
- :func:`notebook_records`: notebooks of the project recording an environment (``metadata.envkernels``
  written by ``envkernels lock --notebook``, or a ``metadata.kernelspec.name`` that is an environment's
  kernel name or resolves to it as a name from another machine would);
- :func:`distributions`: ``name==version`` of what an environment's own site-packages hold.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envkernels._toml import tomllib
from envkernels.core import layout
from envkernels.model import Environment

# Installers a venv is seeded with (`python -m venv` adds pip, older Pythons setuptools): their
# absence from the kept environment loses nothing of the project's.
SEED_DISTRIBUTIONS = frozenset({"pip", "setuptools", "wheel", "uv", "distribute"})
_NOTEBOOK_MAX_BYTES = 50 << 20
_NOTEBOOK_SKIP = {
    ".git",
    "node_modules",
    "__pycache__",
    ".ipynb_checkpoints",
    ".tox",
    ".nox",
    "__pypackages__",
}


@dataclass(frozen=True)
class ToolPointer:
    """``tool`` would use the environment at ``path`` because of ``why`` (a file or variable)."""

    tool: str
    path: str
    why: str

    def describe(self, project: str) -> str:
        """``uv uses `.venv` (uv.lock)`` with the path relative to the project where it lies inside."""
        shown = os.path.relpath(self.path, project) if is_inside(self.path, project) else self.path
        return f"{self.tool} uses `{shown}` ({self.why})"


@dataclass
class NotebookRecords:
    """Which notebooks record which environment (by prefix); ``unreadable`` ones could record any."""

    by_prefix: dict[str, list[str]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


def is_inside(path: str, directory: str) -> bool:
    """True when ``path`` lies strictly inside ``directory`` (compared as absolute paths, unresolved)."""
    path, directory = os.path.abspath(path), os.path.abspath(directory)
    return path != directory and os.path.commonpath([path, directory]) == directory


def _toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return None


def tool_pointers(project: str, environ: Mapping[str, str] | None = None) -> list[ToolPointer]:
    """The environments the project's tools would use, as each tool decides it.

    1. uv (``uv.lock`` or ``[tool.uv]``): ``$UV_PROJECT_ENVIRONMENT`` (relative to the project), else
       ``.venv``;
    2. poetry (``poetry.lock`` or ``[tool.poetry]``): ``.venv`` when ``virtualenvs.in-project`` is true
       (``poetry.toml``, ``$POETRY_VIRTUALENVS_IN_PROJECT``), or unset with a ``.venv`` present (poetry
       then uses it); ``in-project = false`` points away from every in-project environment;
    3. pdm: the interpreter recorded in ``.pdm-python``, else ``.venv`` when ``pdm.toml`` sets
       ``venv.in_project``;
    4. hatch: ``path`` of ``[tool.hatch.envs.default]`` (or ``[envs.default]`` in ``hatch.toml``);
    5. pipenv (``Pipfile``): ``.venv`` when ``$PIPENV_VENV_IN_PROJECT`` is set or a ``.venv`` exists.
    """
    environ = os.environ if environ is None else environ
    root = Path(project)
    pyproject = _toml(root / "pyproject.toml") if (root / "pyproject.toml").is_file() else {}
    tool: dict[str, Any] = pyproject["tool"] if isinstance(pyproject.get("tool"), dict) else {}
    found: list[ToolPointer] = []

    def at(relative: str) -> str:
        return os.path.abspath(os.path.join(project, os.path.expanduser(relative)))

    if (root / "uv.lock").is_file() or "uv" in tool:
        why = "uv.lock" if (root / "uv.lock").is_file() else "[tool.uv]"
        uv_env = environ.get("UV_PROJECT_ENVIRONMENT")
        if uv_env:
            found.append(ToolPointer("uv", at(uv_env), "UV_PROJECT_ENVIRONMENT"))
        else:
            found.append(ToolPointer("uv", at(".venv"), f"{why}: uv's project environment"))
    if (root / "poetry.lock").is_file() or "poetry" in tool:
        setting = _truthy(environ.get("POETRY_VIRTUALENVS_IN_PROJECT"))
        why = "POETRY_VIRTUALENVS_IN_PROJECT"
        if setting is None:
            setting = _truthy(_get(_toml(root / "poetry.toml"), "virtualenvs", "in-project"))
            why = "poetry.toml: virtualenvs.in-project"
        if setting is None and (root / ".venv" / "pyvenv.cfg").is_file():
            setting, why = True, "poetry uses an existing `.venv`"
        if setting:
            found.append(ToolPointer("poetry", at(".venv"), why))
        elif setting is False:
            found.append(ToolPointer("poetry", "", f"{why} = false: an environment outside the project"))
    pdm_python = root / ".pdm-python"
    if pdm_python.is_file():
        try:
            recorded = pdm_python.read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            recorded = ""
        if recorded:
            bindir = os.path.dirname(at(recorded))
            prefix = (
                os.path.dirname(bindir) if os.path.basename(bindir).lower() in ("bin", "scripts") else bindir
            )
            found.append(ToolPointer("pdm", prefix, ".pdm-python"))
    elif _truthy(_get(_toml(root / "pdm.toml"), "venv", "in_project")):
        found.append(ToolPointer("pdm", at(".venv"), "pdm.toml: venv.in_project"))
    hatch_path = _get(tool, "hatch", "envs", "default", "path")
    hatch_why = "[tool.hatch.envs.default] path"
    if not isinstance(hatch_path, str) and (root / "hatch.toml").is_file():
        hatch_path = _get(_toml(root / "hatch.toml"), "envs", "default", "path")
        hatch_why = "hatch.toml: [envs.default] path"
    if isinstance(hatch_path, str) and hatch_path:
        found.append(ToolPointer("hatch", at(hatch_path), hatch_why))
    if (root / "Pipfile").is_file():
        if environ.get("PIPENV_VENV_IN_PROJECT"):
            found.append(ToolPointer("pipenv", at(".venv"), "PIPENV_VENV_IN_PROJECT"))
        elif (root / ".venv" / "pyvenv.cfg").is_file():
            found.append(ToolPointer("pipenv", at(".venv"), "pipenv uses an existing `.venv`"))
    return found


def kernelspec_users(prefix: str, specs: Iterable[Any]) -> list[str]:
    """``kernelspec `name` (dir)`` for each installed spec that runs in ``prefix``.

    ``specs``: :class:`~envkernels.kernels.installed.InstalledSpec` records. A spec uses the
    environment when its ``metadata.envkernels.prefix`` is it, or its ``argv[0]`` lives in it.
    """
    from envkernels.kernels.spec import interpreter_prefix_of

    real = os.path.realpath(prefix)
    out = []
    for item in specs:
        meta: dict[str, Any] = item.spec["metadata"] if isinstance(item.spec.get("metadata"), dict) else {}
        record: dict[str, Any] = meta["envkernels"] if isinstance(meta.get("envkernels"), dict) else {}
        recorded = record.get("prefix")
        argv = item.spec.get("argv")
        program = interpreter_prefix_of(list(argv)) if isinstance(argv, list) and argv else None
        if (isinstance(recorded, str) and os.path.realpath(recorded) == real) or program == real:
            out.append(f"kernelspec `{item.name}` ({item.resource_dir})")
    return out


def _notebooks(project: str, env_dirs: Sequence[str], max_depth: int = 4) -> Iterable[str]:
    skip = {os.path.abspath(d) for d in env_dirs}

    def walk(directory: str, depth: int) -> Iterable[str]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(".ipynb"):
                yield entry.path
            elif (
                depth > 0
                and entry.is_dir(follow_symlinks=False)
                and entry.name not in _NOTEBOOK_SKIP
                and entry.path not in skip
                and not os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))
            ):
                yield from walk(entry.path, depth - 1)

    yield from walk(project, max_depth)


def notebook_records(project: str, envs: Sequence[Environment]) -> NotebookRecords:
    """Which of ``envs`` (the project's environments) each notebook under ``project`` records.

    A notebook whose recorded kernel name from another machine fits several of ``envs`` records
    each of them (it could mean any). A notebook that cannot be read is listed in ``unreadable``.
    """
    from envkernels.kernels.resolve import KernelNameNotResolved, resolve_kernel_name

    result = NotebookRecords()
    for path in _notebooks(project, [e.prefix for e in envs]):
        try:
            if os.path.getsize(path) > _NOTEBOOK_MAX_BYTES:
                raise ValueError("too large to read")
            with open(path, encoding="utf-8") as fh:
                nb = json.load(fh)
            metadata = nb.get("metadata") if isinstance(nb, dict) else None
            if not isinstance(metadata, dict):
                raise ValueError("no metadata")
        except (OSError, ValueError):
            result.unreadable.append(path)
            continue
        ours: dict[str, Any] | None = (
            metadata["envkernels"] if isinstance(metadata.get("envkernels"), dict) else None
        )
        recorded_id = _get(ours or {}, "environment", "id")
        name = _get(metadata, "kernelspec", "name")
        users: list[Environment] = [e for e in envs if recorded_id and e.id == recorded_id]
        if isinstance(name, str) and name:
            exact = [e for e in envs if e.kernel_name == name]
            if exact:
                users += exact
            elif name.startswith("envk-"):
                try:
                    users.append(resolve_kernel_name(name, envs, ours))
                except KernelNameNotResolved as exc:
                    users += list(exc.candidates)
        rel = os.path.relpath(path, project)
        for env in {e.prefix: e for e in users}.values():
            result.by_prefix.setdefault(env.prefix, []).append(rel)
    return result


def distributions(prefix: str) -> set[str]:
    """``name==version`` (names normalized) of each distribution in the environment's own site-packages."""
    from packaging.utils import canonicalize_name

    from envkernels.core.distributions import read_distribution

    found = set()
    for site in layout.site_packages_dirs(prefix):
        try:
            entries = list(os.scandir(site))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith((".dist-info", ".egg-info")) and entry.is_dir(follow_symlinks=False):
                dist = read_distribution(Path(entry.path), Path(site))
                if dist.name:
                    found.add(f"{canonicalize_name(dist.name)}=={dist.version}")
    return found


def is_seed(requirement: str) -> bool:
    """True for ``pip==...`` and the other installers a venv is seeded with."""
    return requirement.split("==", 1)[0] in SEED_DISTRIBUTIONS
