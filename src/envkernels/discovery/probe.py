"""Build one Environment record from a prefix on disk (no interpreter started, no subprocess).

``environment_from_prefix`` is what every route into an environment ends in: the scan of roots
and registries, a TARGET on the command line, a path from the REST API (the scan calls its
already-resolved fast path, :func:`build_record`, the one place records are made). It reads, at
most: the prefix's listing, ``pyvenv.cfg``, the names in ``conda-meta/``, ``lib/``, a ``stat`` of
the interpreter and of site-packages' ``ipykernel_launcher.py``, and the owning project's listing.
A problem becomes ``status: "broken"`` with ``problem`` and ``hint`` (:mod:`problems`), a working
interpreter envkernels cannot start a kernel on (Python 2.7) ``status: "unsupported"``; nothing
here raises for a bad environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from envkernels.core import layout
from envkernels.core.facts import PythonFacts, parse_pyvenv_cfg, read_facts
from envkernels.discovery.context import Candidate, ScanContext, Signature, signature
from envkernels.discovery.problems import (
    NO_INTERPRETER,
    admin_permission_hint,
    blocking_path,
    current_user,
    denied_path_in,
    displayable,
    fix_hint,
    has_surrogates,
    interpreter,
    interrupted_sync,
    permission_hint,
    unreadable_site_packages,
    unsupported,
)
from envkernels.discovery.projects import (
    LOCKFILE_NAMES,
    PROJECT_MARKERS,
    VENV_DIR_NAMES,
    is_project,
    kind_of_project,
    listing,
    lockfiles_in,
)
from envkernels.model import Environment, Status, environment_kind
from envkernels.shared import is_shared_prefix

__all__ = [
    "LOCKFILE_NAMES",
    "NO_INTERPRETER",
    "SPECIFICITY",
    "environment_from_prefix",
    "kind_for_project",
    "project_lockfiles",
]

# When two routes name one prefix, the most specific kind wins (a uv project's `.venv` is `uv`).
SPECIFICITY: dict[str, int] = {
    "pixi": 9,
    "uv": 8,
    "poetry": 8,
    "pdm": 8,
    "hatch": 8,
    "pipenv": 8,
    "conda": 6,
    "pyenv": 4,
    "venv": 2,
    "system": 1,
}


def project_lockfiles(project: Path) -> tuple[str, ...]:
    """The lockfiles found in a project directory (absolute paths), in a stable order."""
    return lockfiles_in(str(project), listing(str(project)) or ())


def kind_for_project(project: Path) -> str | None:
    """The tool that manages a project's environment, judged by the files it writes."""
    return kind_of_project(str(project), listing(str(project)) or ())


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
    A generic ``kind`` (``venv``, ``system``) gives way to a more specific one the files show.
    """
    raw = os.fspath(prefix)
    try:
        real = os.path.realpath(os.path.abspath(raw))
    except (OSError, ValueError):
        real = os.path.abspath(raw)
    if kind is None and name is None:
        # Same kind and name as a listing gives it (ids are stable per prefix, whatever the route).
        route = _route_of(real)
        if route is not None:
            kind, name = route.kind, route.name
            project = project or route.project
    return build_record(real, kind=kind, name=name, project=os.fspath(project) if project else None)


def _route_of(real: str, ctx: ScanContext | None = None) -> Candidate | None:
    """The candidate a tool-directory finder (poetry's, pipenv's, pyenv's ...) gives ``real``, if any.

    ``ctx`` (a fresh one by default) records what the finders looked at.
    """
    from envkernels.discovery import conda, hatch, pdm, pipenv, pixi, poetry, pyenv, uv, venvs

    base = os.path.basename(real)
    ctx = ScanContext() if ctx is None else ctx
    best: Candidate | None = None
    for finder in (uv, poetry, pdm, hatch, pipenv, venvs, conda, pixi, pyenv):
        for cand in finder.find(ctx):
            if os.path.basename(cand.prefix) != base:
                continue
            if cand.prefix != real and os.path.realpath(cand.prefix) != real:
                continue
            if best is None or SPECIFICITY.get(cand.kind or "", 0) > SPECIFICITY.get(best.kind or "", 0):
                best = cand
    return best


def record_dependencies(env: Environment) -> list[str]:
    """Every path whose change may change ``env``'s record, as :func:`environment_from_prefix` makes it.

    What the tool-directory finders look at (the route that names it), what :func:`build_record`
    watches (interpreter, base Python, ipykernel, a sync's mark), and the files and directories it
    reads: the prefix, the project files of the two directories above it (where a project is
    inferred from), ``pyvenv.cfg``, ``conda-meta``, ``.project``, ``lib``, the project's directory, its marker
    files (``pyproject.toml``'s ``[tool.*]`` names the kind) and lockfiles. A directory stands for
    its listing (its mtime changes when an entry is added or removed). Used by the CLI's cached
    verdicts (``cli/verdicts.py``), which are valid only while none of these changed.
    """
    prefix = env.prefix
    ctx = ScanContext()
    _route_of(prefix, ctx)
    seen: dict[str, Signature] = {}
    build_record(prefix, kind=env.kind, name=env.name, project=env.project, seen=seen)
    paths = [*ctx.watched, *seen, prefix, f"{prefix}/bin", f"{prefix}/lib"]
    paths += [f"{prefix}/{n}" for n in ("pyvenv.cfg", "conda-meta", ".project")]
    parent = os.path.dirname(prefix)
    for above in (parent, os.path.dirname(parent)):  # their project files only: a home directory churns
        paths += [f"{above}/{n}" for n in (*PROJECT_MARKERS, *LOCKFILE_NAMES, ".pdm-python")]
    if env.python:
        paths.append(env.python)
    if env.project:
        paths.append(env.project)
        paths += [f"{env.project}/{n}" for n in (*PROJECT_MARKERS, ".pdm-python", ".python-version")]
        paths += env.lockfiles
    return list(dict.fromkeys(paths))


def infer_kind(
    prefix: str,
    names: Mapping[str, object] | set[str],
    cfg: dict[str, str] | None,
    project: str | None,
    project_names: list[str] | None,
) -> str | None:
    """The kind the files of ``prefix`` (and its project) show, without any route's opinion.

    None when the files say nothing (a base interpreter's prefix: the route's kind, else ``system``).
    """
    if "conda-meta" in names:
        return "pixi" if "/.pixi/" in prefix else "conda"
    if "/__pypackages__/" in prefix and prefix.rpartition("/")[0].endswith("/__pypackages__"):
        return "pdm"
    if project is not None:
        if project_names is None:
            project_names = listing(project) or []
        found = kind_of_project(project, project_names)
        if found:
            return found
    if cfg and "uv" in cfg:
        return "uv"
    return "venv" if cfg is not None else None


def _infer_project(
    prefix: str, names: Mapping[str, object] | set[str]
) -> tuple[str | None, list[str] | None]:
    """The project owning ``prefix`` and the project's listing, judged from where the prefix sits."""
    parent, base = os.path.split(prefix)
    if base in VENV_DIR_NAMES:
        pnames = listing(parent)
        if pnames and is_project(pnames):
            return parent, pnames
        return None, None
    grand, parent_base = os.path.split(parent)
    if parent_base == "__pypackages__":
        return grand, listing(grand)
    if parent_base == "envs" and os.path.basename(grand) == ".pixi":
        proj = os.path.dirname(grand)
        return proj, listing(proj)
    if ".project" in names:  # pipenv and virtualenvwrapper write the project's path here
        try:
            with open(f"{prefix}/.project", "rb") as fh:
                target = fh.read(4096).decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return None, None
        if target and os.path.isabs(target):
            pnames = listing(target)
            if pnames is not None:
                return target, pnames
    return None, None


def build_record(
    prefix: str,
    *,
    kind: str | None = None,
    name: str | None = None,
    project: str | None = None,
    names: Mapping[str, object] | None = None,
    seen: dict[str, Signature] | None = None,
    cfg_text: str | None = None,
) -> Environment:
    """The record of a prefix that is already absolute and real (the scan's fast path).

    ``names`` is the prefix's listing when the caller already has it (saves one ``scandir``);
    ``cfg_text`` its ``pyvenv.cfg`` when already read (then the prefix is not listed at all);
    ``seen`` receives the signatures of what the record depends on (site-packages, interpreter).
    """
    problem = hint = None
    if names is None and cfg_text is not None:
        names = {"pyvenv.cfg": None}  # a venv found by its marker: nothing else needs the listing
    if names is None:
        try:
            with os.scandir(prefix) as it:
                names = {e.name: e for e in it}
        except FileNotFoundError:
            names = {}
            problem = "the environment directory does not exist"
        except (OSError, ValueError) as exc:
            names = {}
            problem = f"the environment directory cannot be read ({getattr(exc, 'strerror', None) or exc})"
            hint = permission_hint(prefix)
    cfg = None
    if cfg_text is not None:
        cfg = parse_pyvenv_cfg(cfg_text)
    elif "pyvenv.cfg" in names:
        cfg_text, cfg_error = _read_small(f"{prefix}/pyvenv.cfg")
        cfg = parse_pyvenv_cfg(cfg_text)
        if cfg_error is not None and problem is None:
            problem = f"`{prefix}/pyvenv.cfg` cannot be read ({cfg_error})"
            hint = permission_hint(f"{prefix}/pyvenv.cfg")
    conda_names = None
    if "conda-meta" in names:
        try:
            conda_names = os.listdir(f"{prefix}/conda-meta")
        except (OSError, ValueError):
            conda_names = []
    project_names = None
    if project is None:
        project, project_names = _infer_project(prefix, names)
    inferred = infer_kind(prefix, names, cfg, project, project_names)
    if inferred is not None and (kind is None or SPECIFICITY[inferred] > SPECIFICITY.get(kind, 0)):
        kind = inferred
    if kind is None:
        kind = "system"
    if name is None:
        name = _default_name(prefix, kind, project, names)
    facts = read_facts(prefix, cfg, conda_names)
    interp, interp_problem = interpreter(prefix, facts, names, seen)
    if problem is None:
        problem = interp_problem
    if problem is None and cfg is not None:
        home = cfg.get("home")
        if not home:
            problem = "`pyvenv.cfg` is empty or has no `home =` line"
        elif os.path.isabs(home) and not os.access(home, os.X_OK) and _denied(home):
            where, needed = blocking_path(home)
            problem = (
                f"the base interpreter `{home}` (`home` in `pyvenv.cfg`) cannot be reached by user "
                f"`{current_user()}`: no {needed} permission on `{where}` (Permission denied)"
            )
    if problem is not None and hint is None:
        denied = denied_path_in(problem)
        if denied is not None:
            hint = admin_permission_hint(denied)
    if problem is None:
        unreadable = unreadable_site_packages(prefix, facts.lib_dir)
        if unreadable is not None:
            problem = f"`{unreadable[0]}` cannot be read ({unreadable[1]}), so what is installed is unknown"
            hint = permission_hint(unreadable[0])
    if problem is None:
        problem, hint = interrupted_sync(prefix, seen)
    if seen is not None and problem is None and cfg and cfg.get("home") and interp is not None:
        # A venv's interpreter is a link into `home`: watching that one directory (shared by every
        # venv of that base Python) sees the base interpreter go away, for one stat instead of one per venv.
        seen.pop(interp, None)
        if cfg["home"] not in seen:
            seen[cfg["home"]] = signature(cfg["home"])
    if project_names is None and project is not None:
        project_names = listing(project)
    status: Status = "ok" if problem is None else "broken"
    if problem is not None and hint is None:
        hint = fix_hint(kind, prefix, project)
    has_ipykernel = status == "ok" and _has_ipykernel(prefix, facts, names, seen)
    if status == "ok":
        too_old = unsupported(facts.major_minor, facts.version, interp, name)
        if too_old is not None:
            status = "unsupported"
            problem, hint = too_old
    env_id = layout.environment_id(kind, name, prefix)
    record = Environment(
        id=env_id,
        kind=environment_kind(kind),
        name=name,
        prefix=prefix,
        python=interp,
        python_version=facts.version,
        implementation=facts.implementation,
        free_threaded=facts.free_threaded,
        project=project,
        lockfiles=lockfiles_in(project, project_names or ()) if project is not None else (),
        has_ipykernel=has_ipykernel,
        kernel_name=layout.kernel_name_for(env_id),
        status=status,
        problem=problem,
        hint=hint,
        shared=is_shared_prefix(prefix),
    )
    if prefix.isascii() and (project is None or project.isascii()):
        return record
    return displayable(record) if has_surrogates(prefix, project) else record


def _denied(path: str) -> bool:
    """True when ``path`` exists but this user may not reach or enter it (not merely missing)."""
    try:
        os.stat(path)
    except PermissionError:
        return True
    except (OSError, ValueError):
        return False
    return True


def _read_small(path: str) -> tuple[str, str | None]:
    """A small file's text and, when it could not be read, why ("" and None when it is gone).

    os.open/read/close, without io's buffering layers.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return "", None
    except (OSError, ValueError) as exc:
        return "", getattr(exc, "strerror", None) or str(exc)
    try:
        return os.read(fd, 65536).decode("utf-8", "replace"), None
    except OSError as exc:
        return "", exc.strerror or str(exc)
    finally:
        os.close(fd)


def _default_name(prefix: str, kind: str, project: str | None, names: object) -> str:
    """A human name: the project's directory, the conda env's directory, ``base`` for a conda root."""
    base = os.path.basename(prefix)
    if project is not None:
        pname = os.path.basename(project)
        if kind == "pixi" and base != "default":
            return f"{pname}-{base}"
        return pname
    if kind == "conda" and isinstance(names, dict) and "condabin" in names:
        return "base"
    if base in VENV_DIR_NAMES:
        return os.path.basename(os.path.dirname(prefix)) or base
    return base or prefix


def _has_ipykernel(prefix: str, facts: PythonFacts, names: object, seen: dict[str, Signature] | None) -> bool:
    """Whether ipykernel is installed in the environment's site-packages.

    One ``stat`` of ``site-packages/ipykernel_launcher.py`` (the module every ipykernel
    distribution installs at top level, conda's included) instead of listing site-packages; its
    signature is also what the cache watches, so installing or removing ipykernel is seen.
    """
    dirs: list[str] = []
    if facts.lib_dir:
        dirs.append(facts.lib_dir + "/site-packages")
    parts = prefix.split("/")
    if len(parts) >= 2 and parts[-2] == "__pypackages__":
        dirs.append(prefix + "/lib")
    if isinstance(names, dict) and "Lib" in names:
        dirs.append(prefix + "/Lib/site-packages")
    if facts.lib_dir and (prefix == "/usr" or prefix.startswith("/usr/")):
        dirs.append(facts.lib_dir + "/dist-packages")
        dirs.append(prefix + "/lib/python3/dist-packages")  # Debian's system packages
    for d in dirs:
        path = d + "/ipykernel_launcher.py"
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            if seen is not None:
                seen[path] = None
            continue
        if seen is not None:
            seen[path] = (st.st_mtime_ns, st.st_ino, st.st_size)
        return True
    return False
