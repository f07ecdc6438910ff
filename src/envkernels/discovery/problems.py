"""What can be wrong with an environment, read from its files, and the command that fixes it.

The interpreter check (a ``stat`` that follows the link: a dangling or looping link is broken),
the hint per kind, and records whose path is not valid UTF-8 (no kernelspec can name them).
"""

from __future__ import annotations

import os
import re

from envkernels.cachedir import cache_dir
from envkernels.core.facts import PythonFacts
from envkernels.discovery.context import Signature
from envkernels.model import Environment

NO_INTERPRETER = "no Python interpreter (`bin/python`) in the environment"
# The oldest Python envkernels starts kernels on: its ipykernel overlay (uv resolves for 3.8 and
# newer) and the magics extension loaded into every kernel (`from __future__ import annotations`,
# f-strings) both need it. Older interpreters work, but are not offered as kernels.
MIN_KERNEL_PYTHON = (3, 8)
_EXECUTABLES = ("bin/python", "bin/python3")
_WIN_EXECUTABLES = ("Scripts/python.exe", "python.exe")


def interpreter(
    prefix: str, facts: PythonFacts, names: object, seen: dict[str, Signature] | None = None
) -> tuple[str | None, str | None]:
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
    denied = None
    for rel in candidates:
        path = f"{prefix}/{rel}"
        try:
            st = os.stat(path)
            if seen is not None:
                seen[path] = (st.st_mtime_ns, st.st_ino, st.st_size)
            if not os.access(path, os.X_OK):
                return path, cannot_run(path, "execute (x)")
            return path, None
        except FileNotFoundError:
            if seen is not None:
                seen[path] = None
            if dangling is None and os.path.islink(path):
                dangling = path
        except PermissionError:
            # The link leads through a directory this user may not enter (another user's home).
            if denied is None:
                denied = path
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno == 40:  # ELOOP: a link cycle
                return path, f"the interpreter `{path}` is a symlink loop"
            continue
    if denied is not None:
        return denied, cannot_run(denied, "search (x)")
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
        shared=record.shared,
    )


def unsupported(
    major_minor: tuple[int, int] | None, version: str | None, python: str | None, name: str
) -> tuple[str, str] | None:
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
        "without envkernels' magics); or create a current environment in a new folder: "
        "`uv venv --python 3.12 py312-env`"
    )
    return problem, hint


PENDING_SYNC = ".envkernels/pending.json"  # what a running sync leaves in the prefix (see sync/history.py)


def permission_hint(path: str) -> str:
    """How to make ``path`` readable again: permissions, never a command that removes anything."""
    return (
        f"make it readable to the user running envkernels: `ls -ld {path}` shows its owner and mode; "
        f"as that owner, `chmod -R u+rwX,go+rX {path}` (or ask them to)"
    )


def current_user() -> str:
    """The name of the user this process runs as (its uid when the name is unknown)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError, OSError):
        return str(getattr(os, "geteuid", lambda: "?")())


def blocking_path(path: str) -> tuple[str, str]:
    """``(path, permission)``: the first step on the way to ``path`` this user may not take.

    The directories leading to it (links followed) need search (x); the last step is the file
    itself. Found with ``access`` calls only, so a root that dropped its capabilities and a plain
    user are judged alike.
    """
    current = "/"
    parts = [p for p in os.path.abspath(path).split("/") if p]
    hops = 0
    while parts:
        part = parts.pop(0)
        if not os.access(current, os.X_OK):
            return current, "search (x)"
        nxt = os.path.join(current, part)
        if os.path.islink(nxt) and hops < 40:
            hops += 1
            try:
                target = os.readlink(nxt)
            except OSError:
                return nxt, "read"
            joined = target if os.path.isabs(target) else os.path.join(current, target)
            parts = [p for p in os.path.normpath(joined).split("/") if p] + parts
            current = "/"
            continue
        current = nxt
    return current, "execute (x)"


def cannot_run(path: str, permission: str) -> str:
    """The problem of an interpreter this user may not run: which path, which permission, whose."""
    where, needed = blocking_path(path)
    if needed == "execute (x)" and os.access(where, os.X_OK):
        where, needed = path, permission  # every step is allowed: say what the caller saw
    return (
        f"the interpreter `{path}` cannot be run by user `{current_user()}`: no {needed} permission "
        f"on `{where}` (Permission denied)"
    )


def admin_permission_hint(path: str) -> str:
    """The administrator's fix for a permission problem: grant access, never rebuild or delete."""
    return (
        f"an administrator (or the owner of `{path}`) can let this user reach it: `namei -l {path}` "
        "shows each step's owner and mode; `chmod o+x` on the directories on the way (or "
        f"`setfacl -m u:{current_user()}:rx` on each), `chmod o+rx` on the file; or make the environment "
        "on an interpreter every user can run. The environment itself is fine: nothing in it needs to change"
    )


def denied_path_in(problem: str | None) -> str | None:
    """The path a permission problem names (``on `PATH` (Permission denied)``), else None."""
    if not problem or "(Permission denied)" not in problem:
        return None
    m = re.search(r"on `([^`]+)` \(Permission denied\)", problem)
    return m.group(1) if m else None


def unreadable_site_packages(prefix: str, lib_dir: str | None) -> tuple[str, str] | None:
    """``(site-packages, why)`` when the environment's site-packages exists but cannot be listed.

    One ``access`` call per environment: a root process that has dropped CAP_DAC_OVERRIDE and a
    plain user are told the truth alike.
    """
    if not lib_dir:
        return None
    path = f"{lib_dir}/site-packages"
    if not os.path.isdir(path):
        return None
    if os.access(path, os.R_OK | os.X_OK):
        return None
    return path, "Permission denied"


def require_readable(prefix: str, action: str) -> None:
    """Raise BadInputError when ``prefix`` or one of its site-packages cannot be read.

    What cannot be read looks empty; a lock or an audit of it would say "0 packages" or "no
    vulnerabilities" about an environment nobody looked at.
    """
    from envkernels.core.layout import site_packages_dirs
    from envkernels.errors import BadInputError

    for path in (prefix, *map(str, site_packages_dirs(prefix))):
        if os.path.isdir(path) and not os.access(path, os.R_OK | os.X_OK):
            raise BadInputError(
                f"`{path}` cannot be read (Permission denied), so envkernels cannot {action} `{prefix}`",
                hint=permission_hint(path),
            )


def pending_sync_files(prefix: str) -> tuple[str, str]:
    """Where a running (or killed) sync of ``prefix`` leaves its mark: in the prefix, or in the cache."""
    from envkernels.core.layout import prefix_hash

    return f"{prefix}/{PENDING_SYNC}", str(cache_dir() / "envs" / prefix_hash(prefix) / "pending.json")


def _pending_mark(prefix: str, seen: dict[str, Signature] | None = None) -> dict[str, object] | None:
    """The mark a sync of ``prefix`` left (running or killed), or None."""
    import json

    for path in pending_sync_files(prefix):
        if seen is not None:
            try:
                st = os.stat(os.path.dirname(path))
                seen[os.path.dirname(path)] = (st.st_mtime_ns, st.st_ino, st.st_size)
            except OSError:
                seen[os.path.dirname(path)] = None
        try:
            with open(path, "rb") as fh:
                data = json.loads(fh.read(65536))
        except (OSError, ValueError):
            continue
        return data if isinstance(data, dict) else {}
    return None


def _interrupted_problem(mark: dict[str, object]) -> str:
    started = mark.get("started")
    return f"a sync started {started or 'earlier'} was interrupted: the environment may be half-changed"


def interrupted_sync(prefix: str, seen: dict[str, Signature] | None = None) -> tuple[str | None, str | None]:
    """``(problem, hint)`` when a sync of ``prefix`` was interrupted (its mark left, no sync running).

    The hint is the rollback: syncing back to the snapshot taken before the sync started.
    """
    import shlex

    mark = _pending_mark(prefix, seen)
    if mark is None:
        return None, None
    from envkernels.core.atomic import is_held

    if is_held(prefix):
        return None, None  # the sync is running now, not interrupted
    snapshot = mark.get("snapshot")
    if isinstance(snapshot, str) and snapshot:
        hint = (
            f"put back what was installed before: `envkernels sync {shlex.quote(snapshot)} "
            f"--target {shlex.quote(prefix)} --yes`"
        )
    else:
        hint = f"sync it again from its lock: `envkernels sync LOCK --target {shlex.quote(prefix)} --yes`"
    return _interrupted_problem(mark), hint


def only_interrupted(env: Environment) -> bool:
    """True when an interrupted sync is all that is wrong with ``env`` (a sync may run: the rollback).

    Asked by a sync that already holds the environment's lock, so the lock is not consulted.
    """
    mark = _pending_mark(env.prefix)
    return mark is not None and env.problem == _interrupted_problem(mark)


def fix_hint(kind: str, prefix: str, project: str | None) -> str:
    """A command that repairs a broken environment of this kind, keeping what is installed.

    Never one that deletes the environment (``--clear``, ``env remove``, ``--rm``): a hint is
    copied and run, and an environment can hold work that no lock records.
    """
    where = f"`cd {project}` and " if project else ""
    relink = f"`python3 -m venv --upgrade {prefix}` (a Python of the same version) re-links its interpreter"
    keep = ", keeping what is installed"
    if kind == "uv":
        return f"`uv venv --allow-existing {prefix}` re-links its interpreter{keep}" + (
            f"; then {where}`uv sync --inexact`" if project else ""
        )
    if kind == "poetry":
        return relink + keep + (f"; then {where}`poetry install`" if project else "")
    if kind == "pdm":
        if project and "/__pypackages__/" in prefix:
            return f"{where}`pdm use -f python3 && pdm install`"
        return relink + keep + (f"; then {where}`pdm install`" if project else "")
    if kind == "pipenv":
        return relink + keep + (f"; then {where}`pipenv install`" if project else "")
    if kind == "hatch":
        return relink + keep
    if kind == "pixi":
        return f"{where}`pixi install`"
    if kind == "conda":
        return f"`conda install -p {prefix} python` reinstalls its interpreter{keep}"
    if kind == "pyenv":
        return f"`pyenv install --force {os.path.basename(prefix)}` reinstalls that Python over it{keep}"
    if kind == "system":
        return "reinstall this Python with your system's package manager"
    return relink + keep + f" (or `uv venv --allow-existing {prefix}`)"
