"""The engine API: one typed function per operation, called by every front end.

The CLI (``cli/cmd_*.py``), the REST handlers (``server/``) and the kernel worker (``worker.py``)
parse their input (arguments, HTTP requests, JSON lines), call one function here, and render what
it returns (text, JSON, HTML); the decisions in between (which environment a TARGET names, which
lock a sync uses, whether a path is a lockfile or an environment, what a cleanup may move) are
made here, once, so the front ends cannot drift apart. The functions return the engine's own
result types (:class:`~envkernels.model.Environment`, :class:`~envkernels.model.Report`,
:class:`~envkernels.lockfiles.writer.LockResult`, :class:`~envkernels.sync.plan.SyncPlan`, ...)
and raise :class:`~envkernels.errors.EnvKernelsError` (message and hint) for what the caller
asked wrongly; a front end turns that into its ``error:``/``hint:`` lines, HTTP status or reply.

A request flows one way: front end -> this module -> the engine packages (discovery, inspect,
lockfiles, sync, audit, kernels) -> a result object -> the front end's renderer.

The engine packages are imported inside each function: the CLI imports this module for every
command, and its start-up is part of every measured command.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from envkernels.errors import EnvKernelsError, NotFoundError, UsageError
from envkernels.model import (
    KINDS,
    AuditReport,
    Diff,
    DiffSide,
    Environment,
    Finding,
    Report,
    Tree,
    WhyPaths,
    severity_rank,
)

if TYPE_CHECKING:
    from envkernels.audit.policy import AuditConfig
    from envkernels.core.distributions import InstalledDistribution
    from envkernels.kernels.cleanup import Leftover
    from envkernels.kernels.doctor import Diagnosis
    from envkernels.kernels.installed import StaleSpec
    from envkernels.kernels.prepare import Prepared
    from envkernels.kernels.trash import TrashEntry
    from envkernels.lockfiles.writer import LockResult
    from envkernels.sync.apply import SourcePolicy, SyncResult
    from envkernels.sync.create import CreateResult
    from envkernels.sync.fork import ForkResult
    from envkernels.sync.plan import SyncPlan
    from envkernels.sync.sources import PackageSource

# An engine progress callback: ``(what, done, total)`` (lock asks the index, sync runs uv).
Progress = Callable[[str, int, int], None]
# The JSON documents of ``tree`` and ``diff`` (docs/reference.md: the REST API).


# ---- environments ------------------------------------------------------------------------------


def require_directories(roots: Sequence[str], option: str = "--root") -> None:
    """Raise UsageError naming the first of ``roots`` that is not an existing directory."""
    for root in roots:
        if not os.path.isdir(os.path.expanduser(root)):
            raise UsageError(
                f"`{root}` is not a directory", hint=f"give an existing directory with `{option}`"
            )


def list_environments(
    *,
    roots: Sequence[str] = (),
    default_roots: bool = True,
    kinds: Sequence[str] = (),
    fresh: bool = False,
) -> list[Environment]:
    """Every environment discovery finds under ``roots`` (and, with ``default_roots``, the usual places).

    ``kinds``: only environments of these kinds (UsageError for a kind that does not exist).
    ``fresh``: scan again even when discovery's cache says nothing changed (a registry edited in
    place is a change the cache cannot see). Broken environments are listed, with ``status``,
    ``problem`` and ``hint``. A root that is not a directory is a UsageError.
    """
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise UsageError(f"unknown kind `{bad[0]}`", hint=f"kinds are: {', '.join(KINDS)}")
    require_directories(roots)
    from envkernels.discovery.scan import discover

    envs = discover(roots=list(roots), default_roots=default_roots, use_cache=not fresh)
    if kinds:
        envs = [e for e in envs if e.kind in kinds]
    return envs


def environment_by_id(env_id: str, environments: Sequence[Environment]) -> Environment:
    """The environment of ``environments`` whose ``id`` is ``env_id``; NotFoundError otherwise."""
    for env in environments:
        if env.id == env_id:
            return env
    raise NotFoundError(
        f"no environment has the id `{env_id}`",
        hint="`envkernels list` (GET envkernels/api/environments) lists the ids",
    )


def resolve(target: str | None, *, environments: Sequence[Environment] | None = None) -> Environment:
    """The environment a TARGET names, as ``list`` maps it (docs/reference.md: TARGET).

    ``target`` is an environment prefix (or its ``bin/python``), a project directory (its
    environment), a notebook (``.ipynb``: the environment of the kernel it records, else of its
    project), or an id, kernel name or name from the listing (``environments``, else a fresh
    discovery). None: the project of the current directory, else the running interpreter.
    Raises NotFoundError (with a hint) when nothing matches, or a project has no environment.
    """
    if target is not None:
        expanded = os.path.expanduser(target)
        if os.path.isfile(os.path.join(expanded, "pyvenv.cfg")):
            # A venv prefix is read directly: the scan machinery (every tool's module, the
            # discovery cache) costs more than the record, and CLI start-up is measured.
            from envkernels.discovery.probe import environment_from_prefix

            return environment_from_prefix(expanded)
        if expanded.endswith(".ipynb") and os.path.isfile(expanded):
            return _notebook_environment(expanded, environments)
    from envkernels.discovery.scan import resolve_target

    return resolve_target(target, list(environments) if environments is not None else None)


def _notebook_environment(notebook: str, environments: Sequence[Environment] | None) -> Environment:
    """The environment of the kernel a notebook records (portable names too), else of its project."""
    from envkernels.discovery.projects import find_project
    from envkernels.discovery.scan import discover, project_target
    from envkernels.limits import read_limited
    from envkernels.lockfiles.notebook import load_notebook_json

    directory = os.path.dirname(os.path.abspath(notebook))
    project = find_project(directory)
    text = read_limited(notebook).decode("utf-8", errors="replace")
    metadata = load_notebook_json(text, notebook).get("metadata") or {}
    spec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    if isinstance(name, str) and name.startswith("envk-"):
        envs = list(environments) if environments is not None else discover([project or directory])
        exact = [e for e in envs if e.kernel_name == name]
        if exact:
            return exact[0]
        from jupyter_client.kernelspec import NoSuchKernel

        from envkernels.kernels.resolve import resolve_kernel_name

        try:
            ours = metadata.get("envkernels") if isinstance(metadata, dict) else None
            return resolve_kernel_name(name, envs, ours if isinstance(ours, dict) else None)
        except NoSuchKernel:
            pass
    if project is not None:
        return project_target(project)
    raise NotFoundError(
        f"the notebook `{notebook}` names no envkernels kernel and belongs to no project",
        hint="pass the environment as TARGET (a prefix, or an id from `envkernels list`)",
    )


# The kernel's environment records, re-read when their files change: prefix -> (paths, stamps, record).
_KERNEL_ENVS: dict[str, tuple[tuple[str, ...], tuple[int | None, ...], Environment]] = {}


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def kernel_environment(prefix: str | None) -> Environment:
    """The record of the environment a running kernel reports as its prefix.

    A kernel asks many times in its life; the record is read again only when the prefix, its
    ``pyvenv.cfg``, ``lib/`` or a site-packages directory changes (a new interpreter, ipykernel
    installed). NotFoundError when the prefix is gone.
    """
    hit = _KERNEL_ENVS.get(prefix) if prefix else None
    if hit is not None and tuple(map(_mtime, hit[0])) == hit[1]:  # a warm %envcheck: a few stats
        return hit[2]
    if not prefix or not os.path.isdir(prefix):
        raise NotFoundError(
            f"the kernel's environment `{prefix}` does not exist",
            "restart the kernel; `envkernels list` shows the environments",
        )
    from envkernels.core.layout import site_packages_dirs
    from envkernels.discovery.probe import environment_from_prefix

    paths = (
        prefix,
        os.path.join(prefix, "pyvenv.cfg"),
        os.path.join(prefix, "lib"),
        *(str(sp) for sp in site_packages_dirs(prefix)),
    )
    stamps = tuple(map(_mtime, paths))  # before reading: a change while it is read shows next time
    env = environment_from_prefix(prefix)
    _KERNEL_ENVS[prefix] = (paths, stamps, env)
    return env


def kernel_search_path(
    sys_path: Sequence[str], *, prefix: str, base_prefix: str | None = None
) -> tuple[str, ...]:
    """The directories on a kernel's ``sys.path`` where a user's own modules can live.

    Left out: the environment and its base interpreter (their modules are distributions or the
    standard library, which the rules know), and the kernel's own plumbing (envkernels'
    ``kernel_side`` directory, the ipykernel overlay): a notebook cannot count on those.
    """
    return _search_path(tuple(p for p in sys_path if isinstance(p, str)), prefix, base_prefix)


# The answers of `kernel_search_path` (realpath of every entry costs more than a warm check).
_SEARCH_PATHS: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _search_path(entries: tuple[str, ...], prefix: str, base_prefix: str | None) -> tuple[str, ...]:
    key = (entries, prefix, base_prefix)
    found = _SEARCH_PATHS.get(key)
    if found is not None:
        return found
    from envkernels.kernels.paths import overlay_root

    skip = [os.path.realpath(p) for p in (prefix, base_prefix) if p]
    plumbing = [
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_side"),
        # The kernel's environment variables are the worker's: the overlay its launcher used.
        os.environ.get("ENVKERNELS_OVERLAY_ROOT") or str(overlay_root()),
    ]
    skip += [os.path.realpath(p) for p in plumbing]
    out: list[str] = []
    for entry in entries:
        if not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if any(real == s or real.startswith(s + os.sep) for s in skip):
            continue
        if real not in out and os.path.isdir(real):
            out.append(real)
    if len(_SEARCH_PATHS) > 64:
        _SEARCH_PATHS.clear()
    found = _SEARCH_PATHS[key] = tuple(out)
    return found


def cell_imports(source: str) -> frozenset[str]:
    """The top-level modules a notebook cell's source imports unguarded (the rules of ``check
    --notebook``: IPython syntax dropped, relative imports local, guarded imports optional and
    never a finding)."""
    from envkernels.inspect.imports import imports_in_source

    return frozenset(site.module for site in imports_in_source(source) if not site.optional)


def installed(env: Environment) -> list[InstalledDistribution]:
    """The distributions installed in ``env``, sorted by name (``%envs``' package table)."""
    from envkernels.core.distributions import installed_distributions

    if not os.path.isdir(env.prefix):
        return []
    return sorted(installed_distributions(env.prefix), key=lambda d: d.name.lower())


# ---- check -------------------------------------------------------------------------------------


def check(
    env: Environment,
    *,
    lock: str | None = None,
    notebook: str | None = None,
    imports: Sequence[str] | None = None,
    search_path: Sequence[str] = (),
    project: str | None = None,
    audit_config: AuditConfig | None = None,
) -> Report:
    """Check ``env`` against its requirements, project, lock and notebook (docs/check.md).

    ``lock``: a lockfile to compare with (default: the project's own, if it belongs to ``env``).
    ``notebook``: a notebook whose imports and location are checked. ``imports``: the modules a
    kernel's cells import unguarded (beside or instead of a notebook's). ``search_path``: the
    kernel's own module directories (:func:`kernel_search_path`). ``project``: the project whose
    declarations apply (default: the notebook's, else the environment's).

    Findings come in the model's order (most severe first). A file of the user's that cannot be
    read is an entry of ``report.input_errors``, not an exception; a ``lock`` or ``notebook`` that does not
    exist is NotFoundError. Answers are cached in process and on disk (``inspect/cache.py``) under
    the stamps of every file read: a warm check only ``stat``s them.

    The advice for a conflicting requirement avoids the releases the audit's advisories on this
    machine name vulnerable (``audit/local.py``: the local database the audit is configured with,
    else its cached OSV API answers; never the network). ``audit_config``: the server's audit
    settings, which choose that source as they do for the audit (default: the project's and the
    environment variables').
    """
    from envkernels.audit.local import local_advisories
    from envkernels.inspect.check import check_environment

    return check_environment(
        env,
        lock=lock,
        notebook=notebook,
        imports=imports,
        project=project,
        search_path=search_path,
        advisories=local_advisories(env.project, audit_config),
    )


def problems(report: Report | AuditReport, threshold: str = "warning") -> list[Finding]:
    """The findings of ``report`` at or above ``threshold`` (``info`` < ``warning`` < ``error``).

    A check passes when this is empty at ``"warning"`` (``--strict``) or ``"error"`` (the default
    exit code of ``check`` and ``audit``).
    """
    rank = severity_rank(threshold)
    return [f for f in report.findings if severity_rank(f.severity) >= rank]


# ---- lock --------------------------------------------------------------------------------------


def lock(
    env: Environment,
    *,
    output: str | None = None,
    notebook: str | None = None,
    open_notebook: str | None = None,
    hashes: bool = True,
    index_url: str | None = None,
    progress: Progress | None = None,
) -> LockResult:
    """Lock exactly what ``env`` has installed into a PEP 751 pylock (docs/lock-sync.md).

    ``output``: the file to write (default ``pylock.toml`` in the current directory when no
    notebook is given; ``"-"`` writes nothing and returns the text). ``notebook``: also write the
    lock into that notebook file's metadata. ``open_notebook``: the lock is for a notebook open in
    a front end, which stores it in its open document: nothing is written, and ``notebook`` of the
    result names it (see :func:`notebook_environment` for the record it carries beside the lock).
    ``hashes=False`` skips asking the index (``index_url``, else the configured one) for files.
    """
    from envkernels.lockfiles.writer import lock_environment

    if open_notebook is not None:
        output, notebook = "-", None
    result = lock_environment(
        env, output=output, notebook=notebook, hashes=hashes, index_url=index_url, progress=progress
    )
    if open_notebook is not None:
        result.notebook = open_notebook
    if result.path or result.notebook:  # a lock written into the user's project: on the trail
        from envkernels.sync import history as trail

        _path, warning = trail.record_action(
            env,
            "lock",
            "handed-to-open-notebook" if open_notebook is not None else "written",
            path=result.path,
            notebook=result.notebook,
            packages=result.packages,
            missing_hashes=len(result.missing),
        )
        if warning:
            result.warnings.append(warning)
    return result


def notebook_environment(env: Environment, result: LockResult) -> dict[str, Any]:
    """The ``metadata.envkernels.environment`` record a notebook keeps beside the lock ``result``."""
    from envkernels.lockfiles.writer import environment_summary

    return environment_summary(env, result.packages)


# ---- sync --------------------------------------------------------------------------------------


def choose_lock(
    env: Environment, *, lock: str | None = None, notebook: str | None = None, directory: str | None = None
) -> str:
    """The lock a sync of ``env`` applies when none may be named (``%envsync`` without LOCK).

    ``lock`` as given (NotFoundError when it does not exist), else the lock ``notebook`` carries,
    else ``pylock.toml`` in ``directory`` when it belongs to ``env`` (the rule of ``check``:
    lockfiles/owner.py), else the environment's own lockfile; UsageError when there is none.
    """
    if lock:
        if not os.path.exists(lock):
            raise NotFoundError(f"`{lock}` does not exist", "`%envsync LOCK` with an existing lockfile")
        return lock
    from envkernels.lockfiles.owner import lock_ownership, not_used_message, notebook_carries_lock

    if notebook and notebook_carries_lock(notebook):
        return str(notebook)
    here = os.path.join(directory or os.getcwd(), "pylock.toml")
    nearby = "there is no pylock.toml here"
    if os.path.isfile(here):
        verdict = lock_ownership(here, env, notebook=notebook)
        if verdict.used:
            return here
        nearby = not_used_message(verdict, notebook)
    if env.lockfiles:
        return str(env.lockfiles[0])
    raise UsageError(
        f"no lock to sync to: the notebook carries none and {nearby}",
        "`%envsync path/to/pylock.toml` (or uv.lock, poetry.lock, ...), or `%envlock --notebook` first",
    )


def plan(env: Environment, lock: str) -> SyncPlan:
    """What a sync of ``env`` to ``lock`` would install, change and remove (nothing is changed).

    ``lock`` is any lock ``sync`` reads: pylock.toml, uv.lock, poetry.lock, pdm.lock, Pipfile.lock,
    pinned requirements, or a notebook carrying a lock. A lock written for another platform or
    Python is a BadInputError.
    """
    from envkernels.sync.plan import plan_sync

    return plan_sync(lock, env)


def refused(sync_plan: SyncPlan, policy: SourcePolicy) -> list[PackageSource]:
    """The sources of ``sync_plan`` that ``policy`` refuses (a sync under it would stop on them)."""
    from envkernels.sync.sources import refused as refused_sources

    return refused_sources(
        sync_plan.sources,
        allow_direct_sources=policy.allow_direct_sources,
        allow_builds=policy.allow_builds,
        allowed_origins=policy.allowed_origins,
    )


def source_policy(
    *,
    allow_direct_sources: bool = False,
    allow_builds: bool = True,
    index_only: bool = False,
    hint: str | None = None,
) -> SourcePolicy:
    """What a sync may install besides pinned index downloads.

    ``allow_direct_sources``: local directories, VCS checkouts and URLs; ``allow_builds``: source
    distributions built on install; ``index_only``: files only from the configured package
    index(es) (a server's rule), else from any origin the lock names. ``hint`` is the refusal's.
    """
    from envkernels.sync.apply import SourcePolicy

    origins = None
    if index_only:
        from envkernels.lockfiles.index_config import resolve_index_config
        from envkernels.sync.sources import server_origins

        origins = server_origins(resolve_index_config().all)
    if hint is None:
        return SourcePolicy(allow_direct_sources, allow_builds, origins)
    return SourcePolicy(allow_direct_sources, allow_builds, origins, hint)


def sync(
    env: Environment,
    lock: str,
    *,
    planned: SyncPlan | None = None,
    policy: SourcePolicy | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Make ``env`` match ``lock`` through uv: snapshot, apply, restore on failure, history line.

    ``planned``: the plan the user saw (:func:`plan`); the sync plans again under its lock and
    reports what changed on disk. ``policy``: what may be installed besides index downloads
    (default: no direct sources). ConflictError while another sync of ``env`` runs;
    SyncFailedError (the environment restored) when uv fails.
    """
    from envkernels.sync.apply import SourcePolicy, apply_sync

    return apply_sync(
        planned if planned is not None else plan(env, lock),
        env,
        lock_path=lock,
        policy=policy if policy is not None else SourcePolicy(),
        progress=progress,
    )


def create(
    lock: str,
    target: str | None = None,
    *,
    policy: SourcePolicy | None = None,
    progress: Progress | None = None,
) -> CreateResult:
    """A new environment from ``lock`` (beside the notebook or lock, or at ``target``), synced to it,
    with its kernelspec installed."""
    from envkernels.sync.create import create_from_lock

    return create_from_lock(lock, target, progress=progress, policy=policy)


def fork(
    env: Environment,
    dest: str | None = None,
    *,
    policy: SourcePolicy | None = None,
    progress: Progress | None = None,
) -> ForkResult:
    """A personal copy of ``env`` at ``dest`` (default: the user's forks directory), made from
    its exact lock, with its kernelspec installed (docs/kernels.md: shared environments)."""
    from envkernels.sync.fork import fork_environment

    return fork_environment(env, dest, progress=progress, policy=policy)


# ---- audit -------------------------------------------------------------------------------------


def audit(
    target: Environment | str | None,
    *,
    db: str | None = None,
    api_url: str | None = None,
    licenses: bool = False,
    deadline: float | None = None,
    config: AuditConfig | None = None,
) -> AuditReport:
    """Known vulnerabilities (and, with ``licenses``, license statuses) of an environment or a lockfile.

    ``target``: an environment record, or a TARGET string: a lockfile (audited without installing
    it) when it names a file, else an environment as :func:`resolve` reads it. ``db``: a local OSV
    database (offline); ``api_url``: an OSV API base URL (default: the configuration's, else
    api.osv.dev); ``deadline``: seconds the audit may take; ``config``: the server's settings, which
    win over a project's ``[tool.envkernels.audit]``. A source that cannot answer is a
    ``source-unavailable`` error finding, never "no vulnerabilities".
    """
    from envkernels.audit.run import audit_environment, audit_lockfile

    kwargs: dict[str, Any] = {
        "db": db,
        "api_url": api_url,
        "licenses": licenses,
        "deadline": deadline,
        "config": config,
    }
    if isinstance(target, Environment):
        return audit_environment(target, **kwargs)
    if target and os.path.isfile(os.path.expanduser(target)):
        return audit_lockfile(os.path.expanduser(target), **kwargs)
    return audit_environment(resolve(target), **kwargs)


def write_sbom(report: AuditReport, path: str) -> str:
    """Write the CycloneDX JSON SBOM of an audit ``report`` to ``path`` (atomically); the path written."""
    from envkernels.audit.run import sbom_for
    from envkernels.audit.sbom import write_sbom as write

    return str(write(path, sbom_for(report)))


# ---- pictures: tree and diff -------------------------------------------------------------------


def tree(env: Environment, *, why: str | None = None) -> Tree:
    """What pulls in what in ``env``; with ``why``, the chains of requirements that install it.

    ``{"packages", "roots", ...}`` (docs/reference.md); NotFoundError when ``why`` is not installed.
    """
    from envkernels.core.distributions import installed_distributions
    from envkernels.inspect import tree as graph

    packages = graph.dependency_tree(installed_distributions(env.prefix), env.python_version)
    found = None
    if why is not None:
        paths = graph.why_paths(packages, why)
        if paths is None:
            raise NotFoundError(
                f"`{why}` is not installed in `{env.name}`",
                hint="the tree without `why` lists the installed packages",
            )
        found = WhyPaths(why, paths)
    return Tree(env, packages, graph.roots_of(packages), found)


def diff(env: Environment, *, other: Environment | None = None, lock: str | None = None) -> Diff:
    """``env``'s package versions side by side with ``other``'s or with the pins of ``lock``.

    Exactly one of ``other`` and ``lock`` (UsageError otherwise). ``{"left", "right", "rows",
    "summary"}``; each row is ``changed``, ``same``, ``only-left`` or ``only-right``.
    """
    from envkernels.core.distributions import installed_distributions
    from envkernels.inspect import diff as compare

    if (other is None) == (lock is None):
        raise UsageError(
            "a diff needs exactly one of `other` (an environment) or `lock` (a path)",
            hint="e.g. GET .../diff?other=<id> or .../diff?lock=project/pylock.toml",
        )
    left = compare.versions_of((d.name, d.version) for d in installed_distributions(env.prefix))
    left_label = DiffSide("environment", id=env.id, name=env.name, prefix=env.prefix)
    if other is not None:
        right = compare.versions_of((d.name, d.version) for d in installed_distributions(other.prefix))
        right_label = DiffSide("environment", id=other.id, name=other.name, prefix=other.prefix)
    else:
        from envkernels.lockfiles.read import read_lock

        assert lock is not None
        parsed = read_lock(lock)
        right = compare.versions_of((p.name, p.version) for p in parsed.packages)
        right_label = DiffSide("lock", path=lock, format=parsed.format)
    return compare.compare(left, right, left_label=left_label, right_label=right_label)


# ---- doctor and cleanup ------------------------------------------------------------------------


def history(
    env: Environment | None = None, *, environments: Sequence[Environment] | None = None
) -> list[dict[str, Any]]:
    """The audit trail (docs/lock-sync.md: history), oldest first: of ``env``, or of everything the
    user can see (``environments``, default: discovery's; every cache-side history; the server-wide
    log of shared environments)."""
    from envkernels.sync import history as trail

    if env is not None:
        return trail.trail((), env)
    return trail.trail(environments if environments is not None else list_environments())


def doctor(*, roots: Sequence[str] = (), default_roots: bool = True) -> Diagnosis:
    """Which Jupyter and Python, which kernels a server will show, and each problem with its fix."""
    require_directories(roots)
    from envkernels.kernels.doctor import diagnose

    return diagnose(roots=list(roots), default_roots=default_roots)


@dataclass(frozen=True)
class CleanupResult:
    """What ``cleanup`` found under its roots and, when applying, what it moved to the trash."""

    leftovers: tuple[Leftover, ...]
    applied: bool = False
    moved: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    trash_id: str | None = None
    proposed: tuple[Leftover, ...] = field(default=(), repr=False)

    @property
    def proposed_size(self) -> int:
        """Bytes the proposed leftovers take."""
        return sum(i.size for i in self.proposed)

    @property
    def moved_size(self) -> int:
        """Bytes moved to the trash."""
        moved = set(self.moved)
        return sum(i.size for i in self.leftovers if i.path in moved)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``cleanup --json``."""
        return {
            "applied": self.applied,
            "leftovers": [item.to_dict() for item in self.leftovers],
            "moved": list(self.moved),
            "skipped": [{"path": p, "why": why} for p, why in self.skipped],
            "trash_id": self.trash_id,
            "proposed_size": self.proposed_size,
        }


def cleanup(roots: Sequence[str] = (".",), *, apply: Sequence[str] | None = None) -> CleanupResult:
    """Leftover environments under ``roots`` and what deleting each would lose (docs/cleanup.md).

    ``apply`` None: a dry run. ``[]``: move the proposed ones into the trash; paths: exactly
    those (ones that need a decision included). Each is checked again just before it moves
    (inside a root, still an environment, no process running in it); nothing is deleted.
    """
    require_directories(roots)
    from envkernels.kernels.cleanup import PROPOSED, find_leftovers, select
    from envkernels.kernels.cleanup import apply as move

    leftovers = find_leftovers(list(roots))
    proposed = tuple(i for i in leftovers if i.status == PROPOSED)
    if apply is None:
        return CleanupResult(tuple(leftovers), proposed=proposed)
    chosen = select(leftovers, apply)
    entry, skipped = move(chosen, list(roots)) if chosen else (None, [])
    if entry is not None:
        from envkernels.sync import history as trail

        by_path = {i.path: i for i in chosen}
        for item in entry.items:
            left = by_path.get(item["original"])
            trail.record_moved(
                item["original"],
                "cleanup",
                "moved-to-trash",
                trash_id=entry.id,
                reason=left.reason if left else None,
                plan={
                    "move": item["original"],
                    "to": "trash",
                    "undo": f"envkernels cleanup --undo {entry.id}",
                },
            )
    return CleanupResult(
        tuple(leftovers),
        applied=True,
        moved=tuple(item["original"] for item in entry.items) if entry else (),
        skipped=tuple(skipped),
        trash_id=entry.id if entry else None,
        proposed=proposed,
    )


def cleanup_undo(entry_id: str | None = None) -> TrashEntry:
    """Put back what the cleanup ``entry_id`` (default: the last one) moved to the trash."""
    from envkernels.kernels import trash
    from envkernels.sync import history as trail

    entry = trash.undo(entry_id)
    for item in entry.items:
        trail.record_moved(item["original"], "cleanup-undo", "restored", trash_id=entry.id)
    return entry


def trash_entries() -> list[TrashEntry]:
    """What the trash holds, one entry per cleanup."""
    from envkernels.kernels import trash

    return trash.entries()


def empty_trash(older_than_days: float | None = None) -> list[TrashEntry]:
    """Delete the trash's cleanups (only those older than ``older_than_days``) for good."""
    if older_than_days is not None and older_than_days < 0:
        raise UsageError("`--older-than` takes a number of days, 0 or more", hint="`--older-than 30`")
    from envkernels.kernels import trash

    return trash.empty(older_than_days)


# ---- kernelspecs on disk, hidden kernels, shared overlays -------------------------------------


@dataclass(frozen=True)
class KernelsInstalled:
    """What ``install_kernels`` wrote, and the environments it passed over (``--all``) with why."""

    written: tuple[dict[str, str], ...]
    skipped: tuple[tuple[Environment, EnvKernelsError], ...] = ()


def install_kernels(
    target: str | None = None,
    *,
    every: bool = False,
    roots: Sequence[str] = (),
    default_roots: bool = True,
    prefix: str | None = None,
) -> KernelsInstalled:
    """Write kernelspecs (kernel.json + logo) for the environment TARGET names, or, ``every``, for
    each discovered one (one environment's problem never stops the others: it is ``skipped``).

    ``prefix``: into ``PREFIX/share/jupyter/kernels`` instead of the user's Jupyter data directory.
    Each entry of ``written`` is ``{"name", "resource_dir", "environment"}``.
    """
    if every and target:
        raise UsageError("give a TARGET or --all, not both", hint="`envkernels kernels install --all`")
    from envkernels.kernels.installed import install_kernelspec

    if not every:
        env = resolve(target)
        path = install_kernelspec(env, user=not prefix, prefix=prefix)  # its errors say why
        return KernelsInstalled(({"name": env.kernel_name, "resource_dir": path, "environment": env.id},))
    written, skipped = [], []
    for env in list_environments(roots=roots, default_roots=default_roots):
        try:
            path = install_kernelspec(env, user=not prefix, prefix=prefix)
        except EnvKernelsError as exc:
            skipped.append((env, exc))
            continue
        written.append({"name": env.kernel_name, "resource_dir": path, "environment": env.id})
    return KernelsInstalled(tuple(written), tuple(skipped))


def prune_kernels(
    *, prefix: str | None = None, dry_run: bool = False
) -> tuple[list[StaleSpec], list[StaleSpec]]:
    """Remove envkernels' kernelspecs whose environment is gone (``dry_run``: only name them).

    Returns (ours: removed or to be removed, others: stale ones of other tools, left alone).
    """
    from envkernels.kernels.installed import kernel_dirs, prune

    extra = [os.path.join(prefix, "share", "jupyter", "kernels")] if prefix else []
    return prune(kernel_dirs(extra), dry_run=dry_run)


def hide_kernel(target: str) -> dict[str, Any]:
    """Offer the environment TARGET names (a kernel name too) as no kernel; its record in the hidden list."""
    from envkernels.kernels import hidden

    name = target.lower() if target.lower().startswith("envk-") else target
    env = resolve(name, environments=list_environments())
    hidden.hide(env)
    return {"name": env.kernel_name, **hidden.hidden_kernels()[env.kernel_name]}


def hidden_kernels() -> list[dict[str, Any]]:
    """The hidden kernels, by name: ``{"name", "kind", "prefix", "hidden_at", ...}``."""
    from envkernels.kernels import hidden

    return [{"name": name, **rec} for name, rec in sorted(hidden.hidden_kernels().items())]


def unhide_kernel(name: str) -> dict[str, Any]:
    """Offer the hidden kernel ``name`` again; NotFoundError when no hidden kernel has that name."""
    from envkernels.kernels import hidden

    record = hidden.unhide(name)
    if record is None:
        raise NotFoundError(
            f"no hidden kernel is named `{name}`", "`envkernels kernels hidden` lists the hidden kernels"
        )
    return {"name": name.lower(), **record}


def prepare_overlays(dest: str, pythons: Sequence[str] = (), *, rebuild: bool = False) -> list[Prepared]:
    """Build the ipykernel overlay of each interpreter in ``pythons`` (default: every Python of the
    shared roots) into ``dest``, for users' servers to share; what ``dest`` now offers."""
    from envkernels.kernels.prepare import prepare_overlays as prepare

    return prepare(dest, list(pythons), rebuild=rebuild)
