"""Copyable fix commands for findings: one place, so every finding speaks the same commands."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from envkernels.inspect.advice import Advice
from envkernels.model import Environment


def _python(env: Environment) -> str:
    return shlex.quote(env.python or env.prefix)


def uv_install(env: Environment, *requirements: str, reinstall: bool = False, no_deps: bool = False) -> str:
    """``uv pip install --python <python> 'req' ...`` for this environment."""
    flags = (" --reinstall" if reinstall else "") + (" --no-deps" if no_deps else "")
    reqs = " ".join(shlex.quote(r) for r in requirements)
    return f"`uv pip install --python {_python(env)}{flags} {reqs}`"


def resolved_install(env: Environment, advice: Advice) -> str:
    """The install command of advice with versions, saying which dependents must move and why."""
    command = uv_install(env, *(f"{name}=={version}" for name, version in advice.pins))
    notes = [
        f"{d.name} {d.version} requires `{d.requirement}`, so {d.name} must move too" for d in advice.moved
    ]
    if advice.downgrade:
        notes.append(f"a downgrade: no newer {advice.target} fits what requires it")
    if advice.offline:
        notes.append("versions resolved from uv's cache: the package index could not be reached")
    return command + (f" ({'; '.join(notes)})" if notes else "")


def upgrade_together(env: Environment, names: Iterable[str], why: str) -> str:
    """Advice without versions: let uv upgrade ``names`` together, saying why no versions are named."""
    listed = " ".join(shlex.quote(n) for n in dict.fromkeys(names))
    return f"`uv pip install --python {_python(env)} --upgrade {listed}` ({why})"


def unresolved(env: Environment, advice: Advice, names: Iterable[str]) -> str | None:
    """The hint without versions for advice that could not be resolved; None when uv found no solution."""
    if advice.reason == "uv-failed":
        return upgrade_together(env, names, f"no versions named: uv could not resolve them: {advice.detail}")
    why = UNRESOLVED_WHY.get(advice.reason or "")
    return upgrade_together(env, names, why) if why else None


def blocked_by_advisories(env: Environment, advice: Advice, source: str) -> str:
    """The hint when every release that fits what requires ``advice.target`` is known vulnerable.

    Going back is not advised; what requires the target must move to a release that allows a
    fixed one, so both are upgraded together (uv picks the versions).
    """
    bad = ", ".join(f"{n} {v}" for n, v in advice.excluded)
    needs = "; ".join(f"{d.name} {d.version} requires `{d.requirement}`" for d in advice.dependents)
    movers = [d.name for d in advice.dependents]
    must = f"{', '.join(movers)} must move to a release that allows a fixed {advice.target}" if movers else ""
    why = (
        f"no release of {advice.target} that fits what requires it is free of known vulnerabilities "
        f"({bad} {'is' if len(advice.excluded) == 1 else 'are'} vulnerable per {source}"
        + (f"; {needs}" if needs else "")
        + ")"
        + (f": {must}" if must else "")
    )
    return upgrade_together(env, [advice.target, *movers], why)


UNRESOLVED_WHY = {
    "unreachable": "no versions named: the package index could not be reached to resolve them",
    "unvetted": "no versions named: the advisory source could not vet the versions uv resolved",
    "deadline": "no versions named: the audit's deadline ran out before uv resolved them",
}


def uv_uninstall(env: Environment, name: str) -> str:
    """``uv pip uninstall --python <python> name``."""
    return f"`uv pip uninstall --python {_python(env)} {shlex.quote(name)}`"


def project_sync(manager: str | None, project: str) -> str | None:
    """The command that installs a project's declared dependencies with its own tool, if known."""
    p = shlex.quote(project)
    if manager == "uv":
        return f"`uv sync --project {p}`"
    if manager == "poetry":
        return f"`poetry install --directory {p}`"
    if manager == "pdm":
        return f"`pdm install --project {p}`"
    if manager == "pipenv":
        return f"`cd {p} && pipenv install --dev`"
    return None


def add_dependency(manager: str | None, project: str, name: str) -> str:
    """How to declare ``name`` as a dependency of the project."""
    p = shlex.quote(project)
    n = shlex.quote(name)
    if manager == "uv":
        return f"`uv add --project {p} {n}`"
    if manager == "poetry":
        return f"`poetry add --directory {p} {n}`"
    if manager == "pdm":
        return f"`pdm add --project {p} {n}`"
    if manager == "pipenv":
        return f"`cd {p} && pipenv install {n}`"
    return f"add `{name}` to `[project].dependencies` in `{project}/pyproject.toml` (or `requirements.txt`)"


def sync_lock(lock: str, env: Environment) -> str:
    """Make the environment match a lockfile with envkernels' own sync."""
    return f"`envkernels sync {shlex.quote(lock)} --target {shlex.quote(env.prefix)}`"


def recreate_with_python(env: Environment, request: str) -> str:
    """A new environment with another Python, beside this one (never one that wipes this one)."""
    beside = env.prefix.rstrip("/") + "-py" + "".join(c for c in request if c.isalnum() or c == ".")
    cmd = f"uv venv --python {shlex.quote(request)} {shlex.quote(beside)}"
    return f"`{cmd}` makes one beside it (this one is kept); install the project's requirements into it"
