"""The host-side worker behind the kernel magics: JSON lines in, the engine's answers out.

A kernel envkernels launches starts ONE of these (``$ENVKERNELS_HOST_PYTHON -m envkernels.worker``)
on its first magic and keeps it for the kernel's life, so a warm ``%envcheck`` costs one JSON
round trip. The kernel hands over its facts (prefix, interpreter, notebook path, the raw sources
of the cells it ran, its ``sys.path``, working directory) and decides nothing: the worker reads
the cells with the import rules of ``envkernels check --notebook`` (``inspect/imports.py``),
runs the engine of the envkernels installation, renders
HTML and text (``envkernels.render``) and caches each answer under a stamp of the files it depends
on, recomputing when one changes. A check is asked of the engine every time (its own cache checks
every distribution's identity, the lockfiles and project files it read; see ``inspect/cache.py``)
and only its rendering is reused when the engine returns the same report; the other answers are
stamped with the environment's inventory (the same per-distribution stamps), the notebook, the
lockfiles and the project files.

``%load_ext envkernels`` uses :class:`Worker` in-process, without the pipe.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envkernels.errors import EnvKernelsError, NotFoundError, UsageError
from envkernels.kernels.paths import overlay_root
from envkernels.lockfiles.owner import notebook_carries_lock

Progress = Callable[[str], None]
# Files of a project directory whose change changes what `check` says.
_PROJECT_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "pylock.toml",
    ".python-version",
)
# Answers kept at most (oldest dropped first).
CACHE_ENTRIES = 64
# Audit answers from an online source are kept this long even when nothing on disk changed.
AUDIT_TTL_SECONDS = 600.0


def _engine(module: str, name: str, op: str) -> Any:
    """The engine function ``module.name``; a clear error when this installation lacks it."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise EnvKernelsError(
            f"`{op}` is not available in this envkernels installation (`{module}`: {exc})",
            "upgrade envkernels where the kernel's ENVKERNELS_HOST_PYTHON points",
        ) from exc
    func = getattr(mod, name, None)
    if func is None:
        raise EnvKernelsError(
            f"`{op}` is not available in this envkernels installation (`{module}.{name}` is missing)",
            "upgrade envkernels where the kernel's ENVKERNELS_HOST_PYTHON points",
        )
    return func


def _mtime(path: str | os.PathLike[str] | None) -> int | None:
    if not path:
        return None
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _project_stamp(directory: str | None) -> tuple[Any, ...]:
    """The mtimes of the project files of ``directory`` (and the directory itself: new requirements files)."""
    if not directory:
        return ()
    stamps: list[Any] = [("dir", directory, _mtime(directory))]
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                n = entry.name
                if (
                    n in _PROJECT_FILES
                    or (n.startswith("requirements") and n.endswith((".txt", ".in")))
                    or (n.startswith("pylock.") and n.endswith(".toml"))
                ):
                    stamps.append((n, _mtime(entry.path)))
    except OSError:
        pass
    return tuple(sorted(stamps, key=repr))


def _resolve(path: str | None, cwd: str | None) -> str | None:
    """A user-given path, relative to the kernel's working directory."""
    if not path:
        return None
    p = Path(os.path.expanduser(path))
    if not p.is_absolute():
        p = Path(cwd or os.getcwd()) / p
    return str(p)


class CellsMissing(UsageError):
    """The kernel sent cells from an index past those the worker holds (it asks for all of them)."""

    reason = "cells-missing"


class KernelCells:
    """The cells one kernel has run, as the kernel sent them, and the imports each one makes.

    Each cell is read once, with :func:`envkernels.inspect.imports.imports_in_source` (the rules
    of ``check --notebook``: IPython syntax dropped, relative imports local, guarded imports
    optional). Only the modules a cell imports unguarded are kept: a guarded import never
    makes a finding, in a cell or in a notebook file.
    """

    def __init__(self) -> None:
        self.sources: list[str] = []
        self._modules: list[frozenset[str]] = []
        self._names: tuple[str, ...] | None = ()

    def take(self, cells: Any) -> None:
        """Apply ``{"start", "sources"}`` from the kernel; CellsMissing when ``start`` is past the end."""
        if not isinstance(cells, dict):
            return
        start, sources = cells.get("start"), cells.get("sources")
        if not isinstance(start, int) or not isinstance(sources, list) or start < 0:
            raise UsageError('`facts.cells` must be {"start": int, "sources": [str]}')
        if start > len(self.sources):
            raise CellsMissing(
                f"the worker holds {len(self.sources)} of this kernel's cells, not {start}",
                "run the magic again (the kernel sends every cell then)",
            )
        if start == len(self.sources) and not sources:
            return
        from envkernels.inspect.imports import imports_in_source

        fresh = [s if isinstance(s, str) else "" for s in sources]
        del self.sources[start:], self._modules[start:]
        for source in fresh:
            self.sources.append(source)
            self._modules.append(
                frozenset(site.module for site in imports_in_source(source) if not site.optional)
            )
        self._names = None

    @property
    def imports(self) -> tuple[str, ...]:
        """The top-level modules the cells import unguarded, sorted."""
        if self._names is None:
            self._names = tuple(sorted(frozenset().union(*self._modules)))
        return self._names


class Worker:
    """Answers requests; holds the cache and the kernel's cells. One per worker process (or per
    in-process IPython)."""

    def __init__(self) -> None:
        self.cells = KernelCells()
        self._cache: dict[str, tuple[Any, float, dict[str, Any]]] = {}
        self._search_paths: dict[Any, tuple[str, ...]] = {}
        self._env_cache: dict[str, tuple[Any, Any, list[str]]] = {}
        self._ops: dict[str, Callable[[dict[str, Any], dict[str, Any], Progress], dict[str, Any]]] = {
            "envs": self._envs,
            "check": self._check,
            "lock": self._lock,
            "audit": self._audit,
            "plan_sync": self._plan_sync,
            "apply_sync": self._apply_sync,
        }

    # -- the protocol
    def handle(self, request: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
        """One request dict in, one reply dict out; never raises."""
        rid = request.get("id")
        try:
            result = self.run(
                str(request.get("op")),
                request.get("args") or {},
                request.get("facts") or {},
                progress or (lambda _msg: None),
            )
            return {"id": rid, "ok": True, "result": result}
        except EnvKernelsError as exc:
            error = {"message": exc.message, "hint": exc.hint}
            if isinstance(exc, CellsMissing):
                error["reason"] = exc.reason
            return {"id": rid, "ok": False, "error": error}
        except Exception as exc:  # a bug must reach the user as one line, and the loop must go on
            traceback.print_exc(file=sys.stderr)
            return {
                "id": rid,
                "ok": False,
                "error": {
                    "message": f"internal error in `{request.get('op')}`: {type(exc).__name__}: {exc}",
                    "hint": "this is a bug in envkernels; the worker's stderr has the traceback",
                },
            }

    def run(self, op: str, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The ``result`` of one op: ``{"kind", "data", "html", "text"}``; raises EnvKernelsError."""
        func = self._ops.get(op)
        if func is None:
            raise UsageError(f"unknown operation `{op}`", f"one of: {', '.join(self._ops)}")
        if not isinstance(args, dict) or not isinstance(facts, dict):
            raise UsageError("`args` and `facts` must be JSON objects")
        # The kernel counts its cells as sent whatever the op: take them before anything can fail.
        self.cells.take(facts.get("cells"))
        return func(args, facts, progress)

    # -- shared pieces
    def _environment(self, facts: dict[str, Any]) -> Any:
        """The kernel's environment record, re-read only when its site-packages change."""
        from envkernels.core.layout import site_packages_dirs
        from envkernels.discovery.probe import environment_from_prefix

        prefix = facts.get("prefix")
        if not prefix or not os.path.isdir(prefix):
            raise NotFoundError(
                f"the kernel's environment `{prefix}` does not exist",
                "restart the kernel; `envkernels list` shows the environments",
            )
        hit = self._env_cache.get(prefix)
        # The site-packages directories are found again only when `lib/` changes (a new Python).
        sp_dirs = hit[2] if hit else [str(sp) for sp in site_packages_dirs(prefix)]
        stamp = (
            _mtime(prefix),
            _mtime(os.path.join(prefix, "pyvenv.cfg")),
            _mtime(os.path.join(prefix, "lib")),
            tuple(_mtime(sp) for sp in sp_dirs),
        )
        if hit and hit[0] == stamp:
            return hit[1]
        sp_dirs = [str(sp) for sp in site_packages_dirs(prefix)]
        env = environment_from_prefix(prefix)
        self._env_cache[prefix] = (stamp, env, sp_dirs)
        return env

    def _stamp(self, env: Any, facts: dict[str, Any], *paths: str | None) -> tuple[Any, ...]:
        """What a cached answer depends on: every distribution, notebook, lockfiles, project files."""
        inventory = _engine("envkernels.inspect.inventory", "inventory", "check")

        notebook = facts.get("notebook")
        nb_dir = os.path.dirname(notebook) if notebook else None
        return (
            # The inventory's stamps: each distribution's identity, .pth files, site-packages.
            inventory(env.prefix).stamps,
            (notebook, _mtime(notebook)),
            tuple((p, _mtime(p)) for p in (*env.lockfiles, *paths) if p),
            _project_stamp(env.project),
            _project_stamp(nb_dir) if nb_dir != env.project else (),
        )

    def _cached(
        self,
        key: Any,
        stamp: Any,
        compute: Callable[[], dict[str, Any]],
        ttl: float | None = None,
    ) -> dict[str, Any]:
        k = json.dumps(key, sort_keys=True, default=str)
        hit = self._cache.get(k)
        now = time.monotonic()
        if hit and hit[0] == stamp and (ttl is None or now - hit[1] < ttl):
            return hit[2]
        result = compute()
        self._cache.pop(k, None)
        self._cache[k] = (stamp, now, result)
        while len(self._cache) > CACHE_ENTRIES:  # a long session asks with ever new import lists
            self._cache.pop(next(iter(self._cache)))
        return result

    @staticmethod
    def _rendered(kind: str, data: dict[str, Any], **context: Any) -> dict[str, Any]:
        from envkernels import render

        html, text = render.render(kind, data, **context)
        return {"kind": kind, "data": data, "html": html, "text": text}

    # -- ops
    def _envs(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        discover = _engine("envkernels.discovery", "discover", "envs")
        roots = [r for r in (args.get("roots") or []) if isinstance(r, str)]
        envs = discover(roots=roots) if roots else discover()
        current = os.path.realpath(facts["prefix"]) if facts.get("prefix") else None
        data = {
            "environments": [e.to_dict() for e in envs],
            "current": current,
            "packages": _packages(current),
        }
        return self._rendered("environments", data)

    def _check(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        env = self._environment(facts)
        check_environment = _engine("envkernels.inspect.check", "check_environment", "check")
        lock = _resolve(args.get("lock"), facts.get("cwd"))
        if lock and not os.path.exists(lock):
            raise NotFoundError(f"`{lock}` does not exist", "give `--lock` an existing lockfile")
        notebook = facts.get("notebook")
        imports = self.cells.imports
        sys_path = facts.get("sys_path")
        entries = tuple(sys_path) if isinstance(sys_path, list) else ()
        memo_key = (entries, facts.get("base_prefix"), env.prefix)
        search_path = self._search_paths.get(memo_key)
        if search_path is None:  # realpath of every entry costs more than the rest of a warm check
            search_path = self._search_paths[memo_key] = kernel_search_path(facts, env.prefix)

        # The engine's cache decides whether anything changed (it stats what the check read, the
        # directories of the kernel's sys.path included); the same report back (the memo returns
        # the very object) means the same answer, so only its rendering is kept here, stamped with
        # the report itself.
        report = check_environment(
            env, lock=lock, notebook=notebook, imports=imports, project=None, search_path=search_path
        )
        key = ("check", env.prefix, lock, notebook, imports, search_path)
        return self._cached(
            key, report, lambda: self._rendered("report", report.to_dict(), title="Environment check")
        )

    def _audit(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        env = self._environment(facts)
        audit_environment = _engine("envkernels.audit.run", "audit_environment", "audit")
        db = _resolve(args.get("db"), facts.get("cwd"))
        licenses = bool(args.get("licenses"))

        def compute() -> dict[str, Any]:
            progress(f"auditing {env.name} ...")
            report = audit_environment(env, db=db, licenses=licenses)
            return self._rendered("report", report.to_dict(), title="Environment audit")

        stamp = (self._stamp(env, facts), db, _mtime(db))
        return self._cached(("audit", env.prefix, db, licenses), stamp, compute, ttl=AUDIT_TTL_SECONDS)

    def _lock(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        env = self._environment(facts)
        lock_environment = _engine("envkernels.lockfiles.writer", "lock_environment", "lock")
        # `frontend_notebook`: the notebook is open in JupyterLab and the kernel hands the lock to
        # the frontend (a comm), which puts it into the open model; the file on disk is not touched.
        frontend = args.get("frontend_notebook") or None
        notebook = facts.get("notebook") if args.get("notebook") and not frontend else None
        if args.get("notebook") and not notebook and not frontend:
            raise UsageError(
                "this kernel does not know which notebook it runs",
                "`envkernels lock --notebook NB.ipynb` in a terminal",
            )
        output = _resolve(args.get("output"), facts.get("cwd"))
        if output is None and notebook is None:
            output = "-" if frontend else _resolve("pylock.toml", facts.get("cwd"))
        progress(f"locking {env.name} ({env.prefix}) ...")
        kwargs: dict[str, Any] = {}
        if "progress" in inspect.signature(lock_environment).parameters:
            kwargs["progress"] = _ThrottledProgress(progress, "asking the index")
        result = lock_environment(
            env,
            output=output,
            notebook=notebook,
            hashes=bool(args.get("hashes", True)),
            index_url=args.get("index_url") or None,
            **kwargs,
        )
        if frontend:
            environment_summary = _engine("envkernels.lockfiles.writer", "environment_summary", "lock")
            result.notebook = str(frontend)  # where the lock goes (once the user saves)
        data = dict(result.to_dict())
        if frontend:
            data["notebook_via"] = "frontend"
            # The same `metadata.envkernels.environment` record a write to the file would store.
            data["notebook_environment"] = environment_summary(env, result.packages)
        summary = getattr(result, "summary", None)
        if callable(summary):
            data["summary"] = summary()
        data.setdefault("environment", env.to_dict())
        self._cache.clear()  # a new lockfile may change what `check` says
        return self._rendered("lock", data)

    def _lock_path(self, args: dict[str, Any], facts: dict[str, Any], env: Any) -> str:
        """LOCK as given, else the notebook's own lock, else ``pylock.toml`` here, else the project's lock."""
        given = _resolve(args.get("lock"), facts.get("cwd"))
        if given:
            if not os.path.exists(given):
                raise NotFoundError(f"`{given}` does not exist", "`%envsync LOCK` with an existing lockfile")
            return given
        notebook = facts.get("notebook")
        if notebook and notebook_carries_lock(notebook):
            return str(notebook)
        here = _resolve("pylock.toml", facts.get("cwd"))
        nearby = "there is no pylock.toml here"
        if here and os.path.isfile(here):
            # The lock rule of `check` (lockfiles/owner.py): another environment's pylock is not synced.
            owner = importlib.import_module("envkernels.lockfiles.owner")
            verdict = owner.lock_ownership(here, env, notebook=notebook)
            if verdict.used:
                return here
            nearby = owner.not_used_message(verdict, notebook)
        if env.lockfiles:
            return str(env.lockfiles[0])
        raise UsageError(
            f"no lock to sync to: the notebook carries none and {nearby}",
            "`%envsync path/to/pylock.toml` (or uv.lock, poetry.lock, ...), or `%envlock --notebook` first",
        )

    def _plan(self, args: dict[str, Any], facts: dict[str, Any]) -> tuple[Any, Any, str]:
        read_lock = _engine("envkernels.lockfiles.read", "read_lock", "sync")
        plan_sync = _engine("envkernels.sync.plan", "plan_sync", "sync")
        env = self._environment(facts)
        path = self._lock_path(args, facts, env)
        return env, plan_sync(read_lock(path), env), path

    def _plan_sync(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        env = self._environment(facts)
        path = self._lock_path(args, facts, env)

        def compute() -> dict[str, Any]:
            _env, plan, lock_path = self._plan({"lock": path}, facts)
            data = dict(plan.to_dict())
            text = getattr(plan, "text", None)
            if callable(text):
                data["summary"] = text()
            data.setdefault("lock", lock_path)
            data.setdefault("environment", env.to_dict())
            return self._rendered("plan", data)

        return self._cached(("plan", env.prefix, path), self._stamp(env, facts, path), compute)

    def _apply_sync(self, args: dict[str, Any], facts: dict[str, Any], progress: Progress) -> dict[str, Any]:
        apply_sync = _engine("envkernels.sync.apply", "apply_sync", "sync")
        env, plan, path = self._plan(args, facts)
        plan_data = plan.to_dict()
        touched = _plan_packages(plan_data)
        before = _top_level_modules(env.prefix, touched)
        progress(f"syncing {env.name} to {path} ...")
        source_policy = _engine("envkernels.sync.apply", "SourcePolicy", "sync")
        # As on the command line: direct sources (local paths, URLs, VCS) only when asked for.
        kwargs: dict[str, Any] = {
            "policy": source_policy(
                allow_direct_sources=bool(args.get("allow_direct_sources")),
                hint="check the sources marked `!` in the plan (`%envsync LOCK`); "
                "`%envsync LOCK --apply --allow-direct-sources` applies the lock with them",
            )
        }
        if "progress" in inspect.signature(apply_sync).parameters:
            kwargs["progress"] = _ThrottledProgress(progress, "syncing")
        try:
            result = apply_sync(plan, env, lock_path=path, **kwargs)
        finally:
            self._cache.clear()  # the environment may have changed under every cached answer
            self._env_cache.pop(env.prefix, None)
        after = _top_level_modules(env.prefix, touched)
        data = dict(result.to_dict())
        summary = getattr(result, "summary", None)
        if callable(summary):
            data["summary"] = summary()
        data.setdefault("lock", path)
        data.setdefault("environment", env.to_dict())
        # The engine may name the changed modules itself; the files before and after name them too.
        data["changed_modules"] = sorted(set(data.get("changed_modules") or ()) | before | after)
        return self._rendered("sync", data)


def kernel_search_path(facts: dict[str, Any], prefix: str) -> tuple[str, ...]:
    """The directories on the kernel's ``sys.path`` where a user's own modules can live.

    Left out: the environment and its base interpreter (their modules are distributions or the
    standard library, which the rules know), and the kernel's own plumbing (envkernels'
    ``kernel_side`` directory, the ipykernel overlay): a notebook cannot count on those.
    """
    entries = facts.get("sys_path")
    if not isinstance(entries, list):
        return ()
    skip = [os.path.realpath(p) for p in (prefix, facts.get("base_prefix")) if isinstance(p, str) and p]
    plumbing = [
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_side"),
        # The kernel's environment variables are the worker's: the overlay its launcher used.
        os.environ.get("ENVKERNELS_OVERLAY_ROOT") or str(overlay_root()),
    ]
    skip += [os.path.realpath(p) for p in plumbing]
    found: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if any(real == s or real.startswith(s + os.sep) for s in skip):
            continue
        if real not in found and os.path.isdir(real):
            found.append(real)
    return tuple(found)


class _ThrottledProgress:
    """An engine progress callback ``(name, done, total)`` that reports about every tenth step."""

    def __init__(self, progress: Progress, what: str) -> None:
        self.progress = progress
        self.what = what
        self._last = -1

    def __call__(self, name: str, done: int, total: int) -> None:
        step = max(total // 10, 1)
        if done == total or done // step != self._last:
            self._last = done // step
            self.progress(f"{self.what}: {done}/{total} ({name})")


def _packages(prefix: str | None) -> list[dict[str, Any]]:
    """The distributions installed in the kernel's environment, for the package table of ``%envs``."""
    if not prefix or not os.path.isdir(prefix):
        return []
    from envkernels.core.distributions import installed_distributions

    rows = []
    for d in installed_distributions(prefix):
        url = d.direct_url or {}
        editable = bool(isinstance(url.get("dir_info"), dict) and url["dir_info"].get("editable"))
        rows.append(
            {
                "name": d.name,
                "version": d.version,
                "summary": d.summary,
                "installer": d.installer,
                "editable": editable,
                "problem": d.problem,
            }
        )
    return sorted(rows, key=lambda r: str(r["name"]).lower())


def _plan_packages(plan: dict[str, Any]) -> set[str]:
    """The normalized names of the packages a plan installs, changes or removes."""
    from envkernels.core.layout import normalize_name
    from envkernels.render import plan_actions

    return {normalize_name(str(a["name"])) for a in plan_actions(plan) if a.get("name")}


def _top_level_modules(prefix: str, names: set[str]) -> set[str]:
    """The top-level import names the distributions ``names`` provide (``top_level.txt``, else RECORD)."""
    if not names:
        return set()
    from envkernels.core.distributions import installed_distributions

    modules: set[str] = set()
    for dist in installed_distributions(prefix):
        if dist.normalized not in names:
            continue
        meta = Path(dist.path)
        try:
            top = (meta / "top_level.txt").read_text(encoding="utf-8", errors="replace")
            modules.update(n.strip() for n in top.splitlines() if n.strip())
            continue
        except OSError:
            pass
        try:
            record = (meta / "RECORD").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in record.splitlines():
            first = line.split(",", 1)[0].split("/", 1)
            head = first[0]
            if head.endswith((".dist-info", ".data")) or head.startswith(("..", "__pycache__")) or not head:
                continue
            modules.add(head[:-3] if head.endswith(".py") and len(first) == 1 else head)
    return {m for m in modules if m.isidentifier()}


def main() -> int:
    """Serve requests on stdin until it closes; replies (and progress) go to the original stdout."""
    # Keep the protocol stream for ourselves: anything the engine or a child writes to fd 1
    # goes to stderr instead of corrupting the replies.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker = Worker()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            reply: dict[str, Any] = {
                "id": None,
                "ok": False,
                "error": {"message": f"a request that is not a JSON object: {exc}", "hint": None},
            }
        else:
            rid = request.get("id")

            def progress(message: str, rid: Any = rid) -> None:
                proto.write(json.dumps({"id": rid, "progress": message}) + "\n")
                proto.flush()

            reply = worker.handle(request, progress)
        proto.write(json.dumps(reply, default=str) + "\n")
        proto.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
