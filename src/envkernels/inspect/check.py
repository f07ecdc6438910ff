"""The check: every rule of docs/reference.md's `check` codes over one environment, cached.

``check_environment`` is what the CLI, the magics and the server call. It never raises for a bad
file (a distribution's metadata becomes ``invalid-metadata``; a project file, lockfile or notebook
that cannot be read becomes an entry of ``report.input_errors``) and raises
EnvKernelsError only for arguments it cannot use (a lock or notebook path that does not exist).

Results are memoized in-process and on disk (``inspect/cache.py``), keyed by the arguments and
stamped with the mtimes of site-packages and of every file the rules read; a warm check only
``stat``s those paths. The rule modules (and ``packaging``) are imported only on a miss.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from envkernels._version import __version__
from envkernels.core.stamps import stamps as stamps_of
from envkernels.core.stamps import still_valid
from envkernels.errors import NotFoundError, UsageError
from envkernels.inspect import cache
from envkernels.model import Environment, Finding, Report

if TYPE_CHECKING:
    from envkernels.inspect.advice import LocalAdvisories

# key -> [stamps, report, stamps left to stat once inotify watches the rest (None: not armed)]
_MEMO: dict[str, list[Any]] = {}
_KEYS: dict[tuple[Any, ...], str] = {}  # the arguments of a check -> its cache key
_MEMO_MAX = 512  # reports kept in process (a server checks many environments and notebooks)


def _abs(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _validate(lock: str | None, notebook: str | None, project: str | None) -> None:
    if lock and not os.path.isfile(lock):
        raise NotFoundError(f"lockfile `{lock}` does not exist", hint="give the path of an existing lockfile")
    if notebook and not os.path.isfile(notebook):
        raise NotFoundError(
            f"notebook `{notebook}` does not exist", hint="give the path of an existing .ipynb file"
        )
    if project and not os.path.isdir(project):
        raise UsageError(f"project `{project}` is not a directory", hint="give the project's directory")


def choose_project(env: Environment, notebook: str | None, project: str | None) -> str | None:
    """The project whose declarations apply: the one given, else the notebook's, else the environment's."""
    if project:
        return os.path.abspath(project)
    if notebook:
        from envkernels.inspect.declared import find_project_root

        found = find_project_root(os.path.dirname(os.path.abspath(notebook)))
        if found:
            return found
    return env.project


def _default_lock(
    project: str | None, env: Environment, notebook: str | None
) -> tuple[str | None, list[Any], list[str]]:
    """(the lock to compare with, the nearby locks not used, every file the choice read).

    Candidates, in order: the lock the notebook carries, then the lockfiles of the project whose
    declarations apply (pylock.toml first). The first one ``lock_ownership`` lets this environment
    use is chosen; the others met before it are reported (``lock-not-used``), never applied.
    """
    candidates: list[str] = []
    from envkernels.lockfiles.owner import lock_ownership, notebook_carries_lock

    if notebook and notebook_carries_lock(notebook):
        candidates.append(notebook)
    if project is not None:
        if env.project and os.path.realpath(env.project) == os.path.realpath(project) and env.lockfiles:
            candidates += list(env.lockfiles)
        else:
            from pathlib import Path

            from envkernels.discovery.probe import project_lockfiles

            candidates += list(project_lockfiles(Path(project)))
    skipped: list[Any] = []
    for path in candidates:
        if path.endswith("pixi.lock"):
            continue
        verdict = lock_ownership(path, env, notebook=notebook)
        if verdict.used:
            return path, skipped, candidates
        skipped.append(verdict)
    return None, skipped, candidates


def check_environment(
    env: Environment,
    *,
    lock: str | None = None,
    notebook: str | None = None,
    imports: Iterable[str] | None = None,
    project: str | None = None,
    use_cache: bool = True,
    search_path: Iterable[str] = (),
    advisories: LocalAdvisories | None = None,
) -> Report:
    """Check ``env`` (and its project, lock and notebook); findings sorted by severity, errors first.

    ``lock``: a lockfile to compare with (default: the project's own lockfile, if any).
    ``notebook``: a notebook whose imports and location are checked.
    ``imports``: module names the kernel's cells import unguarded (beside or instead of a notebook's;
    the worker reads them from the cells with ``inspect/imports.py``).
    ``project``: the project directory whose declarations apply (default: the notebook's, else the env's).
    ``use_cache``: False (or ``ENVKERNELS_NO_CACHE=1``) reads everything again.
    ``search_path``: directories on the kernel's ``sys.path`` outside the environment: a module found
    there imports, so it is not reported as failing.
    ``advisories``: the audit's advisories on this machine (``audit.local.local_advisories``); the
    advice for a conflicting requirement then names no release they know to be vulnerable.
    """
    _validate(lock, notebook, project)
    if os.environ.get("ENVKERNELS_NO_CACHE"):
        use_cache = False
    import_names = tuple(sorted({i for i in (imports or ()) if i}))
    search = tuple(search_path)
    label = advisories.label if advisories is not None else None
    args = (env, _abs(lock), _abs(notebook), import_names, search, _abs(project), label)
    key = _KEYS.get(args)
    if key is None:  # hashing the record costs more than the whole warm check: once per question
        key = cache.key_hash(
            "report",
            __version__,
            env.to_dict(),
            *args[1:],
            os.uname().machine if hasattr(os, "uname") else "",
        )
        if len(_KEYS) >= _MEMO_MAX:
            _KEYS.clear()
        _KEYS[args] = key
    if use_cache:
        hit = _MEMO.get(key)
        if hit is not None and _memo_valid(key, hit):
            return hit[1]
        if hit is not None:
            _MEMO.pop(key, None)
            cache.disarm(("check", key))
        data = cache.load("report", key)
        if data is not None:
            try:
                report = _report_from_dict(data["report"])
            except (KeyError, TypeError, ValueError):
                report = None
            if report is not None:
                _MEMO[key] = [data["stamps"], report, None]
                return report
    report, stamps = _compute(
        env, _abs(lock), _abs(notebook), import_names, project, use_cache, search, advisories
    )
    if use_cache:
        if len(_MEMO) >= _MEMO_MAX:
            forget()
        _MEMO[key] = [stamps, report, None]
        cache.store("report", key, stamps, {"report": report.to_dict()})
    return report


def cached_stamps(env: Environment) -> list[Any] | None:
    """The stamps of what the last ``check_environment(env)`` (no lock, notebook, imports, project) read.

    None when that report is not memoized (any advisories it was given are part of its stamps).
    """
    for args, key in reversed(list(_KEYS.items())):
        if args[0] == env and args[1:6] == (None, None, (), (), None):
            hit = _MEMO.get(key)
            if hit is not None:
                return [list(s) for s in hit[0]]
    return None


def _memo_valid(key: str, hit: list[Any]) -> bool:
    """Whether a memoized report still holds: every stamp by ``stat``, then by inotify once armed.

    The first reuse arms inotify watches on the directories of the stamps (each distribution's
    metadata directory, site-packages, the project and lock files' directories) and checks every
    stamp once after; later reuses cost one non-blocking ``read`` plus the stamps inotify cannot
    cover, instead of one ``stat`` per distribution file (what keeps a warm ``%envcheck`` well
    under a millisecond on a 300-distribution environment).
    """
    stamps, _report, stat_only = hit
    if stat_only is not None:
        return cache.watched_still_valid(("check", key), stat_only)
    armed = cache.arm(("check", key), stamps)
    if not still_valid(stamps):
        return False
    hit[2] = armed
    return True


def _report_from_dict(data: dict[str, Any]) -> Report:
    return Report.from_dict(data)


def _compute(
    env: Environment,
    lock: str | None,
    notebook: str | None,
    imports: tuple[str, ...],
    project: str | None,
    use_cache: bool,
    search_path: tuple[str, ...] = (),
    advisories: LocalAdvisories | None = None,
) -> tuple[Report, list[Any]]:
    """Run every rule (the cache missed)."""
    from envkernels.discovery.problems import pending_sync_files
    from envkernels.inspect import check_imports, check_installed, check_lock, check_project
    from envkernels.inspect.context import CheckContext
    from envkernels.inspect.declared import read_declarations
    from envkernels.inspect.inventory import inventory
    from envkernels.inspect.markers import marker_environment

    inv = inventory(env.prefix, use_cache=use_cache)
    chosen = choose_project(env, notebook, project)
    ctx = CheckContext(
        env=env,
        inventory=inv,
        markers=marker_environment(env),
        project=chosen,
        notebook=notebook,
        imports=imports,
        search_path=search_path,
        use_cache=use_cache,
        advisories=advisories,
    )
    if notebook:
        # A project file appearing in any folder between the notebook and its project changes the answer.
        ctx.inputs.extend(_ancestors(os.path.dirname(notebook), stop=chosen))
    if chosen:
        ctx.declarations = read_declarations(chosen)
        ctx.problems.extend(ctx.declarations.problems)
        ctx.inputs.extend(ctx.declarations.inputs)
    findings: list[Finding] = environment_state(env)
    ctx.inputs.extend(os.path.dirname(p) for p in pending_sync_files(env.prefix))
    if lock:
        ctx.lock = lock
    else:
        # A lock found nearby is applied only when it is this environment's (lockfiles/owner.py).
        from envkernels.lockfiles.owner import not_used_message

        ctx.lock, skipped, read = _default_lock(chosen, env, notebook)
        ctx.inputs.extend(read)
        if chosen:
            ctx.inputs.append(chosen)  # a lockfile appearing there changes the choice
        for verdict in skipped:
            findings.append(
                Finding(
                    "lock-not-used",
                    "info",
                    None,
                    not_used_message(verdict, notebook),
                    f"to compare with it anyway, name it: `--lock {verdict.path}`",
                )
            )
    findings += check_installed.broken_requirements(ctx)
    findings += check_installed.duplicates(ctx)
    findings += check_project.declared_requirements(ctx)
    findings += check_project.python_version(ctx)
    findings += check_lock.lock_drift(ctx)
    findings += check_imports.undeclared_imports(ctx)
    findings += check_imports.kernel_environment(ctx)
    report = Report(
        environment=env,
        findings=tuple(findings),  # the report sorts them (model.finding_order)
        input_errors=tuple(ctx.problems),
    )
    stamps = [list(s) for s in inv.stamps] + [list(s) for s in stamps_of(ctx.inputs)]
    return report, stamps


def environment_state(env: Environment) -> list[Finding]:
    """What is wrong with the environment itself: an interrupted sync, or why it is broken.

    A broken environment (its site-packages unreadable, its interpreter gone) can look clean to
    every other rule, which reads nothing from it: this says so instead of "no findings".
    """
    from envkernels.discovery.problems import interrupted_sync

    problem, hint = interrupted_sync(env.prefix)
    if problem is not None:
        return [Finding("sync-interrupted", "error", None, problem, hint)]
    if env.status == "broken":
        problem = env.problem or "the environment is broken"
        return [Finding("environment-broken", "error", None, problem, env.hint)]
    return []


def _ancestors(start: str, stop: str | None) -> list[str]:
    """``start`` and its parents up to ``stop`` (or the filesystem root)."""
    out = []
    here = os.path.abspath(start)
    while True:
        out.append(here)
        parent = os.path.dirname(here)
        if here == stop or parent == here:
            return out
        here = parent


def forget() -> None:
    """Drop the in-process memo (the on-disk cache stays; its stamps keep it honest)."""
    for key in list(_MEMO):
        cache.disarm(("check", key))
    _MEMO.clear()
