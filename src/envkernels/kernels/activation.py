"""What "activating" an environment means, computed from its files and never by running a shell.

A venv's activation is ``VIRTUAL_ENV`` and its ``bin`` first on ``PATH``. A conda or pixi
environment's is ``CONDA_PREFIX``, its ``bin`` on ``PATH``, the ``env_vars`` that
``conda env config vars set`` stored in ``conda-meta/state``, and the variables that the
packages' ``etc/conda/activate.d`` scripts export. Those scripts are *read*, not run: only plain
``export NAME=VALUE`` (sh) and ``set -gx NAME VALUE`` (fish) lines are taken; a value holding a
command substitution is skipped, ``$CONDA_PREFIX`` and variables set earlier are expanded, and
any other ``$VAR`` is left as ``${VAR}`` for jupyter_client to fill in at launch.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from envkernels.model import Environment

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SH_EXPORT = re.compile(r"^export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_FISH_SET = re.compile(r"^set\s+(?:-[a-zA-Z]+\s+)*([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_VAR_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_CONDA_KINDS = ("conda", "pixi")
# Variables a kernel must not inherit from the server's own environment (they name another env).
_VENV_FOREIGN = ("CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_PROMPT_MODIFIER", "PYTHONHOME")
_CONDA_FOREIGN = ("VIRTUAL_ENV", "PYTHONHOME")


@dataclass(frozen=True)
class Activation:
    """The activation of one environment: variables to set, PATH entries to put first, names to unset."""

    variables: dict[str, str] = field(default_factory=dict)
    path_prepend: tuple[str, ...] = ()
    unset: tuple[str, ...] = ()


def bin_dirs(prefix: str) -> tuple[str, ...]:
    """The directories of a prefix that activation puts first on PATH."""
    root = Path(prefix)
    if (root / "Scripts").is_dir() and not (root / "bin").is_dir():
        # Windows layouts (venv: Scripts; conda: the prefix, Library\bin and Scripts)
        extra = [root / "Library" / "bin"] if (root / "conda-meta").is_dir() else []
        return tuple(str(p) for p in (root, *extra, root / "Scripts"))
    return (str(root / "bin"),)


def is_conda_like(env: Environment) -> bool:
    """True for conda, mamba, micromamba and pixi environments (they carry ``conda-meta/``)."""
    return env.kind in _CONDA_KINDS or os.path.isdir(os.path.join(env.prefix, "conda-meta"))


def activation_for(env: Environment) -> Activation:
    """The activation of ``env``: what its own ``activate`` would set, read from its files."""
    if env.kind in ("system", "pyenv") and not is_conda_like(env):
        # A base interpreter has no activation; only make its scripts win on PATH.
        return Activation(path_prepend=bin_dirs(env.prefix), unset=("PYTHONHOME",))
    if not is_conda_like(env):
        return Activation(
            variables={"VIRTUAL_ENV": env.prefix},
            path_prepend=bin_dirs(env.prefix),
            unset=_VENV_FOREIGN,
        )
    variables = {"CONDA_PREFIX": env.prefix, "CONDA_DEFAULT_ENV": env.name}
    if env.kind == "pixi" and env.project:
        variables["PIXI_PROJECT_ROOT"] = env.project
        variables["PIXI_ENVIRONMENT_NAME"] = Path(env.prefix).name
    variables.update(conda_state_variables(env.prefix))
    variables.update(activate_d_variables(env.prefix, variables))
    return Activation(variables=variables, path_prepend=bin_dirs(env.prefix), unset=_CONDA_FOREIGN)


def conda_state_variables(prefix: str) -> dict[str, str]:
    """The ``env_vars`` that ``conda env config vars set`` stored in ``conda-meta/state``."""
    try:
        data = json.loads((Path(prefix) / "conda-meta" / "state").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    env_vars = data.get("env_vars") if isinstance(data, dict) else None
    if not isinstance(env_vars, dict):
        return {}
    return {
        str(k): str(v)
        for k, v in env_vars.items()
        if _NAME.match(str(k)) and isinstance(v, (str, int, float))
    }


def activate_d_variables(prefix: str, known: dict[str, str]) -> dict[str, str]:
    """Variables exported by ``etc/conda/activate.d/*.sh`` (else ``*.fish``), in conda's sorted order."""
    directory = Path(prefix) / "etc" / "conda" / "activate.d"
    try:
        names = sorted(p.name for p in directory.iterdir() if p.is_file())
    except OSError:
        return {}
    scripts = [n for n in names if n.endswith(".sh")] or [n for n in names if n.endswith(".fish")]
    found: dict[str, str] = {}
    for script in scripts:
        try:
            text = (directory / script).read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        for name, value in parse_exports(text, fish=script.endswith(".fish")):
            found[name] = expand(value, {**known, **found})
    return found


def parse_exports(text: str, *, fish: bool = False) -> list[tuple[str, str]]:
    """The (name, unquoted value) pairs of plain export lines; anything computed is skipped."""
    pairs: list[tuple[str, str]] = []
    pattern = _FISH_SET if fish else _SH_EXPORT
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = pattern.match(line)
        if not m:
            continue
        name, rest = m.group(1), m.group(2).strip()
        if "$(" in rest or "`" in rest or (fish and "(" in rest):
            continue  # command substitution: would need a shell, which we never run
        try:
            words = shlex.split(rest, comments=True, posix=True)
        except ValueError:
            continue
        if fish:
            value = os.pathsep.join(words) if words else ""
        elif len(words) == 1:
            value = words[0]
        elif not words:
            value = ""
        else:
            continue  # `export A=1 B=2` or trailing commands: not a plain assignment
        pairs.append((name, value))
    return pairs


def expand(value: str, known: dict[str, str]) -> str:
    """Expand ``$NAME``/``${NAME}`` from ``known``; others become ``${NAME}`` (filled in at launch)."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return known.get(name, "${" + name + "}")

    return _VAR_REF.sub(repl, value)
