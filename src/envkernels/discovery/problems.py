"""What can be wrong with an environment, read from its files, and the command that fixes it.

The interpreter check (a ``stat`` that follows the link: a dangling or looping link is broken),
the hint per kind, and records whose path is not valid UTF-8 (no kernelspec can name them).
"""

from __future__ import annotations

import os
import re

from envkernels.discovery.context import Signature
from envkernels.discovery.facts import PythonFacts
from envkernels.model import Environment

NO_INTERPRETER = "no Python interpreter (`bin/python`) in the environment"
# The oldest Python envkernels starts kernels on: its ipykernel overlay (uv resolves for 3.8 and
# newer) and the magics extension loaded into every kernel (`from __future__ import annotations`,
# f-strings) both need it. Older interpreters work, but are not offered as kernels.
MIN_KERNEL_PYTHON = (3, 8)
_EXECUTABLES = ("bin/python", "bin/python3")
_WIN_EXECUTABLES = ("Scripts/python.exe", "python.exe")


def interpreter(prefix: str, facts: PythonFacts, names: object,
                 seen: dict[str, Signature] | None = None) -> tuple[str | None, str | None]:
    """The interpreter path (not resolved: a venv's ``bin/python`` is what activates it) or a problem."""
    candidates: list[str] = []
    if isinstance(names, dict) and "bin" not in names and ("Scripts" in names or "python.exe" in names):
        candidates.extend(_WIN_EXECUTABLES)
    else:
        candidates.extend(_EXECUTABLES)
        if facts.major_minor:
            major, minor = facts.major_minor
            t = "t" if facts.free_threaded else ""
            candidates.append(f"bin/python{major}.{minor}{t}")
            if facts.implementation == "pypy":
                candidates.append(f"bin/pypy{major}")
    dangling = None
    for rel in candidates:
        path = f"{prefix}/{rel}"
        try:
            st = os.stat(path)
            if seen is not None:
                seen[path] = (st.st_mtime_ns, st.st_ino, st.st_size)
            return path, None
        except FileNotFoundError:
            if seen is not None:
                seen[path] = None
            if dangling is None and os.path.islink(path):
                dangling = path
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno == 40:  # ELOOP: a link cycle
                return path, f"the interpreter `{path}` is a symlink loop"
            continue
    if dangling is not None:
        try:
            target = os.readlink(dangling)
        except OSError:
            target = "?"
        return dangling, f"the interpreter link `{dangling}` points to `{target}`, which does not exist"
    if len(prefix.split("/")) >= 2 and prefix.split("/")[-2] == "__pypackages__":
        return _pep582_interpreter(prefix)
    return None, NO_INTERPRETER


def _pep582_interpreter(prefix: str) -> tuple[str | None, str | None]:
    """PEP 582 packages run on the project's base interpreter, which PDM records in ``.pdm-python``."""
    project = os.path.dirname(os.path.dirname(prefix))
    try:
        with open(f"{project}/.pdm-python", "rb") as fh:
            python = fh.read(4096).decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return None, "no `.pdm-python` in the project names the interpreter for `__pypackages__`"
    if not os.path.isabs(python) or not os.path.exists(python):
        return python or None, f"the interpreter `{python}` named by `.pdm-python` does not exist"
    return python, None


def has_surrogates(*texts: str | None) -> bool:
    return any(t is not None and re.search("[\udc80-\udcff]", t) for t in texts)


def _safe(text: str | None) -> str | None:
    if text is None:
        return None
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def displayable(record: Environment) -> Environment:
    """A record whose path is not valid UTF-8: no kernelspec (JSON) can name it, so it is broken.

    Its strings are made printable (``\\xff`` for the undecodable byte) so that JSON output works.
    """
    prefix = _safe(record.prefix) or ""
    return Environment(
        id=record.id,
        kind=record.kind,
        name=_safe(record.name) or "env",
        prefix=prefix,
        python=_safe(record.python),
        python_version=record.python_version,
        implementation=record.implementation,
        free_threaded=record.free_threaded,
        project=_safe(record.project),
        lockfiles=tuple(_safe(p) or "" for p in record.lockfiles),
        has_ipykernel=False,
        kernel_name=record.kernel_name,
        status="broken",
        problem=f"the path `{prefix}` is not valid UTF-8, so no kernelspec can name it",
        hint="rename the directory to a UTF-8 name (e.g. `mv` it), then list again",
    )


def unsupported(major_minor: tuple[int, int] | None, version: str | None,
                python: str | None, name: str) -> tuple[str, str] | None:
    """(problem, hint) when envkernels cannot start a kernel on this Python, else None.

    Read from the files like everything in discovery: the version is what the environment's files
    say, no interpreter is started. The hint names both ways out: give the interpreter a kernel of
    its own (pip picks the last ipykernel that supports it: 4.x on 2.7, 5.x on 3.6, 6.16 on 3.7;
    Jupyter then starts that kernelspec as written), or make a current environment.
    """
    if major_minor is None or major_minor >= MIN_KERNEL_PYTHON:
        return None
    shown = version or ".".join(map(str, major_minor))
    minimum = ".".join(map(str, MIN_KERNEL_PYTHON))
    problem = (
        f"Python {shown}: envkernels starts kernels on Python {minimum} or newer "
        "(its ipykernel overlay and notebook magics need it); the interpreter itself works"
    )
    exe = python or "python"
    slug = re.sub(r"[^a-z0-9._-]+", "-", (f"python{shown}" if name == shown else name).lower())
    hint = (
        f"to use it in Jupyter as it is, give it a kernel of its own: `{exe} -m pip install ipykernel` "
        f"(pip picks the last ipykernel for Python {major_minor[0]}.{major_minor[1]}), then "
        f"`{exe} -m ipykernel install --user --name {slug}` (Jupyter starts that kernel as written, "
        f"without envkernels' magics); or create a current environment: `uv venv --python 3.12 .venv`"
    )
    return problem, hint


def fix_hint(kind: str, prefix: str, project: str | None) -> str:
    """The command that recreates a broken environment of this kind."""
    where = f"`cd {project}` and " if project else ""
    if kind == "uv":
        return f"{where}`uv sync`" if project else f"`uv venv --clear {prefix}`"
    if kind == "poetry":
        return f"{where}`poetry env remove --all && poetry install`"
    if kind == "pdm":
        if project and "/__pypackages__/" in prefix:
            return f"{where}`pdm use -f python3 && pdm install`"
        if project:
            return f"{where}`pdm venv create --force && pdm install`"
        return f"remove `{prefix}` and run `pdm install` in its project"
    if kind == "pipenv":
        return f"{where}`pipenv --rm && pipenv install`"
    if kind == "hatch":
        return "`hatch env prune && hatch env create` in the project"
    if kind == "pixi":
        return f"{where}`pixi install`"
    if kind == "conda":
        return f"`conda env remove -p {prefix}`, then `conda env create -p {prefix} -f environment.yml`"
    if kind == "pyenv":
        return f"`pyenv install --force {os.path.basename(prefix)}`"
    if kind == "system":
        return "reinstall this Python with your system's package manager"
    return f"`python -m venv --clear {prefix}` (or `uv venv --clear {prefix}`)"
